"""The main screen: status line, requests, reputation, components; every operator key.

Keys turn into runner commands; nothing here decides or scores anything. Events from
the runner are coalesced (``feed.Dirty``) and applied at most every ``FLUSH_INTERVAL``.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from ..core import events as ev
from ..core.numbers import tell_apart
from ..core.text import peer_text
from ..core.trainer import CommandError
from ..io.runner import ConnectionChanged
from .feed import Dirty
from . import keys
from .messages import FeedQueued, SettingsChanged
from .screens.choice import ConfirmScreen, DeliveryPicker
from .screens.details import DetailsScreen
from .screens.forms import NewRequest, RequestForm, Settings, SettingsForm
from .screens.help import HelpScreen
from .themes import theme_palette
from .widgets.cells import Palette, clock_time, shared
from .widgets.components import ComponentsTable
from .widgets.reputation import ReputationTable
from .widgets.requests import IN_PREFIX, RequestsTable, incoming_row_key
from .widgets.status import KeyBar, KeyEntry, SettingToast, StatusLine
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
STEP = 0.05
#: The filter is applied once typing pauses for this long (not on every key).
FILTER_DEBOUNCE_S = 0.15

class MainScreen(Screen[None]):
    BINDINGS = keys.OPERATOR_BINDINGS
    AUTO_FOCUS = "#requests"

    def __init__(self, runner: Any, clock) -> None:
        super().__init__()
        self.runner = runner
        self.clock = clock
        trainer = runner.trainer
        self.status_line = StatusLine(runner, clock, id="status")
        self.requests = RequestsTable(trainer, clock, id="requests")
        self.reputation = ReputationTable(trainer, clock, id="reputation")
        self.components = ComponentsTable(trainer, clock, id="components")
        self.dirty = Dirty()
        self.paused = False
        #: Rows (requests and components) created while paused: "⏸ paused · N new".
        self.paused_rows: set[str] = set()
        self.events_applied = 0
        self._flush_timer: Timer | None = None
        self._slice_timer: Timer | None = None
        self._batch: _Batch | None = None
        self._flush_requested = False
        self._interval = FLUSH_INTERVAL
        self._render_cost_seen = 0.0
        self._last_flush = 0.0
        self._last_event = 0.0
        self._quiet_timer: Timer | None = None
        self._active: FeedTable = self.requests
        self.filter_text = ""
        self._filter_timer: Timer | None = None
        self._filter_typed = ""
        self.key_bar = KeyBar(id="keys")
        self.setting_toast = SettingToast(id="setting-toast")
        #: The config's ``[keys]`` remaps, as the app applied them (the key bar and help show them).
        self.keymap: dict[str, str] = {}
        self.palette = Palette()

    # ---- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield self.status_line
        with Vertical(id="tables"):
            yield self.requests
            yield self.reputation
            yield self.components
        yield Input(placeholder="filter rows: type text · enter keeps · esc clears", id="filter")
        yield self.setting_toast
        yield self.key_bar

    def on_mount(self) -> None:
        self.requests.border_title = "Requests"
        self.reputation.border_title = "Reputation"
        self.components.border_title = "Components received"
        self.set_palette(theme_palette(self.app.get_css_variables()))
        self.rebuild()
        self.update_key_bar()
        self.set_interval(1.0, self.tick)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        """The app's theme changed: draw every table in its colours."""
        self.set_palette(theme_palette(self.app.get_css_variables()))
        self.rebuild()

    def set_palette(self, palette: Palette) -> None:
        self.palette = palette
        for widget in (self.requests, self.reputation, self.components, self.status_line):
            widget.palette = palette

    def use_keymap(self, keymap: dict[str, str]) -> None:
        """The app applied the config's ``[keys]`` remaps: show them in the key bar and help."""
        self.keymap = dict(keymap)
        if self.is_mounted:
            self.update_key_bar()

    def key_display(self, binding: Binding) -> str:
        return keys.key_display(self.app, binding, self.keymap)

    def rebuild(self) -> None:
        """Redraw every table from the trainer's state (start, theme change, filter)."""
        for table in (self.requests, self.reputation, self.components):
            table.filter_text = self.filter_text
            table.rebuild_from_state()
        self._update_subtitles()
        self.status_line.redraw()

    def _update_subtitles(self) -> None:
        t = self.runner.trainer
        self.requests.set_subtitle(f"{self.requests.row_count} shown · "
                                   f"{len(t.incoming)} received · {len(t.outgoing)} sent")
        self.reputation.set_subtitle(f"{self.reputation.row_count} peers · threshold {t.trust_threshold:.2f}")
        self.components.set_subtitle(f"{self.components.row_count} shown")

    # ---- the feed -----------------------------------------------------------
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
            self.post_message(FeedQueued())

    def on_feed_queued(self, message: FeedQueued) -> None:
        self._flush_requested = False
        self.update_key_bar()
        self._schedule_flush()
        if self._quiet_timer is None:
            self._quiet_timer = self.set_timer(QUIET_S, self._on_quiet, name="feed-quiet")

    def _on_quiet(self) -> None:
        """No events for QUIET_S: draw now rather than at the end of the interval."""
        self._quiet_timer = None
        quiet = time.monotonic() - self._last_event
        if quiet < QUIET_S:
            self._quiet_timer = self.set_timer(QUIET_S - quiet, self._on_quiet, name="feed-quiet")
            return
        if self._flush_timer is not None and self._batch is None:
            self._flush_timer.stop()
            self.flush()

    def _schedule_flush(self) -> None:
        if self._flush_timer is None and self._batch is None:
            delay = max(0.005, self._last_flush + self._interval - time.monotonic())
            self._flush_timer = self.set_timer(delay, self.flush, name="feed-flush")

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
            self.notify(peer_text(message, 500), severity=severity, markup=False)
        self.status_line.problems += dirty.problems
        peers = self.reputation.peers() if dirty.all_peers else dirty.peers
        self._batch = _Batch(dirty, self.clock(), [
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
                self._slice_timer = self.set_timer(0.001, self._run_batch, name="feed-slice")
                return
        # Each table takes its rows in a slice of its own (a thousand new request rows
        # are the longest step of a batch), so a key press waits behind one at most.
        for work in batch.work:
            if work.rows:
                rows, work.rows = work.rows, []
                work.table.apply(rows)
                if any(w.rows for w in batch.work):
                    batch.cost += time.perf_counter() - start
                    self._slice_timer = self.set_timer(0.001, self._run_batch, name="feed-slice")
                    return
        self.requests.forget_hidden()
        self.events_applied += batch.dirty.events
        self._update_subtitles()
        self.status_line.redraw()
        batch.cost += time.perf_counter() - start
        self._batch = None
        self._last_flush = time.monotonic()
        # Pace by what drawing really costs: building and applying this batch, plus
        # drawing the tables since the last one.
        drawn = sum(t.render_cost for t in (self.requests, self.reputation, self.components))
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

    def tick(self) -> None:
        self.requests.tick()
        self.reputation.tick()
        self.status_line.redraw()
        self.update_key_bar()

    def update_key_bar(self) -> None:
        """The key bar's entries, as currently mapped (Retry only while the link is down)."""
        linked = self.runner.status.state in ("connected", "connecting")
        entries = []
        for binding in [*keys.OPERATOR_BINDINGS, keys.QUIT]:
            binding_id = binding.id or ""
            if binding_id not in keys.KEY_BAR_PRIORITY or (binding_id == "reconnect" and linked):
                continue
            first = keys.keys_of(binding, self.keymap).split(",")[0].strip()
            target = "app.quit" if binding is keys.QUIT else f"screen.{binding.action}"
            entries.append(KeyEntry(binding_id, self.app.get_key_display(Binding(first, "")), binding.description,
                                    target, keys.KEY_BAR_PRIORITY[binding_id]))
        if entries != self.key_bar.entries:
            self.key_bar.set_entries(entries)

    # ---- selection ------------------------------------------------------------
    def on_descendant_focus(self, event) -> None:
        if isinstance(event.widget, FeedTable):
            self._active = event.widget

    def _fail(self, message: str) -> None:
        self.notify(message, severity="error", timeout=6, markup=False)

    def say(self, message: str, timeout: float | None = None) -> None:
        """A notification whose text is shown as is (peer strings in it are already ``peer_text``)."""
        self.notify(message, timeout=timeout, markup=False)

    # ---- overrides --------------------------------------------------------------
    def action_accept(self) -> None:
        self._override(True)

    def action_reject(self) -> None:
        self._override(False)

    def _override(self, accept: bool) -> None:
        record = self.requests.selected_incoming()
        if record is None:
            self._fail("Select a request we received (← peer) in the Requests table to override its verdict.")
            return
        try:
            self.runner.override(record.key, accept)
        except CommandError as exc:
            self._fail(f"Cannot {'accept' if accept else 'reject'} {peer_text(record.request_id[:8])} "
                       f"from {peer_text(record.initiator)}: {exc}")
            return
        self.say(f"{'✓ ACCEPT' if accept else '✗ REJECT'} sent to {peer_text(record.initiator)} "
                 f"for {peer_text(record.request_id[:8])} (operator override)")
        self.requests.refresh_rows({incoming_row_key(record)})
        self.status_line.redraw()

    # ---- marks -----------------------------------------------------------------
    def _deliveries(self, o) -> list[str]:
        """Every stored component delivered for our request ``o``, newest first."""
        benchmarks = self.runner.trainer.shared_knowledge["benchmarks"]
        keys = [key for key, record in benchmarks.items() if record.get("request_id") == o.request_id]
        keys.reverse()
        return keys

    def _with_target(self, verb: str, then: Callable[[str], None]) -> None:
        """Find the component a mark key means, asking which when it is not one; then ``then(key)``."""
        if self._active is self.components:
            key = self.components.selected_key
            if key is None:
                self._fail("No component selected.")
            else:
                then(key)
            return
        if self._active is self.requests:
            outgoing = self.requests.selected_outgoing()
            if outgoing is not None:
                keys = self._deliveries(outgoing)
                if not keys:
                    self._fail(f"Nothing has been delivered for request {outgoing.request_id[:8]} yet.")
                elif len(keys) == 1:
                    then(keys[0])
                else:
                    benchmarks = self.runner.trainer.shared_knowledge["benchmarks"]
                    choices = [(key, delivery_label(key, benchmarks[key])) for key in keys]
                    self.app.push_screen(
                        DeliveryPicker(f"{verb} which delivery for request {outgoing.request_id[:8]}?", choices),
                        lambda key: then(key) if key else None)
                return
        self._fail("Select a component (Components table) or one of our requests (→ peer) "
                   "with a delivery to mark it.")

    def action_mark_good(self) -> None:
        self._with_target("Mark good", lambda key: self._confirm_mark(key, True))

    def action_mark_bad(self) -> None:
        self._with_target("Mark bad", lambda key: self._confirm_mark(key, False))

    def _confirm_mark(self, key: str, good: bool) -> None:
        """Marking a component that failed validation good asks first, with what it would do."""
        t = self.runner.trainer
        record = t.shared_knowledge["benchmarks"].get(key)
        if record is None:
            self._fail("That component is no longer held by the trainer.")
            return
        if not good or record.get("validation") != "failed" or record.get("mark") == "good":
            self._mark(key, good)
            return
        try:
            peer, old, new = t.mark_preview(key, True)
        except CommandError as exc:
            self._fail(f"Cannot mark {peer_text(key)}: {exc}")
            return
        question = (f"{peer_text(key)} from {peer_text(peer)} failed validation: "
                    f"{peer_text(record.get('reason', ''), 200)}.\n\n"
                    f"Marking it good {mark_consequence(peer_text(peer), old, new, t.trust_threshold)}.\n\n"
                    "Mark it good anyway?")
        self.app.push_screen(ConfirmScreen("Mark a failed component good?", question, "Mark good"),
                             lambda yes: self._mark(key, True) if yes else None)

    def _mark(self, key: str, good: bool) -> None:
        try:
            self.runner.mark(key, good)
        except CommandError as exc:
            self._fail(f"Cannot mark {peer_text(key)}: {exc}")
            return
        source = self._source_of(key)
        self.say(f"Marked {peer_text(key)} {'good' if good else 'bad'}; "
                 f"{peer_text(source)}'s reputation is now {self._score_of(source):.2f}")
        self._after_mark(key)

    def action_unmark(self) -> None:
        self._with_target("Undo the mark on", self._unmark)

    def _unmark(self, key: str) -> None:
        try:
            self.runner.unmark(key)
        except CommandError as exc:
            self._fail(f"Cannot undo the mark on {peer_text(key)}: {exc}")
            return
        source = self._source_of(key)
        self.say(f"Mark on {peer_text(key)} undone; {peer_text(source)}'s reputation is back to "
                 f"{self._score_of(source):.2f}")
        self._after_mark(key)

    def _source_of(self, key: str) -> str:
        return self.runner.trainer.shared_knowledge["benchmarks"].get(key, {}).get("source", "?")

    def _score_of(self, peer: str) -> float:
        return self.runner.trainer.book.score(peer)

    def _after_mark(self, key: str) -> None:
        record = self.runner.trainer.shared_knowledge["benchmarks"].get(key, {})
        self.components.refresh_rows({key})
        self.reputation.refresh_rows({record.get("source", "")} - {""})
        if record.get("request_id"):
            self.requests.refresh_rows({"out:" + record["request_id"]})

    # ---- settings ----------------------------------------------------------------
    def current_settings(self) -> Settings:
        t = self.runner.trainer
        return Settings(t.trust_threshold, t.reputation_alpha, t.hold_s)

    def action_settings(self) -> None:
        self.app.push_screen(SettingsForm(self.current_settings(), self.recent_deadlines()), self._apply_settings)

    def recent_deadlines(self, count: int = 50) -> list[float]:
        """Deadlines of the latest requests we received (what a hold window must fit in)."""
        incoming = self.runner.trainer.incoming
        return [incoming[key].deadline_s for key in list(reversed(incoming))[:count]]

    def _apply_settings(self, settings: Settings | None) -> None:
        if settings is None:
            return
        self.configure(trust_threshold=settings.trust_threshold,
                       reputation_alpha=settings.reputation_alpha, hold_s=settings.hold_s)

    def configure(self, **changes: float) -> bool:
        try:
            self.runner.configure(**changes)
        except CommandError as exc:
            self._fail(str(exc))
            return False
        self.post_message(SettingsChanged())
        # Every bar's threshold mark moves: drawn by the next batch, which starts now
        # (in slices, so a burst of key presses never queues behind the redraw).
        self.dirty.all_peers = True
        self.dirty.status = True
        self.flush_now()
        return True

    def action_threshold(self, step: float) -> None:
        value = round(min(1.0, max(0.0, self.runner.trainer.trust_threshold + step)), 2)
        if self.configure(trust_threshold=value):
            self.setting_toast.show("threshold", f"Trust threshold {value:.2f}")

    def action_alpha(self, step: float) -> None:
        value = round(min(1.0, max(0.0, self.runner.trainer.reputation_alpha + step)), 2)
        if self.configure(reputation_alpha=value):
            self.setting_toast.show("alpha", f"Reputation α {value:.2f}")

    # ---- new request ------------------------------------------------------------
    def action_new_request(self) -> None:
        t = self.runner.trainer
        self.app.push_screen(RequestForm(sorted(t.known_ai_info), set(t.online)), self._send_request)

    def _send_request(self, request: NewRequest | None) -> None:
        if request is None:
            return
        try:
            request_id = self.runner.send_request(request.collaboration_type, request.feature,
                                                  request.deadline_s, request.recipient)
        except CommandError as exc:
            self._fail(f"Request not sent: {exc}")
            return
        to = peer_text(request.recipient) if request.recipient else "everyone"
        what = f"request {request_id[:8]} [{peer_text(request.collaboration_type, 64)}] to {to}"
        if not self.runner.trainer.joined:
            self.say(f"Queued {what}: sent when the hub is back")
        elif request.recipient and request.recipient not in self.runner.trainer.online:
            self.say(f"Queued {what} until {to} is online")
        else:
            self.say(f"Sent {what}")
        self.requests.refresh_rows({"out:" + request_id})
        self.requests.select_key("out:" + request_id)

    # ---- details ------------------------------------------------------------------
    def action_details(self) -> None:
        table = self._active
        key = table.selected_key
        if key is None:
            self._fail("Nothing selected.")
            return
        t = self.runner.trainer
        if table is self.requests:
            title, body, peer = self._request_details(key)
        elif table is self.components:
            title, body, peer = self._component_details(key)
        else:
            title, body, peer = f"Peer {peer_text(key, 64)}", self._peer_body(key), key
        if body is None:
            self._fail("That row is no longer held by the trainer.")
            return
        self.app.push_screen(DetailsScreen(title, body, peer, t.book.records.get(peer) if peer else None,
                                           t.book.score(peer) if peer else None))

    def _request_details(self, key: str) -> tuple[str, Text | None, str | None]:
        t = self.runner.trainer
        body = Text()
        if key.startswith(IN_PREFIX):
            r = t.incoming.get(key[len(IN_PREFIX):])
            if r is None:
                return "", None, None
            rows = [("request id", r.request_id), ("from", r.initiator),
                    ("their specialization", r.initiator_specialization or "unknown"),
                    ("type", r.collaboration_type), ("feature", r.feature or "—"),
                    ("deadline", f"{r.deadline_s:g} s (until {clock_time(r.deadline_at)})"),
                    ("received", clock_time(r.received_at)), ("status", r.status),
                    ("automatic verdict", f"{r.decision.verdict} — {r.decision.reason} (rule {r.decision.rule})"),
                    ("score / threshold then", f"{r.decision.score:.2f} / {r.decision.threshold:.2f}"),
                    ("verdict in force", f"{r.verdict.verdict}" + (" (operator override)" if r.overridden else "")),
                    ("reason", r.verdict.reason)]
            session = t.collaboration_sessions.get(r.session_key) if r.session_key else None
            if session:
                rows += [("session", f"{session.status}" + (f" — {session.detail}" if session.detail else ""))]
            if r.hold_until is not None:
                rows += [("held until", clock_time(r.hold_until))]
            title, peer = f"Request {peer_text(r.request_id[:8])} from {peer_text(r.initiator, 64)}", r.initiator
        else:
            o = t.outgoing.get(key[4:])
            if o is None:
                return "", None, None
            rows = [("request id", o.request_id), ("to", o.recipient or "everyone"),
                    ("type", o.collaboration_type), ("feature", o.feature or "—"),
                    ("deadline", f"{o.deadline_s:g} s (until {clock_time(o.deadline_at)})"),
                    ("sent", clock_time(o.sent_at))]
            for p, resp in o.responses.items():
                verdict = "✓ ACCEPT" if resp.accepted else "✗ REJECT"
                rows.append((f"answer from {p}", f"{verdict}{' (override)' if resp.overridden else ''} — {resp.reason}"))
                s = t.collaboration_sessions.get(f"out:{o.request_id}/{p}")
                if s:
                    rows.append((f"  session with {p}", s.status + (f" — {s.detail}" if s.detail else "")))
            if not o.responses:
                rows.append(("answers", "none yet"))
            component = self.requests.delivered_component(o)
            title = f"Our request {o.request_id[:8]}"
            peer = t.shared_knowledge["benchmarks"][component]["source"] if component else o.recipient
            if component:
                rows.append(("delivered component", component))
        self._rows_into(body, rows)
        return title, body, peer

    def _component_details(self, key: str) -> tuple[str, Text | None, str | None]:
        record = self.runner.trainer.shared_knowledge["benchmarks"].get(key)
        if record is None:
            return "", None, None
        comp = record.get("component") or {}
        rows = [("key", key), ("source", record["source"]), ("request", record.get("request_id") or "—"),
                ("received", clock_time(record.get("received_at"))),
                ("complete", "yes" if record.get("collaboration_complete") else "no (partial)"),
                ("validation", f"{record['validation']} — {record['reason']}"),
                ("operator mark", record.get("mark") or "none")]
        for field in ("id", "name", "version", "sha256"):
            if field in comp:
                rows.append((field, str(comp[field])))
        body = Text()
        self._rows_into(body, rows)
        if isinstance(comp.get("content"), str):
            body.append("\ncontent\n", "bold")
            # line by line, so the code keeps its lines while each is cleaned
            body.append("\n".join(peer_text(line, 500) for line in comp["content"][:4000].splitlines()))
        return f"Component {peer_text(key, 64)}", body, record["source"]

    def _peer_body(self, peer: str) -> Text:
        t = self.runner.trainer
        info = t.known_ai_info.get(peer, {})
        rec = t.book.records.get(peer)
        rows = [("peer", peer), ("specialization", info.get("specialization", "unknown")),
                ("capabilities", ", ".join(info.get("capabilities", [])) or "—"),
                ("online", "yes" if peer in t.online else "no"),
                ("score", f"{t.book.score(peer):.2f} (threshold {t.trust_threshold:.2f})"),
                ("evidence", f"{plural(rec.successes, 'success', 'successes')}, "
                             f"{plural(rec.failures, 'failure', 'failures')}" if rec else "none")]
        body = Text()
        self._rows_into(body, rows)
        return body

    @staticmethod
    def _rows_into(body: Text, rows: list[tuple[str, str]]) -> None:
        """Label / value lines; every value through ``peer_text`` (ids, features, reasons and
        answers all come from peers), labels too (they may hold a peer id)."""
        labels = [peer_text(label, 80) for label, _ in rows]
        width = max((len(label) for label in labels), default=0)
        for label, (_, value) in zip(labels, rows):
            body.append(f"{label:<{width}}  ", "bold")
            body.append(f"{peer_text(value, 1000)}\n")

    # ---- the hub link ---------------------------------------------------------------
    def action_reconnect(self) -> None:
        if self.runner.retry_now():
            self.say("Retrying the hub now", timeout=3)
            self.status_line.redraw()
        else:
            self._fail(f"Not waiting to reconnect: the hub link is {self.runner.status.state}.")

    # ---- pause / filter / help -----------------------------------------------------
    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.paused_rows = set()
            self.status_line.paused_new = 0
            self.notify("Feed paused: new events queue until you press the pause key again", timeout=3)
        else:
            self.status_line.paused_new = None
            self.flush_now()
        self.status_line.redraw()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter_typed = event.value.strip()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE_S, self.apply_filter, name="filter")

    def apply_filter(self) -> None:
        """Filter every table by what was typed: a narrower filter only looks at the rows
        shown (``FeedTable.narrow``); a wider one rebuilds from the trainer's state."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        text = self._filter_typed
        if text == self.filter_text:
            return
        self.filter_text = text
        self.status_line.filter_text = text
        for table in (self.requests, self.reputation, self.components):
            if table.narrows(text):
                table.narrow(text)
            else:
                table.filter_text = text
                table.rebuild_from_state()
        self._update_subtitles()
        self.status_line.redraw()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.apply_filter()
        box = self.query_one("#filter", Input)
        if not box.value.strip():
            box.remove_class("shown")
        self._active.focus()

    def key_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("shown"):
            box.value = ""
            self._filter_typed = ""
            self.apply_filter()
            box.remove_class("shown")
            self._active.focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(keys.key_help(self.key_display)))


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


_VALIDATION = {"passed": "✓ passed", "failed": "✗ failed", "validating": "… validating", "unchecked": "? unchecked"}


def delivery_label(key: str, record: dict[str, Any]) -> str:
    """One line of the delivery picker: who, how it validated, why, and any mark."""
    validation = _VALIDATION.get(record.get("validation", ""), str(record.get("validation", "")))
    mark = record.get("mark")
    return (f"{peer_text(record.get('source', '?'), 40)}  {validation}  "
            f"{peer_text(record.get('reason', ''), 60)}  · mark: {mark or 'none'}  · {peer_text(key, 40)}")


def mark_consequence(peer: str, old: float, new: float, threshold: float) -> str:
    """'lifts X from 0.35 to 0.54, above your threshold 0.50' — with digits that compare truly."""
    verb = "lifts" if new > old else "lowers" if new < old else "leaves"
    old_s, th_old = tell_apart(old, threshold)
    new_s, th_new = tell_apart(new, threshold)
    th = th_old if len(th_old) >= len(th_new) else th_new
    if old < threshold <= new:
        where = f"above your threshold {th}: its requests would be accepted again"
    elif new < threshold <= old:
        where = f"below your threshold {th}"
    elif new >= threshold:
        where = f"still at or above your threshold {th}"
    else:
        where = f"still below your threshold {th}"
    return f"{verb} {peer} from {old_s} to {new_s}, {where}"


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


def plural(count: int, one: str, many: str) -> str:
    """``1 success``, ``2 successes``, ``0 failures``."""
    return f"{count} {one if count == 1 else many}"
