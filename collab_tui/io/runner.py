"""The asyncio shell around the pure trainer core.

It feeds frames and time into ``NetworkedKernelTrainer``, carries out the actions it
returns (send, produce, validate, save), and hands every event, in batches, to the
observers (TUI, headless printer). The same runner drives the TUI, ``--headless`` and
the simulated peers.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Protocol

from ..core import events as ev
from ..core.components import builtin_content
from ..core.trainer import CommandError, NetworkedKernelTrainer
from .connection import CONNECTED, REFUSED, ConnectionStatus, HubLink
from .subprocesses import ProducerResult, ValidatorResult

if TYPE_CHECKING:
    from ..core.wire import NetworkMessage
    from .config_file import ConfigFile
    from .state import StateSaver

log = logging.getLogger(__name__)

#: Frames kept while the hub is away (responses, deliveries); oldest dropped beyond this.
MAX_OUTBOX = 10_000
#: Producer and validator subprocesses running at once; more wait their turn (within their
#: deadline), so a flood of accepted requests cannot fork-bomb the machine.
MAX_CONCURRENT_JOBS = 4


class Producer(Protocol):
    async def __call__(self, request: dict[str, Any]) -> ProducerResult: ...


class Validator(Protocol):
    async def __call__(self, component: dict[str, Any]) -> ValidatorResult: ...


@dataclass(slots=True)
class ConnectionChanged(ev.Event):
    status: ConnectionStatus

    def describe(self) -> str:
        return f"hub link: {self.status.describe(time.time())}"


def builtin_producer(trainer: NetworkedKernelTrainer) -> Producer:
    async def produce(request: dict[str, Any]) -> ProducerResult:
        return ProducerResult(True, builtin_content(trainer.ai_id, trainer.specialization, request), "")
    return produce


class TrainerRunner:
    def __init__(self, trainer: NetworkedKernelTrainer, *, url: str, token: str | None,
                 producer: Producer | None = None, validator: Validator | None = None,
                 state_saver: StateSaver | None = None,
                 on_settings: Callable[[ev.SettingsChanged], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.trainer = trainer
        self.url = url
        self.token = token
        self.producer = producer or builtin_producer(trainer)
        self.validator = validator
        trainer.validator_enabled = validator is not None
        self.state_saver = state_saver
        self.on_settings = on_settings
        #: The ConfigFile that owns the config file, when there is one (set by the CLI).
        self.config_file: ConfigFile | None = None
        self._clock = clock
        self._subscribers: list[Callable[[list[ev.Event]], None]] = []
        self._outbox: deque[tuple[str | None, str]] = deque(maxlen=MAX_OUTBOX)
        #: Directed frames whose recipient is offline, sent when it (re)joins.
        self._parked: dict[str, deque[str]] = {}
        self._outbox_ready = asyncio.Event()
        self._timer_handle: asyncio.TimerHandle | None = None
        self._due: float | None = None
        self._tasks: set[asyncio.Task] = set()
        self._main: list[asyncio.Task] = []
        self.link = HubLink(url, token, on_open=self._on_open, on_text=self._on_text,
                            on_status=self._on_status, on_close=self._on_close, clock=clock)
        self.started = False
        self._jobs = asyncio.Semaphore(MAX_CONCURRENT_JOBS)
        self._saver_closed = False
        #: One line for the operator when the save at stop failed (None: saved, or nothing to save).
        self.save_error: str | None = None
        self.stopped = asyncio.Event()

    # ---- observers -----------------------------------------------------
    @property
    def status(self) -> ConnectionStatus:
        return self.link.status

    @property
    def exit_status(self) -> int:
        """What the process exits with once this runner has stopped: 1 when the hub refused us or
        the state could not be saved, else 0 (``collab-tui`` and the console's exit watchdog)."""
        return 1 if self.status.state == REFUSED or self.save_error else 0

    def subscribe(self, callback: Callable[[list[ev.Event]], None]) -> None:
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[list[ev.Event]], None]) -> None:
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    def now(self) -> float:
        return self._clock()

    # ---- lifecycle -----------------------------------------------------
    async def start(self, connect: bool = True) -> None:
        if self.started:
            return
        self.started = True
        self._schedule(self.trainer.next_deadline())
        if connect:
            self._main.append(asyncio.create_task(self._link_main(), name="hub-link"))
            self._main.append(asyncio.create_task(self._sender(), name="hub-sender"))

    async def _link_main(self) -> None:
        try:
            await self.link.run()
        finally:
            self.stopped.set()

    async def stop(self) -> None:
        self.started = False
        if self._timer_handle is not None:
            self._timer_handle.cancel()
            self._timer_handle, self._due = None, None
        await self.link.stop()
        for task in [*self._main, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._main, *self._tasks, return_exceptions=True)
        self._main.clear()
        self._tasks.clear()
        if self.state_saver is not None and not self._saver_closed:
            self._saver_closed = True
            self.state_saver.mark_dirty(self.trainer.export_state)  # quitting always saves
            try:
                await self.state_saver.aclose()
            except Exception as exc:  # reported in one line; the previous file is untouched
                path = self.state_saver.store.path
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                self.save_error = (f"could not save reputation state to {path}: {reason}; "
                                   f"the previous state file is kept")
                log.error("%s", self.save_error)
        self.stopped.set()

    # ---- operator commands (raise CommandError when impossible) --------
    def send_request(self, collaboration_type: str, feature: str, deadline_s: float,
                     recipient: str | None = None) -> str:
        request_id, actions = self.trainer.start_request(collaboration_type, feature, deadline_s,
                                                         self.now(), recipient)
        self._carry_out(actions)
        return request_id

    def override(self, incoming_key: str, accept: bool) -> None:
        self._carry_out(self.trainer.override(incoming_key, accept, self.now()))

    def mark(self, component_key: str, good: bool) -> None:
        self._carry_out(self.trainer.mark_component(component_key, good, self.now()))

    def unmark(self, component_key: str) -> None:
        self._carry_out(self.trainer.unmark_component(component_key, self.now()))

    def configure(self, *, trust_threshold: float | None = None, reputation_alpha: float | None = None,
                  hold_s: float | None = None) -> None:
        try:
            actions = self.trainer.configure(trust_threshold=trust_threshold,
                                             reputation_alpha=reputation_alpha, hold_s=hold_s, now=self.now())
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self._carry_out(actions)
        if hold_s is not None and self.started:
            self._schedule(self.trainer.next_deadline())  # a shorter hold brings held verdicts forward

    def retry_now(self) -> bool:
        """Reconnect to the hub now instead of waiting out the backoff (False: not waiting)."""
        return self.link.retry_now()

    def feed(self, frame: dict[str, Any] | str) -> None:
        """Process a frame as if the hub had sent it (tests, benchmarks)."""
        self._carry_out(self.trainer.handle(frame, self.now()))

    def encode_outgoing(self, message: NetworkMessage) -> str | None:
        """The text of an outgoing frame; a subclass may alter or drop it (simulated peers)."""
        return message.encode()

    # ---- the link's callbacks -----------------------------------------
    async def _on_open(self, ws: Any) -> None:
        hello = self.trainer.hello(self.now())
        for action in hello:
            await ws.send(action.message.encode())

    def _on_text(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):
            self._emit([ev.ProtocolProblem("hub", "a frame that is not JSON")])
            return
        self._carry_out(self.trainer.handle(frame, self.now()))
        if self.trainer.joined and self._outbox:
            self._outbox_ready.set()

    def _on_status(self, status: ConnectionStatus) -> None:
        self._emit([ConnectionChanged(status)])

    def _on_close(self) -> None:
        self._carry_out(self.trainer.disconnected(self.now()))

    # ---- carrying out actions -----------------------------------------
    def _carry_out(self, items: Iterable[ev.Output]) -> None:
        events: list[ev.Event] = []
        soonest: float | None = None
        for item in items:
            if isinstance(item, ev.Send):
                text = self.encode_outgoing(item.message)
                if text is not None:
                    self._outbox.append((item.message.recipient_id, text))
                    self._outbox_ready.set()
            elif isinstance(item, ev.Produce):
                self._spawn(self._produce(item))
            elif isinstance(item, ev.Validate):
                self._spawn(self._validate(item))
            elif isinstance(item, ev.StateChanged):
                if self.state_saver is not None and self.started:
                    self.state_saver.mark_dirty(self.trainer.export_state)
            if isinstance(item, ev.PeerChanged) and item.online and item.peer in self._parked:
                for text in self._parked.pop(item.peer):
                    self._outbox.append((item.peer, text))
                self._outbox_ready.set()
            if isinstance(item, ev.Event):
                events.append(item)
                due = _due_time(item)
                if due is not None and (soonest is None or due < soonest):
                    soonest = due
                if isinstance(item, ev.SettingsChanged) and self.on_settings is not None:
                    self.on_settings(item)
        if soonest is not None and self.started:
            self._schedule(soonest)
        if events:
            self._emit(events)

    def _emit(self, events: list[ev.Event]) -> None:
        for callback in list(self._subscribers):
            try:
                callback(events)
            except Exception:  # an observer's bug must not stop the trainer
                log.exception("event observer failed")

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _produce(self, action: ev.Produce) -> None:
        remaining = max(0.0, action.deadline_at - self.now())
        async def produce() -> ProducerResult:
            async with self._jobs:
                return await self.producer(action.request)
        try:
            result = await asyncio.wait_for(produce(), timeout=remaining)
        except asyncio.TimeoutError:
            result = ProducerResult(False, "", "producer did not finish before the deadline")
        except Exception as exc:  # a producer bug is our failure, reported, not a crash
            log.exception("producer failed")
            result = ProducerResult(False, "", f"producer error: {exc}")
        self._carry_out(self.trainer.production_finished(action.session_key, result.ok, result.content,
                                                         result.reason, self.now()))

    async def _validate(self, action: ev.Validate) -> None:
        assert self.validator is not None
        try:
            async with self._jobs:
                result = await self.validator(action.component)
        except Exception as exc:
            log.exception("validator failed")
            result = ValidatorResult("error", f"validator error: {exc}", False)
        self._carry_out(self.trainer.validation_finished(action.component_key, result.verdict, result.reason,
                                                         result.peer_fault, self.now()))

    async def _sender(self) -> None:
        """Drains the outbox whenever we are joined; frames wait while the hub is away."""
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox and self.trainer.joined and self.link.status.state == CONNECTED:
                entry = self._outbox[0]
                recipient, text = entry
                if recipient is not None and recipient not in self.trainer.online:
                    # The hub would refuse it (unknown_recipient): keep it for when the peer is back.
                    self._outbox.popleft()
                    self._parked.setdefault(recipient, deque(maxlen=MAX_OUTBOX // 10)).append(text)
                    continue
                if not await self.link.send(text):
                    break
                if self._outbox and self._outbox[0] is entry:
                    self._outbox.popleft()

    def _schedule(self, due: float | None) -> None:
        """Make sure ``tick`` runs by ``due`` (a hold window's end or a deadline)."""
        if due is None or (self._due is not None and self._due <= due):
            return
        if self._timer_handle is not None:
            self._timer_handle.cancel()
        self._due = due
        loop = asyncio.get_running_loop()
        self._timer_handle = loop.call_later(max(0.0, due - self.now()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer_handle, self._due = None, None
        self._carry_out(self.trainer.tick(self.now()))
        self._schedule(self.trainer.next_deadline())

    def pending_frames(self) -> list[dict[str, Any]]:
        """Frames queued for the hub and not yet sent, oldest first (decoded; tests and the UI)."""
        parked = [text for q in self._parked.values() for text in q]
        return [json.loads(text) for _, text in self._outbox] + [json.loads(t) for t in parked]

    @property
    def outbox_size(self) -> int:
        return len(self._outbox) + sum(len(q) for q in self._parked.values())


def _due_time(event: ev.Event) -> float | None:
    """When an event's record next needs ``tick``: a held verdict or a new running session."""
    if isinstance(event, ev.DecisionMade) and event.incoming.hold_until is not None:
        return event.incoming.hold_until
    if isinstance(event, ev.SessionChanged) and event.session.status == "active":
        return event.session.deadline_at
    if isinstance(event, (ev.ReportsAwaited, ev.ReportsDue)):
        return event.due_at
    return None
