"""The redraw scheduler: runner events in, table rows out, in paced and sliced batches.

Events are coalesced at once (``feed.Dirty``: the keys of the rows they touched) and drawn
at most every ``FLUSH_INTERVAL`` — less often when drawing is expensive (``DUTY``), at once
when a burst ends (``QUIET_S``). A batch is built in slices of at most ``SLICE_S`` with an
event-loop turn between them, so a key press never waits behind a long batch. While the
feed is paused, events keep being coalesced and the new rows are counted.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from ..core import events as ev
from ..core.text import peer_text
from ..io.runner import ConnectionChanged
from .feed import Dirty
from .later import Later
from .messages import FeedQueued
from .widgets.cells import shared
from .widgets.components import ComponentsTable
from .widgets.reputation import ReputationTable
from .widgets.requests import RequestsTable
from .widgets.status import StatusLine
from .widgets.table import FeedTable

#: Batches are drawn at most this often...
FLUSH_INTERVAL = 0.1
#: ...and less often when drawing is expensive: the gap after a batch is its cost divided
#: by DUTY (so drawing takes at most about that share of the time), up to MAX_INTERVAL.
DUTY = 0.2
MAX_INTERVAL = 0.5
#: A batch is built in slices of at most this long, with an event-loop turn between
#: them, so a key press never waits behind a long batch.
SLICE_S = 0.008
#: When events stop arriving for this long, what is pending is drawn at once instead of
#: waiting out the batch interval: the end of a burst shows without delay.
QUIET_S = 0.03


class FeedRedraw:
    """Draws what runner events changed into the three tables and the status line.

    ``host`` is the screen: its timers run the batches, its notifications show the
    events' notices, and it receives the ``FeedQueued`` message that starts a batch
    (call :meth:`queued` from its handler). ``after_batch`` runs once a batch is drawn.
    """

    def __init__(self, host: Any, status_line: StatusLine, requests: RequestsTable,
                 reputation: ReputationTable, components: ComponentsTable,
                 after_batch: Callable[[], None]) -> None:
        self.host = host
        self.status_line = status_line
        self.requests, self.reputation, self.components = requests, reputation, components
        self.after_batch = after_batch
        self.dirty = Dirty()
        self.paused = False
        #: Rows (requests and components) created while paused: "⏸ paused · N new".
        self.paused_rows: set[str] = set()
        self.events_applied = 0
        self._flush_timer: Later | None = None
        self._slice_timer: Later | None = None
        self._batch: _Batch | None = None
        self._flush_requested = False
        self._interval = FLUSH_INTERVAL
        self._render_cost_seen = 0.0
        self._last_flush = 0.0
        self._last_event = 0.0
        self._quiet_timer: Later | None = None

    @property
    def tables(self) -> tuple[FeedTable, FeedTable, FeedTable]:
        return self.requests, self.reputation, self.components

    def queue(self, events: list[ev.Event]) -> None:
        """Runner callback (on the event loop): coalesce now, draw within the batch interval."""
        self.dirty.add(events)
        if any(isinstance(e, ConnectionChanged) for e in events):
            self.dirty.all_peers = True     # presence dots: peers are offline while we are
        self._last_event = time.monotonic()
        if self.paused:
            self.paused_rows.update(new_row_keys(events))
        if not self._flush_requested:
            self._flush_requested = True
            self.host.post_message(FeedQueued())

    def queued(self) -> None:
        """The host received ``FeedQueued``: schedule the batch."""
        self._flush_requested = False
        self._schedule_flush()
        if self._quiet_timer is None:
            self._quiet_timer = Later(self.host, QUIET_S, self._on_quiet)

    def _on_quiet(self) -> None:
        """No events for QUIET_S: draw now rather than at the end of the interval."""
        self._quiet_timer = None
        quiet = time.monotonic() - self._last_event
        if quiet < QUIET_S:
            self._quiet_timer = Later(self.host, QUIET_S - quiet, self._on_quiet)
            return
        if self._flush_timer is not None and self._batch is None:
            self._flush_timer.stop()
            self.flush()

    def _schedule_flush(self) -> None:
        if self._flush_timer is None and self._batch is None:
            delay = max(0.005, self._last_flush + self._interval - time.monotonic())
            self._flush_timer = Later(self.host, delay, self.flush)

    @property
    def busy(self) -> bool:
        """True while queued events are waiting to be drawn."""
        return self._batch is not None or (bool(self.dirty) and not self.paused)

    def flush(self) -> None:
        """Start drawing what changed since the last batch (its first slice runs now)."""
        self._flush_timer = None
        if self._batch is not None:
            return                      # the batch in progress schedules the next one
        if self.paused:
            self.status_line.paused_new = len(self.paused_rows)
            self.status_line.redraw()
            return
        if not self.dirty:
            return
        dirty, self.dirty = self.dirty, Dirty()
        for message, severity in dirty.notices:
            self.host.notify(peer_text(message, 500), severity=severity, markup=False)
        self.status_line.problems += dirty.problems
        peers = self.reputation.peers() if dirty.all_peers else dirty.peers
        self._batch = _Batch(dirty, self.host.clock(), [
            _Work(self.requests, self.requests.relevant(dirty.requests)),
            _Work(self.reputation, self.reputation.relevant(peers)),
            _Work(self.components, self.components.relevant(dirty.components)),
        ])
        self._run_batch()

    def _run_batch(self) -> None:
        """One slice of the batch: build rows for at most SLICE_S, then yield; once every
        row is built, apply them to the tables in one step each and redraw the status."""
        self._slice_timer = None
        batch = self._batch
        if batch is None:
            return
        start = time.perf_counter()
        deadline = start + SLICE_S
        for work in batch.work:
            if not work.build(batch.now, deadline):
                batch.cost += time.perf_counter() - start
                self._slice_timer = Later(self.host, 0.001, self._run_batch)
                return
        # Each table takes its rows in a slice of its own (a thousand new request rows
        # are the longest step of a batch), so a key press waits behind one at most.
        for work in batch.work:
            if work.rows:
                rows, work.rows = work.rows, []
                work.table.apply(rows)
                if any(w.rows for w in batch.work):
                    batch.cost += time.perf_counter() - start
                    self._slice_timer = Later(self.host, 0.001, self._run_batch)
                    return
        self.requests.forget_hidden()
        self.events_applied += batch.dirty.events
        self.after_batch()
        batch.cost += time.perf_counter() - start
        self._batch = None
        self._last_flush = time.monotonic()
        # Pace by what drawing really costs: building and applying this batch, plus
        # drawing the tables since the last one.
        drawn = sum(t.render_cost for t in self.tables)
        cost = batch.cost + drawn - self._render_cost_seen
        self._render_cost_seen = drawn
        self._interval = min(MAX_INTERVAL, max(FLUSH_INTERVAL, cost / DUTY))
        if self.dirty:
            self._schedule_flush()

    def flush_now(self) -> None:
        """Draw pending changes at once (after an operator's action), unless a batch is
        already being drawn — it is followed by another as soon as it ends."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        if self._batch is None:
            self.flush()

    def redraw_all_peers(self) -> None:
        """Every reputation row (a threshold mark moved), and the status, in the next batch,
        which starts now (in slices, so a burst of key presses never queues behind it)."""
        self.dirty.all_peers = True
        self.dirty.status = True
        self.flush_now()

    def pause(self, paused: bool) -> None:
        self.paused = paused
        if paused:
            self.paused_rows = set()
            self.status_line.paused_new = 0
        else:
            self.status_line.paused_new = None
            self.flush_now()


class _Work:
    """The rows of one table a batch rebuilds: keys to build, rows built so far."""

    __slots__ = ("table", "keys", "pos", "rows")

    def __init__(self, table: FeedTable, keys: list[str]) -> None:
        self.table = table
        self.keys = keys
        self.pos = 0
        self.rows: list[tuple[str, Any]] = []

    def build(self, now: float, deadline: float) -> bool:
        """Build rows until done (True) or past ``deadline`` (False)."""
        keys, rows, build_row = self.keys, self.rows, self.table.build_row
        clock = time.perf_counter
        while self.pos < len(keys):
            stop = min(len(keys), self.pos + 16)
            for key in keys[self.pos:stop]:
                cells = build_row(key, now)
                rows.append((key, None if cells is None else tuple(map(shared, cells))))
            self.pos = stop
            if self.pos < len(keys) and clock() > deadline:
                return False
        return True


class _Batch:
    __slots__ = ("dirty", "now", "work", "cost")

    def __init__(self, dirty: Dirty, now: float, work: list[_Work]) -> None:
        self.dirty = dirty
        self.now = now
        self.work = work
        self.cost = 0.0


def new_row_keys(events: list[ev.Event]) -> set[str]:
    """The feed rows these events create (a request received or sent, a component): what
    ``⏸ paused · N new`` counts — rows, however many events touched each."""
    keys: set[str] = set()
    for event in events:
        if isinstance(event, ev.DecisionMade):
            keys.add("in:" + event.incoming.key)
        elif isinstance(event, ev.RequestSent):
            keys.add("out:" + event.outgoing.request_id)
        elif isinstance(event, ev.ComponentReceived):
            keys.add("component:" + event.key)
    return keys
