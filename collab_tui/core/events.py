"""What the core asks its shell to do (actions) and tells its observers (events).

``NetworkedKernelTrainer`` methods return a list mixing both. The io shell carries out
actions (send a frame, run a producer or validator) and hands every event to the
observers: the TUI, the headless printer, the log.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .policy import Decision
from .reputation import ScoreChange
from .sessions import CollaborationSession, IncomingRequest, OutgoingRequest
from .text import peer_text as _t
from .wire import NetworkMessage


class Action:
    """Something the shell must carry out."""


class Event:
    """Something that happened, for observers. ``describe()`` is its one-line log form.

    Every string a peer chose (ids, types, features, reasons, details) goes through
    :func:`~collab_tui.core.text.peer_text` (``_t``) on its way into that line.
    """

    def describe(self) -> str | None:
        return None


@dataclass(slots=True)
class Send(Action):
    message: NetworkMessage


@dataclass(slots=True)
class Produce(Action):
    """Produce the component for a session we accepted; report with ``production_finished``."""

    session_key: str
    request: dict[str, Any]
    deadline_at: float


@dataclass(slots=True)
class Validate(Action):
    """Run the configured validator; report with ``validation_finished``."""

    component_key: str
    component: dict[str, Any]


@dataclass(slots=True)
class StateChanged(Action):
    """Reputation evidence changed: the shell should schedule a (debounced) save."""


# ---- events -------------------------------------------------------------

@dataclass(slots=True)
class Joined(Event):
    active_ais: list[str]

    def describe(self) -> str:
        return f"joined the hub; {len(self.active_ais)} other trainer(s) online"


@dataclass(slots=True)
class PeerChanged(Event):
    peer: str
    info: dict[str, Any] | None
    online: bool

    def describe(self) -> str:
        if self.online:
            spec = (self.info or {}).get("specialization", "?")
            return f"peer {_t(self.peer, 64)} joined ({_t(spec, 64)})"
        return f"peer {_t(self.peer, 64)} left"


@dataclass(slots=True)
class DecisionMade(Event):
    incoming: IncomingRequest

    def describe(self) -> str:
        r, d = self.incoming, self.incoming.decision
        held = f" (held {r.hold_until - r.received_at:.0f} s)" if r.hold_until is not None else ""
        return (f"request {_t(r.request_id[:8])} from {_t(r.initiator, 64)} [{_t(r.collaboration_type, 64)}] "
                f"score {d.score:.2f}: {'✓ ACCEPT' if d.accept else '✗ REJECT'} — {_t(d.reason)}{held}")


@dataclass(slots=True)
class ResponseSent(Event):
    incoming: IncomingRequest
    decision: Decision

    def describe(self) -> str | None:
        if not self.incoming.overridden:
            return None
        return (f"override: request {_t(self.incoming.request_id[:8])} from {_t(self.incoming.initiator, 64)} "
                f"now {'✓ ACCEPT' if self.decision.accept else '✗ REJECT'}")


@dataclass(slots=True)
class RequestSent(Event):
    outgoing: OutgoingRequest

    def describe(self) -> str:
        o = self.outgoing
        return (f"sent request {o.request_id[:8]} [{_t(o.collaboration_type, 64)}] {_t(o.feature)!r}, "
                f"deadline {o.deadline_s:g} s")


@dataclass(slots=True)
class ResponseReceived(Event):
    outgoing: OutgoingRequest
    peer: str
    accepted: bool
    reason: str
    overridden: bool

    def describe(self) -> str:
        verdict = "✓ ACCEPT" if self.accepted else "✗ REJECT"
        by = " (operator override)" if self.overridden else ""
        return (f"{_t(self.peer, 64)} answered request {self.outgoing.request_id[:8]}: {verdict}{by} — "
                f"{_t(self.reason)}")


@dataclass(slots=True)
class SessionChanged(Event):
    session: CollaborationSession

    def describe(self) -> str | None:
        s = self.session
        if s.status in ("active",):
            return None
        detail = f" — {_t(s.detail)}" if s.detail else ""
        return f"session {_t(s.request_id[:8])} with {_t(s.peer, 64)} ({s.role}): {s.status}{detail}"


@dataclass(slots=True)
class ComponentReceived(Event):
    key: str
    record: dict[str, Any]

    def describe(self) -> str:
        r = self.record
        return f"component {_t(self.key, 200)} from {_t(r['source'], 64)}: {r['validation']} — {_t(r['reason'])}"


@dataclass(slots=True)
class ReputationChanged(Event):
    change: ScoreChange

    def describe(self) -> str:
        c = self.change
        return f"reputation of {_t(c.peer, 64)}: {c.old:.2f} → {c.new:.2f} ({c.outcome}: {_t(c.reason)})"


@dataclass(slots=True)
class ProtocolProblem(Event):
    peer: str
    detail: str

    def describe(self) -> str:
        return f"ignored a frame from {_t(self.peer, 64)}: {_t(self.detail)}"


@dataclass(slots=True)
class HubError(Event):
    code: str
    detail: str

    def describe(self) -> str:
        return f"hub error {_t(self.code, 64)}: {_t(self.detail)}"


@dataclass(slots=True)
class SettingsChanged(Event):
    trust_threshold: float
    reputation_alpha: float
    hold_s: float

    def describe(self) -> str:
        return (f"settings: threshold {self.trust_threshold:.2f}, alpha {self.reputation_alpha:.2f}, "
                f"hold {self.hold_s:g} s")


@dataclass(slots=True)
class ReportsAwaited(Event):
    """We asked reporters about a peer we hardly know; its request is decided by ``due_at``."""

    peer: str
    request_id: str
    reporters: list[str]
    due_at: float

    def describe(self) -> str:
        return (f"request {_t(self.request_id[:8])} from {_t(self.peer, 64)}: asked {len(self.reporters)} reporter(s) "
                f"what they saw of it before deciding")


@dataclass(slots=True)
class ReportsDue(Event):
    """Our observations changed: a broadcast REPUTATION_REPORT is due at ``due_at`` (``tick``)."""

    due_at: float


#: Everything a trainer method returns, in order: the shell carries out the actions and
#: hands every event to its observers (as websockets' ``protocol.py`` types its events).
Output = (Send | Produce | Validate | StateChanged | Joined | PeerChanged | DecisionMade | ResponseSent
          | RequestSent | ResponseReceived | SessionChanged | ComponentReceived | ReputationChanged
          | ProtocolProblem | HubError | SettingsChanged | ReportsAwaited | ReportsDue)
