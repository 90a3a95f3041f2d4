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
from .wire import NetworkMessage


class Action:
    """Something the shell must carry out."""


class Event:
    """Something that happened, for observers. ``describe()`` is its one-line log form."""

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
            return f"peer {self.peer} joined ({spec})"
        return f"peer {self.peer} left"


@dataclass(slots=True)
class DecisionMade(Event):
    incoming: IncomingRequest

    def describe(self) -> str:
        r, d = self.incoming, self.incoming.decision
        held = f" (held {r.hold_until - r.received_at:.0f} s)" if r.hold_until is not None else ""
        return (f"request {r.request_id[:8]} from {r.initiator} [{r.collaboration_type}] "
                f"score {d.score:.2f}: {'✓ ACCEPT' if d.accept else '✗ REJECT'} — {d.reason}{held}")


@dataclass(slots=True)
class ResponseSent(Event):
    incoming: IncomingRequest
    decision: Decision

    def describe(self) -> str | None:
        if not self.incoming.overridden:
            return None
        return (f"override: request {self.incoming.request_id[:8]} from {self.incoming.initiator} "
                f"now {'✓ ACCEPT' if self.decision.accept else '✗ REJECT'}")


@dataclass(slots=True)
class RequestSent(Event):
    outgoing: OutgoingRequest

    def describe(self) -> str:
        o = self.outgoing
        return f"sent request {o.request_id[:8]} [{o.collaboration_type}] {o.feature!r}, deadline {o.deadline_s:g} s"


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
        return f"{self.peer} answered request {self.outgoing.request_id[:8]}: {verdict}{by} — {self.reason}"


@dataclass(slots=True)
class SessionChanged(Event):
    session: CollaborationSession

    def describe(self) -> str | None:
        s = self.session
        if s.status in ("active",):
            return None
        return f"session {s.request_id[:8]} with {s.peer} ({s.role}): {s.status}{' — ' + s.detail if s.detail else ''}"


@dataclass(slots=True)
class ComponentReceived(Event):
    key: str
    record: dict[str, Any]

    def describe(self) -> str:
        r = self.record
        return f"component {self.key} from {r['source']}: {r['validation']} — {r['reason']}"


@dataclass(slots=True)
class ReputationChanged(Event):
    change: ScoreChange

    def describe(self) -> str:
        c = self.change
        return f"reputation of {c.peer}: {c.old:.2f} → {c.new:.2f} ({c.outcome}: {c.reason})"


@dataclass(slots=True)
class ProtocolProblem(Event):
    peer: str
    detail: str

    def describe(self) -> str:
        return f"ignored a frame from {self.peer}: {self.detail}"


@dataclass(slots=True)
class HubError(Event):
    code: str
    detail: str

    def describe(self) -> str:
        return f"hub error {self.code}: {self.detail}"


@dataclass(slots=True)
class SettingsChanged(Event):
    trust_threshold: float
    reputation_alpha: float
    hold_s: float

    def describe(self) -> str:
        return (f"settings: threshold {self.trust_threshold:.2f}, alpha {self.reputation_alpha:.2f}, "
                f"hold {self.hold_s:g} s")
