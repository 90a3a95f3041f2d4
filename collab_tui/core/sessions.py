"""Records of requests and collaboration sessions, on both sides of a collaboration."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable

from .policy import Decision, Rule

#: How many finished records of each kind are kept in memory (the feed is bounded).
MAX_FINISHED_RECORDS = 2_000
#: The longest an automatic verdict may be held for the operator (``decisions.hold_s``, ``--hold``).
MAX_HOLD_S = 3_600.0


class RequestStatus(StrEnum):
    """An incoming request's status (the values are what the console and tests read)."""

    HELD = "held"            # automatic verdict waiting out the operator's hold window
    ANSWERED = "answered"    # verdict sent
    LAPSED = "lapsed"        # the request's deadline came while its verdict was held: answered as expired


class SessionStatus(StrEnum):
    """A collaboration session's status."""

    ACTIVE = "active"            # running: the responder is producing / the initiator awaits a component
    VALIDATING = "validating"    # initiator: a component arrived in time and is being validated
    DELIVERED = "delivered"      # responder: component sent
    COMPLETED = "completed"      # initiator: a valid component arrived
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"          # responder: the deadline passed before production finished


class Role(StrEnum):
    RESPONDER = "responder"
    INITIATOR = "initiator"


HELD, ANSWERED, LAPSED = RequestStatus.HELD, RequestStatus.ANSWERED, RequestStatus.LAPSED
RULE_LAPSED = Rule.LAPSED   # the rule of the verdict in force on a lapsed request
ACTIVE, VALIDATING = SessionStatus.ACTIVE, SessionStatus.VALIDATING
DELIVERED, COMPLETED = SessionStatus.DELIVERED, SessionStatus.COMPLETED
FAILED, CANCELLED, EXPIRED = SessionStatus.FAILED, SessionStatus.CANCELLED, SessionStatus.EXPIRED
FINISHED = frozenset({DELIVERED, COMPLETED, FAILED, CANCELLED, EXPIRED})

RESPONDER, INITIATOR = Role.RESPONDER, Role.INITIATOR


class _ItemAccess:
    """Lets a record be read like the seed's session dicts: ``session["status"]``."""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


@dataclass(slots=True, eq=False)
class CollaborationSession(_ItemAccess):
    key: str
    request_id: str
    role: Role
    peer: str
    collaboration_type: str
    feature: str
    started_at: float
    deadline_at: float
    status: SessionStatus = ACTIVE
    detail: str = ""
    component_key: str | None = None
    ended_at: float | None = None

    @property
    def running(self) -> bool:
        return self.status in (ACTIVE, VALIDATING)


@dataclass(slots=True, eq=False)
class IncomingRequest(_ItemAccess):
    """A request another trainer sent us, with our verdict on it."""

    key: str
    request_id: str
    initiator: str
    collaboration_type: str
    feature: str
    deadline_s: float
    received_at: float
    initiator_specialization: str | None
    decision: Decision              # the automatic verdict
    verdict: Decision               # the verdict in force (the operator's, if overridden)
    status: RequestStatus = ANSWERED
    hold_until: float | None = None
    overridden: bool = False
    session_key: str | None = None

    @property
    def deadline_at(self) -> float:
        return self.received_at + self.deadline_s

    def as_request(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "initiator": self.initiator,
                "collaboration_type": self.collaboration_type, "feature": self.feature,
                "deadline_s": self.deadline_s}


@dataclass(slots=True)
class PeerResponse:
    accepted: bool
    reason: str
    overridden: bool
    at: float


@dataclass(slots=True, eq=False)
class OutgoingRequest(_ItemAccess):
    """A request we broadcast, with every answer it got."""

    request_id: str
    collaboration_type: str
    feature: str
    deadline_s: float
    sent_at: float
    recipient: str | None = None
    responses: dict[str, PeerResponse] = field(default_factory=dict)

    @property
    def deadline_at(self) -> float:
        return self.sent_at + self.deadline_s

    @property
    def accepted_by(self) -> list[str]:
        return [p for p, r in self.responses.items() if r.accepted]


def held_until(received_at: float, hold_s: float, deadline_at: float) -> float:
    """When a held verdict is due: the hold window's end, never later than the request's deadline."""
    return min(received_at + hold_s, deadline_at)


def hold_warning(hold_s: float, deadlines_s: list[float]) -> str | None:
    """A warning when the hold window outlasts deadlines being seen (None when it does not).

    ``deadlines_s`` are the deadlines of recent requests: a held verdict on a request whose
    deadline is shorter than the hold is answered as expired, never with the verdict.
    """
    if hold_s <= 0 or not deadlines_s:
        return None
    shorter = sorted(d for d in deadlines_s if d <= hold_s)
    if not shorter:
        return None
    return (f"hold {hold_s:g} s is at least the deadline of {len(shorter)} of the last {len(deadlines_s)} "
            f"request(s) (shortest {shorter[0]:g} s): those would lapse unanswered while held")


class CommandError(ValueError):
    """An operator command that cannot be carried out; the message says why."""


def prune_finished(records: OrderedDict, finished: Callable[[Any], bool]) -> list[Any]:
    """Drop the oldest finished records beyond ``MAX_FINISHED_RECORDS`` (unfinished ones are
    kept); return the dropped ones (their counts go on in the trainer's totals)."""
    excess = len(records) - MAX_FINISHED_RECORDS
    if excess <= 0:
        return []
    doomed = []
    for key, record in records.items():
        if finished(record):
            doomed.append(key)
            if len(doomed) >= excess:
                break
    return [records.pop(key) for key in doomed]


class SessionTable(OrderedDict):
    """``collaboration_sessions``: an ordered dict that also counts running responder sessions.

    Sessions change status through ``NetworkedKernelTrainer._finish``, which tells the
    table; entries of other types (the seed's plain ``{"status": ...}`` dicts) are counted
    by looking at them, since nothing reports their changes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._running: set[str] = set()
        self._foreign: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self:
            self._forget(key)
        super().__setitem__(key, value)
        if isinstance(value, CollaborationSession):
            if value.role == RESPONDER and value.status == ACTIVE:
                self._running.add(key)
        else:
            self._foreign.add(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._forget(key)

    def pop(self, key: str, *default: Any) -> Any:
        self._forget(key)
        return super().pop(key, *default)

    def popitem(self, last: bool = True) -> tuple[str, Any]:
        key, value = super().popitem(last)
        self._forget(key)
        return key, value

    def clear(self) -> None:
        super().clear()
        self._running.clear()
        self._foreign.clear()

    def _forget(self, key: str) -> None:
        self._running.discard(key)
        self._foreign.discard(key)

    def status_changed(self, session: CollaborationSession, status: str) -> None:
        if session.role == RESPONDER and status == ACTIVE and session.key in self:
            self._running.add(session.key)
        else:
            self._running.discard(session.key)

    def active_responders(self) -> int:
        count = len(self._running)
        for key in self._foreign:
            entry = self[key]
            role = entry.get("role", RESPONDER) if hasattr(entry, "get") else RESPONDER
            if entry["status"] == ACTIVE and role == RESPONDER:
                count += 1
        return count
