"""``NetworkedKernelTrainer``: the seed's trainer as a sans-I/O state machine.

Frames go in with ``handle(message, now)``, time goes in with ``tick(now)``, the
operator's commands go in as method calls; each returns a list of actions for the
shell to carry out and events for observers. Nothing here opens a socket, starts a
task, reads a clock or touches a file.
"""
from __future__ import annotations

import copy
import math
from collections import OrderedDict
from typing import Any, Iterable, Sequence

from . import reports as rp
from . import wire
from .components import DEFAULT_MAX_COMPONENT_BYTES, build_component, check_component
from .events import (
    ComponentReceived, DecisionMade, HubError, Joined, PeerChanged, Produce, ProtocolProblem,
    ReportsAwaited, ReportsDue, ReputationChanged, RequestSent, ResponseReceived, ResponseSent, Send,
    SessionChanged, SettingsChanged, StateChanged, Validate,
)
from .policy import (
    DEADLINE_MISSED, AcceptancePolicy, ComplementTable, Decision, RequestContext, SeedPolicy, operator_decision,
)
from .reputation import DEFAULT_HISTORY, NEUTRAL, ReputationBook, ScoreChange, check_unit
from .witness import NetworkView, WitnessBook
from .sessions import (
    ACTIVE, ANSWERED, CANCELLED, COMPLETED, DELIVERED, EXPIRED, FAILED, FINISHED, HELD, INITIATOR, LAPSED,
    MAX_HOLD_S, RESPONDER, RULE_LAPSED, VALIDATING, CollaborationSession, IncomingRequest, OutgoingRequest, PeerResponse,
    held_until,
)

#: How many finished records of each kind are kept in memory (the feed is bounded).
MAX_FINISHED_RECORDS = 2_000
MAX_COMPONENTS = 500
#: Content kept in memory across all stored components (a flood of large valid ones is bounded too).
MAX_COMPONENT_STORE_BYTES = 32 * 1024 * 1024
#: Reports are weighed while our own record of a peer has fewer outcomes than this; beyond, ours decides.
REPORTS_BELOW = 1_000_000


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


class CommandError(ValueError):
    """An operator command that cannot be carried out; the message says why."""


class NetworkedKernelTrainer:
    def __init__(self, ai_id: str, specialization: str = "general",
                 hub_host: str = "127.0.0.1", hub_port: int = 6000,
                 auth_token: str | None = "secret1",
                 trust_threshold: float = 0.5,
                 reputation_alpha: float = 0.3,
                 *,
                 capabilities: Iterable[str] = (),
                 complements: ComplementTable | dict[str, list[str]] | None = None,
                 max_active_sessions: int = 3,
                 hold_s: float = 0.0,
                 max_component_bytes: int = DEFAULT_MAX_COMPONENT_BYTES,
                 history_size: int = DEFAULT_HISTORY,
                 validator_enabled: bool = False,
                 policy: AcceptancePolicy | None = None,
                 trusted_reporters: Iterable[str] = (),
                 ask_settings: rp.AskSettings | None = None,
                 share_reports: bool | None = None) -> None:
        check_unit("trust threshold", trust_threshold)
        self.ai_id = ai_id
        self.specialization = specialization
        self.capabilities = list(capabilities)
        self.hub_host = hub_host
        self.hub_port = hub_port
        self.auth_token = auth_token

        # Reputation system (the seed's names): reputation maps peer -> score in [0, 1].
        self.book = ReputationBook(reputation_alpha, history_size)
        self.reputation: dict[str, float] = self.book.scores
        self._trust_threshold = float(trust_threshold)

        if not isinstance(complements, ComplementTable):
            complements = ComplementTable.from_mapping(complements)
        self.policy: AcceptancePolicy = policy or SeedPolicy(complements)
        self.max_active_sessions = int(max_active_sessions)
        self.hold_s = self._check_hold(hold_s)
        self.max_component_bytes = int(max_component_bytes)
        self.validator_enabled = validator_enabled

        self.known_ai_info: dict[str, dict[str, Any]] = {}
        self.online: set[str] = set()
        self.collaboration_sessions: SessionTable = SessionTable()
        # Kept in step with the records so the policy's load count is O(1) per request.
        self._held_accepts: set[str] = set()
        self.incoming: OrderedDict[str, IncomingRequest] = OrderedDict()
        self.outgoing: OrderedDict[str, OutgoingRequest] = OrderedDict()
        self.shared_knowledge: dict[str, Any] = {"benchmarks": OrderedDict()}
        self._component_bytes = 0
        self.joined = False
        # A TRAINING_SYNC split over several frames (``more``): the union so far.
        self._sync_pending = False
        self._sync_active: list[str] = []
        self.now = 0.0

        # Shared evidence (PROTOCOL.md "Reputation reports"): what others told us, never mixed
        # into ``reputation``; what we ask and answer; what changed since our last broadcast.
        self.witness = WitnessBook(ai_id, trusted=trusted_reporters, floor=max(0.5, self._trust_threshold),
                                   collaborator_score=self.book.scores.get, own_counts=self._own_counts)
        self.asking = rp.Asking(ask_settings)
        self._awaiting: OrderedDict[str, _AwaitingReports] = OrderedDict()
        self._changed_subjects: OrderedDict[str, None] = OrderedDict()
        self._last_broadcast = -math.inf
        #: broadcast our changed observations (None: when our policy weighs reports)
        self.share_reports = share_reports
        self._query_prefix = ""          # set at the first query (ids: prefix + a counter)
        self._query_seq = 0

    # ------------------------------------------------------------------
    # Settings the operator edits live
    @property
    def trust_threshold(self) -> float:
        return self._trust_threshold

    @trust_threshold.setter
    def trust_threshold(self, value: float) -> None:
        check_unit("trust threshold", value)
        self._trust_threshold = float(value)
        self.witness.floor = max(0.5, self._trust_threshold)

    @property
    def reputation_alpha(self) -> float:
        return self.book.alpha

    @reputation_alpha.setter
    def reputation_alpha(self, value: float) -> None:
        self.book.set_alpha(float(value))

    @staticmethod
    def _check_hold(value: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value <= MAX_HOLD_S) \
                or math.isnan(value):
            raise ValueError(f"hold window must be between 0 and {MAX_HOLD_S:g} seconds, got {value!r}")
        return float(value)

    def configure(self, *, trust_threshold: float | None = None, reputation_alpha: float | None = None,
                  hold_s: float | None = None, now: float | None = None) -> list:
        """Apply new settings at once (validated first, all or nothing).

        A shorter hold window applies to what is held now: each held verdict is due at
        the earlier of its current time and its arrival plus the new window; those due
        by ``now`` are sent at once (so a hold of 0 releases everything held).
        """
        if trust_threshold is not None:
            check_unit("trust threshold", trust_threshold)
        if reputation_alpha is not None:
            check_unit("reputation alpha", reputation_alpha)
        if hold_s is not None:
            self._check_hold(hold_s)
        if trust_threshold is not None:
            self.trust_threshold = trust_threshold
        if reputation_alpha is not None:
            self.reputation_alpha = reputation_alpha
        out: list = [SettingsChanged(self.trust_threshold, self.reputation_alpha, self.hold_s)]
        if hold_s is not None:
            self.hold_s = float(hold_s)
            out[0] = SettingsChanged(self.trust_threshold, self.reputation_alpha, self.hold_s)
            if now is not None:
                self.now = now
            for record in list(self.incoming.values()):
                if record.status != HELD or record.hold_until is None:
                    continue
                record.hold_until = min(record.hold_until,
                                        held_until(record.received_at, self.hold_s, record.deadline_at))
            out += self.tick(self.now)
        return out

    # ------------------------------------------------------------------
    # The seed's seam
    def _update_reputation(self, other_ai: str, success: bool, reason: str = "",
                           now: float | None = None) -> ScoreChange:
        """new = alpha * outcome + (1 - alpha) * old; old is 0.5 for an unseen peer."""
        change = self.book.update(other_ai, success, reason, self.now if now is None else now)
        self.witness.learn(other_ai, success)      # judge the reporters who told us about this peer
        self._changed_subjects[other_ai] = None
        self._changed_subjects.move_to_end(other_ai)
        return change

    def _should_accept_collaboration(self, collaboration_type: str, initiator: str) -> bool:
        return self.decide(collaboration_type, initiator).accept

    def decide(self, collaboration_type: str, initiator: str) -> Decision:
        """The acceptance decision with its reason (which rule fired, with the numbers)."""
        return self.policy.decide(self.request_context(collaboration_type, initiator))

    def request_context(self, collaboration_type: str, initiator: str) -> RequestContext:
        """Everything the policy sees for one request: the seed's score plus its evidence."""
        info = self._get_ai_info(initiator)
        rec = self.book.records.get(initiator)
        return RequestContext(
            initiator=initiator,
            collaboration_type=collaboration_type,
            score=self.reputation.get(initiator, NEUTRAL),
            threshold=self.trust_threshold,
            our_specialization=self.specialization,
            initiator_specialization=info.get("specialization") if info else None,
            active_sessions=self.active_session_count(),
            max_active=self.max_active_sessions,
            observations=rec.observations if rec else 0,
            successes=rec.successes if rec else 0,
            failures=rec.failures if rec else 0,
            last_time=rec.last_time if rec else None,
            now=self.now,
            failure_streak=_failure_streak(rec) if rec and rec.failures else 0,
            last_failure_missed_deadline=bool(rec and rec.failures) and next(
                (c.reason == DEADLINE_MISSED for c in reversed(rec.history)
                 if c.kind == "outcome" and not c.undone and not c.success), False),
            network=self.witness.view(initiator) if self.uses_reports and (
                rec is None or rec.observations < REPORTS_BELOW) else None,
        )

    def _get_ai_info(self, ai_id: str) -> dict[str, Any] | None:
        return self.known_ai_info.get(ai_id)

    def active_session_count(self) -> int:
        """Sessions in which we are producing for someone, plus held accepts still before their deadline.

        A held accept whose deadline has passed is not counted even before ``tick`` answers
        it as lapsed (at most ``max_active_sessions`` accepts are held, so this stays short).
        """
        now = self.now
        incoming = self.incoming
        held = sum(1 for key in self._held_accepts if key in incoming and now < incoming[key].deadline_at)
        return self.collaboration_sessions.active_responders() + held

    # ------------------------------------------------------------------
    # Connection
    def hello(self, now: float) -> list:
        self.now = now
        return [Send(wire.make_message(wire.HELLO, self.ai_id, {
            "ai_id": self.ai_id, "specialization": self.specialization,
            "capabilities": list(self.capabilities), "protocol_version": wire.PROTOCOL_VERSION,
        }, now))]

    def disconnected(self, now: float) -> list:
        """The hub went away: keep everything; peers' presence is unknown until we rejoin."""
        self.now = now
        self.joined = False
        self.online.clear()
        self._sync_pending, self._sync_active = False, []
        return []

    # ------------------------------------------------------------------
    # Frames in
    def handle(self, message: wire.NetworkMessage | dict | str, now: float) -> list:
        self.now = now
        if not isinstance(message, wire.NetworkMessage):
            try:
                message = wire.parse_message(message)
            except wire.FrameError as exc:
                return [ProtocolProblem("hub", str(exc))]
        handler = self._HANDLERS.get(message.type)
        if handler is None:
            return [ProtocolProblem(message.sender_id, f"unexpected frame type {message.type!r}")]
        try:
            return handler(self, message)
        except wire.FrameError as exc:
            return [ProtocolProblem(message.sender_id, f"{message.type}: {exc}")]

    def _handle_training_sync(self, message: wire.NetworkMessage) -> list:
        """TRAINING_SYNC answers our HELLO: cache every peer's specialization.

        When the trainers online do not fit in one frame, the hub sends several in a row
        with ``more: true`` on all but the last (PROTOCOL.md, Joining 3): we take the
        union, and count as joined (presence complete) only after the last one.
        """
        out: list = []
        if not self._sync_pending:
            self.online = set()
            self._sync_active = []
        active = [a for a in message.payload.get("active_ais", []) or [] if isinstance(a, str)]
        self._sync_active.extend(active)
        self.online.update(active)
        for entry in message.payload.get("collaboration_opportunities", []) or []:
            parsed = wire.parse_peer(entry)
            if parsed:
                ai_id, info = parsed
                self.known_ai_info[ai_id] = info
                self.online.add(ai_id)
                out.append(PeerChanged(ai_id, info, True))
        self._sync_pending = message.payload.get("more") is True
        if self._sync_pending:
            return out
        self.joined = True
        active_all, self._sync_active = list(dict.fromkeys(self._sync_active)), []
        return [Joined(active_all), *out]

    def _handle_peer_joined(self, message: wire.NetworkMessage) -> list:
        parsed = wire.parse_peer(message.payload)
        if not parsed:
            raise wire.FrameError("PEER_JOINED without ai_id and specialization")
        ai_id, info = parsed
        self.known_ai_info[ai_id] = info
        self.online.add(ai_id)
        return [PeerChanged(ai_id, info, True)]

    def _handle_peer_left(self, message: wire.NetworkMessage) -> list:
        ai_id = message.payload.get("ai_id")
        if not isinstance(ai_id, str):
            raise wire.FrameError("PEER_LEFT without ai_id")
        self.online.discard(ai_id)
        return [PeerChanged(ai_id, self.known_ai_info.get(ai_id), False)]

    def _handle_error(self, message: wire.NetworkMessage) -> list:
        code = message.payload.get("code")
        detail = message.payload.get("detail")
        return [HubError(str(code), str(detail) if detail is not None else "")]

    # ---- the receiving side -------------------------------------------
    def _handle_collaboration_request(self, message: wire.NetworkMessage) -> list:
        req = wire.parse_request(message.payload)
        initiator = message.sender_id
        key = f"{initiator}/{req.request_id}"
        if key in self.incoming or key in self._awaiting:
            return [ProtocolProblem(initiator, f"duplicate request {req.request_id[:8]} ignored")]
        asks = self._ask_before_deciding(key, initiator, req)
        if asks:
            return asks
        return self._admit_request(key, initiator, req)

    def _admit_request(self, key: str, initiator: str, req: wire.RequestPayload,
                       received_at: float | None = None) -> list:
        """Decide a request now (with whatever reports have come in) and record the verdict."""
        decision = self.decide(req.collaboration_type, initiator)
        info = self._get_ai_info(initiator)
        record = IncomingRequest(
            key=key, request_id=req.request_id, initiator=initiator,
            collaboration_type=req.collaboration_type, feature=req.feature, deadline_s=req.deadline_s,
            received_at=self.now if received_at is None else received_at, initiator_specialization=info.get("specialization") if info else None,
            decision=decision, verdict=decision)
        self.incoming[key] = record
        self._prune(self.incoming, lambda r: r.status != HELD)
        if self.hold_s > 0:
            record.status = HELD
            record.hold_until = held_until(record.received_at, self.hold_s, record.deadline_at)
            if decision.accept:
                self._held_accepts.add(key)
            return [DecisionMade(record)]
        return [DecisionMade(record), *self._send_verdict(record)]

    def _lapse(self, record: IncomingRequest) -> list:
        """The deadline came while the verdict was held: answer that it expired, start nothing."""
        record.status = LAPSED
        self._held_accepts.discard(record.key)
        reason = (f"expired: the deadline ({record.deadline_s:g} s) passed while the verdict was held "
                  f"(automatic verdict: {record.verdict.verdict} — {record.verdict.reason})")
        record.verdict = Decision(False, RULE_LAPSED, reason, record.decision.score, record.decision.threshold)
        return [Send(wire.make_message(wire.COLLABORATION_RESPONSE, self.ai_id, {
            "request_id": record.request_id, "accepted": False, "reason": reason, "overridden": False,
        }, self.now, recipient_id=record.initiator)), ResponseSent(record, record.verdict)]

    def _send_verdict(self, record: IncomingRequest) -> list:
        """Send the verdict in force, and start or cancel the session it implies."""
        verdict = record.verdict
        record.status = ANSWERED
        self._held_accepts.discard(record.key)
        out: list = [Send(wire.make_message(wire.COLLABORATION_RESPONSE, self.ai_id, {
            "request_id": record.request_id, "accepted": verdict.accept,
            "reason": verdict.reason, "overridden": record.overridden,
        }, self.now, recipient_id=record.initiator)), ResponseSent(record, verdict)]
        session = self.collaboration_sessions.get(record.session_key) if record.session_key else None
        if verdict.accept and (session is None or session.status in (CANCELLED,)):
            if self.now >= record.deadline_at:
                return out
            session = CollaborationSession(
                key=f"in:{record.key}", request_id=record.request_id, role=RESPONDER,
                peer=record.initiator, collaboration_type=record.collaboration_type,
                feature=record.feature, started_at=self.now, deadline_at=record.deadline_at)
            self.collaboration_sessions[session.key] = session
            self.collaboration_sessions.move_to_end(session.key)
            self._prune(self.collaboration_sessions, lambda s: s.status in FINISHED)
            record.session_key = session.key
            out += [SessionChanged(session),
                    Produce(session.key, record.as_request(), session.deadline_at)]
        elif not verdict.accept and session is not None and session.status == ACTIVE:
            self._finish(session, CANCELLED, "cancelled: verdict changed to reject")
            out.append(SessionChanged(session))
        return out

    def production_finished(self, session_key: str, ok: bool, content: str, reason: str,
                            now: float) -> list:
        """The shell reports what the producer made for one of our sessions."""
        self.now = now
        session = self.collaboration_sessions.get(session_key)
        if session is None or session.status != ACTIVE:
            return []  # cancelled or expired meanwhile: the work is dropped
        if not ok:
            self._finish(session, FAILED, f"producer failed: {reason}")
            return [Send(wire.make_message(wire.COLLABORATION_RESPONSE, self.ai_id, {
                "request_id": session.request_id, "accepted": False,
                "reason": f"could not produce the component: {reason}", "overridden": False,
            }, now, recipient_id=session.peer)), SessionChanged(session)]
        component = build_component(
            component_id=f"{self.ai_id}-{session.request_id[:12]}",
            name=session.feature or session.collaboration_type or "component",
            version="1.0", content=content)
        self._finish(session, DELIVERED, f"delivered {len(content.encode('utf-8'))} bytes")
        session.component_key = component["id"]
        return [Send(wire.make_message(wire.OS_COMPONENT_SHARE, self.ai_id, {
            "request_id": session.request_id, "component": component, "collaboration_complete": True,
        }, now, recipient_id=session.peer)), SessionChanged(session)]

    def override(self, incoming_key: str, accept: bool, now: float) -> list:
        """The operator flips (or confirms) the verdict on a request we received."""
        self.now = now
        record = self.incoming.get(incoming_key)
        if record is None:
            raise CommandError("no such request")
        session = self.collaboration_sessions.get(record.session_key) if record.session_key else None
        if record.status == LAPSED:
            raise CommandError("too late: the request's deadline passed while its verdict was held")
        if record.verdict.accept == accept and record.status == ANSWERED:
            raise CommandError(f"already {'accepted' if accept else 'rejected'}")
        if not accept and session is not None and session.status in FINISHED - {CANCELLED}:
            raise CommandError(f"too late to reject: the session is {session.status}")
        if accept and now >= record.deadline_at:
            raise CommandError("too late to accept: the request's deadline has passed")
        record.verdict = operator_decision(accept, record.decision)
        record.overridden = True
        record.hold_until = None
        return self._send_verdict(record)

    # ---- the initiating side ------------------------------------------
    def start_request(self, collaboration_type: str, feature: str, deadline_s: float, now: float,
                      recipient: str | None = None) -> tuple[str, list]:
        """Broadcast (or direct) a COLLABORATION_REQUEST; returns its id and the actions."""
        self.now = now
        if isinstance(deadline_s, bool) or not isinstance(deadline_s, (int, float)) \
                or not (0 < deadline_s <= wire.MAX_DEADLINE_S):
            raise CommandError(f"deadline must be between 0 and {wire.MAX_DEADLINE_S:g} seconds")
        if not collaboration_type:
            raise CommandError("collaboration type must not be empty")
        request_id = wire.new_id()
        record = OutgoingRequest(request_id, collaboration_type, feature, float(deadline_s), now, recipient)
        self.outgoing[request_id] = record
        self._prune(self.outgoing, lambda r: now >= r.deadline_at)
        msg = wire.make_message(wire.COLLABORATION_REQUEST, self.ai_id, {
            "request_id": request_id, "collaboration_type": collaboration_type,
            "feature": feature, "deadline_s": float(deadline_s)}, now, recipient_id=recipient)
        return request_id, [Send(msg), RequestSent(record)]

    def _handle_collaboration_response(self, message: wire.NetworkMessage) -> list:
        resp = wire.parse_response(message.payload)
        peer = message.sender_id
        record = self.outgoing.get(resp.request_id)
        if record is None:
            return [ProtocolProblem(peer, f"response to unknown request {resp.request_id[:8]}")]
        record.responses[peer] = PeerResponse(resp.accepted, resp.reason, resp.overridden, self.now)
        out: list = [ResponseReceived(record, peer, resp.accepted, resp.reason, resp.overridden)]
        key = f"out:{resp.request_id}/{peer}"
        session = self.collaboration_sessions.get(key)
        if resp.accepted:
            if session is None or session.status == CANCELLED:
                if self.now >= record.deadline_at:
                    out.append(ProtocolProblem(peer, f"accept for request {resp.request_id[:8]} after its deadline"))
                    return out
                session = CollaborationSession(
                    key=key, request_id=resp.request_id, role=INITIATOR, peer=peer,
                    collaboration_type=record.collaboration_type, feature=record.feature,
                    started_at=self.now, deadline_at=record.deadline_at)
                self.collaboration_sessions[key] = session
                self._prune(self.collaboration_sessions, lambda s: s.status in FINISHED)
                out.append(SessionChanged(session))
        elif session is not None and session.status == ACTIVE:
            # A reject after an accept cancels; the peer said so in time, it is not a failure.
            self._finish(session, CANCELLED, f"peer withdrew: {resp.reason}")
            out.append(SessionChanged(session))
        return out

    def _handle_os_component_share(self, message: wire.NetworkMessage) -> list:
        """Store a shared component; a valid, complete delivery is a success for its sender."""
        payload = message.payload
        source = message.sender_id
        comp = payload.get("component")
        request_id = payload.get("request_id")
        request_id = request_id if isinstance(request_id, str) else None
        complete = payload.get("collaboration_complete", False) is True
        session = self.collaboration_sessions.get(f"out:{request_id}/{source}") if request_id else None
        check = check_component(comp, self.max_component_bytes)
        raw_id = comp.get("id") if isinstance(comp, dict) else None
        cid = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 128 else wire.new_id()
        benchmarks = self.shared_knowledge["benchmarks"]
        key = cid
        if key in benchmarks and benchmarks[key]["source"] != source:
            key = f"{cid}@{source}"
        if key in benchmarks:
            key = f"{key}#{wire.new_id()[:6]}"
        record = {
            "component": comp if check.ok else {"invalid": True},
            "source": source, "received_at": self.now, "request_id": request_id,
            "collaboration_complete": complete, "validation": "passed" if check.ok else "failed",
            "reason": check.reason, "mark": None, "mark_change_id": None,
        }
        benchmarks[key] = record
        self._component_bytes += _content_size(record)
        self._evict_components()
        out: list = []
        counts = session is not None and session.status == ACTIVE
        if not counts:
            why = ("no accepted request of ours" if session is None
                   else f"session already {session.status}")
            record["reason"] += f"; not counted: {why}"
            if not check.ok and session is None:
                # Garbage nobody asked for still costs its sender: it is a failed collaboration.
                out += self._outcome(source, False, check.reason)
            return [ComponentReceived(key, record), *out]
        session.component_key = key
        if not check.ok:
            self._finish(session, FAILED, check.reason)
            return [ComponentReceived(key, record), SessionChanged(session),
                    *self._outcome(source, False, check.reason)]
        if not complete:
            record["reason"] += "; partial delivery (collaboration_complete=false)"
            return [ComponentReceived(key, record)]
        if self.validator_enabled:
            record["validation"] = "validating"
            session.status = VALIDATING
            return [ComponentReceived(key, record), SessionChanged(session), Validate(key, comp)]
        self._finish(session, COMPLETED, check.reason)
        return [ComponentReceived(key, record), SessionChanged(session),
                *self._outcome(source, True, "valid component delivered")]

    def _evict_components(self) -> None:
        """Drop the oldest components beyond the count and byte budgets (never one being validated)."""
        benchmarks = self.shared_knowledge["benchmarks"]
        if len(benchmarks) <= MAX_COMPONENTS and self._component_bytes <= MAX_COMPONENT_STORE_BYTES:
            return
        for key in list(benchmarks):
            if len(benchmarks) <= MAX_COMPONENTS and self._component_bytes <= MAX_COMPONENT_STORE_BYTES:
                break
            if benchmarks[key]["validation"] == "validating":
                continue
            self._component_bytes -= _content_size(benchmarks.pop(key))

    def validation_finished(self, component_key: str, verdict: str, reason: str, peer_fault: bool,
                            now: float) -> list:
        """The shell reports the external validator's verdict ("pass", "fail" or "error")."""
        self.now = now
        record = self.shared_knowledge["benchmarks"].get(component_key)
        if record is None:
            return []
        source = record["source"]
        session = self.collaboration_sessions.get(f"out:{record['request_id']}/{source}")
        out: list = []
        if verdict == "pass":
            record["validation"], record["reason"] = "passed", f"validator passed: {reason}".rstrip(": ")
            success = True
        elif verdict == "fail" and peer_fault:
            record["validation"], record["reason"] = "failed", f"validator failed: {reason}"
            success = False
        else:
            # Our validator could not run: not the peer's fault, nothing is counted.
            record["validation"], record["reason"] = "unchecked", f"validator error (not counted): {reason}"
            success = None
        out.append(ComponentReceived(component_key, record))
        if session is not None and session.status == VALIDATING:
            if success is None:
                self._finish(session, COMPLETED, record["reason"])
            else:
                self._finish(session, COMPLETED if success else FAILED, record["reason"])
            out.append(SessionChanged(session))
            if success is not None:
                out += self._outcome(source, success,
                                     "valid component delivered" if success else record["reason"])
        return out

    # ---- shared evidence: reputation queries and reports ---------------
    @property
    def uses_reports(self) -> bool:
        """Whether our policy weighs reports (then we ask about unknown peers and broadcast)."""
        return bool(getattr(self.policy, "uses_reports", False))

    def network_view(self, peer: str) -> NetworkView:
        """What the reporters we believe say of ``peer`` (score, reporters, one row per reporter)."""
        return self.witness.view(peer, rows=True)

    @staticmethod
    def _last_failure_missed(rec) -> bool:
        return next((c.reason == DEADLINE_MISSED for c in reversed(rec.history)
                     if c.kind == "outcome" and not c.undone and not c.success), False)

    def _own_counts(self, peer: str) -> tuple[int, int] | None:
        rec = self.book.records.get(peer)
        return (rec.successes, rec.failures) if rec is not None and rec.observations else None

    def set_trusted_reporters(self, reporters: Iterable[str]) -> None:
        self.witness.set_trusted(reporters)

    def ask_about(self, subject: str, now: float, candidates: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """Choose whom to ask about ``subject`` and note the queries as sent: [(query_id, reporter)].

        Only for a peer we hardly know (fewer than ``ask_below`` of our own outcomes) and not
        asked about within ``cache_s``. At most ``k`` reporters: the ones we believe most as
        witnesses (pinned first), with ``explore`` slots for reporters not judged yet; never the
        subject; by default only peers online (``candidates`` replaces them: the simulation);
        within our global query budget. The caller sends the frames (``query_frames``).
        """
        self.now = now
        rec = self.book.records.get(subject)
        if not self.asking.should_ask(subject, rec.observations if rec else 0, now):
            return []
        if rec is not None and rec.successes == 0 and rec.failures and not self._last_failure_missed(rec):
            return []          # it failed us with a bad delivery and never delivered: nothing to ask
        st = self.asking.settings
        allowed = None
        if candidates is None:
            allowed = self.online
            candidates = sorted(self.online)
        out = []
        for reporter in self.witness.best_reporters(candidates, st.k, st.explore, subject=subject,
                                                    allowed=allowed, now=now):
            if not self.asking.may_send_query(now):
                break
            if not self._query_prefix:
                self._query_prefix = wire.new_id()[:12] + "-"
            self._query_seq += 1
            qid = f"{self._query_prefix}{self._query_seq}"
            # a reporter we have hardly judged yet is asked for everything it saw: judged at once on
            # every peer we know ourselves, it is believed (or not) after one answer, not fifty
            everything = self.asking.wants_everything(reporter, self.witness.judged(reporter), now)
            self.asking.sent(qid, reporter, (subject,), now, everything=everything)
            out.append((qid, reporter))
        return out

    def _ask_before_deciding(self, key: str, initiator: str, req: wire.RequestPayload) -> list:
        """Ask about a peer we hardly know; the decision waits for the answers (bounded)."""
        if not self.uses_reports:
            return []
        asked = self.ask_about(initiator, self.now)
        if not asked:
            return []
        st = self.asking.settings
        # never past a quarter of the request's deadline, nor half our hold window (the operator keeps the rest)
        wait = min(st.wait_s, req.deadline_s / 4, self.hold_s / 2 if self.hold_s > 0 else math.inf)
        waiting = _AwaitingReports(initiator, req, self.now, self.now + wait, {qid for qid, _ in asked})
        self._awaiting[key] = waiting
        for qid, _ in asked:
            self.asking.pending[qid].waiting.add(key)
        return [*(Send(m) for m in self.query_frames(asked, initiator)),
                ReportsAwaited(initiator, req.request_id, [r for _, r in asked], waiting.due_at)]

    def query_frames(self, asked: list[tuple[str, str]], subject: str) -> list[wire.NetworkMessage]:
        return [wire.make_message(rp.REPUTATION_QUERY, self.ai_id, {"query_id": qid, "subjects": self.query_subjects(qid)},
                                  self.now, recipient_id=reporter) for qid, reporter in asked]

    def query_subjects(self, query_id: str) -> list[str] | None:
        """The ``subjects`` of a query we noted as sent (None: everything the reporter saw)."""
        q = self.asking.pending[query_id]
        return None if q.subjects is None else list(q.subjects)

    @property
    def shares_reports(self) -> bool:
        return self.uses_reports if self.share_reports is None else self.share_reports

    def own_observations(self, subjects: Iterable[str] | None, exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
        """What we report (answers and broadcasts): our own first-hand records, never hearsay."""
        return rp.first_hand(self.book, subjects, exclude=exclude)

    def answer_query(self, sender: str, query: rp.Query) -> dict[str, Any]:
        """The REPUTATION_REPORT payload answering ``query``: our own first-hand records only."""
        return {"query_id": query.query_id, "observations": self.own_observations(query.subjects, (sender,))}

    def _handle_reputation_query(self, message: wire.NetworkMessage) -> list:
        sender = message.sender_id
        query = rp.parse_query(message.payload)
        if not self.asking.may_answer(sender, self.now):
            return [ProtocolProblem(sender, "REPUTATION_QUERY over the rate limit: not answered")]
        return [Send(wire.make_message(rp.REPUTATION_REPORT, self.ai_id, self.answer_query(sender, query),
                                       self.now, recipient_id=sender))]

    def receive_report(self, sender: str, report: rp.ReportFrame, now: float) -> list:
        """Keep a (validated) report; decide the requests that were waiting only for it."""
        self.now = now
        query = self.asking.answered(report.query_id, sender)
        if query is None:
            if report.query_id is not None:
                return []                   # an answer to nothing we asked (late, or made up): dropped
            if not self.asking.may_keep_unsolicited(sender, now):
                return []
            observations = report.observations
        else:
            wanted = set(query.subjects) if query.subjects is not None else None
            observations = [o for o in report.observations if wanted is None or o[0] in wanted]
        self.witness.ingest(sender, observations, now)
        out: list = []
        if query is not None:
            for key in query.waiting:
                waiting = self._awaiting.get(key)
                if waiting is None:
                    continue
                waiting.queries.discard(report.query_id)
                if not waiting.queries:
                    out += self._decide_awaiting(key)
        return out

    def _handle_reputation_report(self, message: wire.NetworkMessage) -> list:
        return self.receive_report(message.sender_id, rp.parse_report(message.payload), self.now)

    def _decide_awaiting(self, key: str) -> list:
        waiting = self._awaiting.pop(key)
        return self._admit_request(key, waiting.initiator, waiting.request, waiting.received_at)

    def _reports_tick(self, now: float) -> list:
        """Decide requests whose wait for answers is over; broadcast what changed, at most every 30 s."""
        out: list = []
        for key in [k for k, w in self._awaiting.items() if now >= w.due_at]:
            out += self._decide_awaiting(key)
        self.asking.expire(now)
        out += self._broadcast(now)
        return out

    def _broadcast(self, now: float) -> list:
        if not self.shares_reports or not self._changed_subjects or not self.joined \
                or now < self._last_broadcast + rp.BROADCAST_EVERY_S:
            return []
        subjects = list(self._changed_subjects)[-rp.MAX_ENTRIES:]
        self._changed_subjects.clear()
        self._last_broadcast = now
        observations = self.own_observations(subjects)
        if not observations:
            return []
        return [Send(wire.make_message(rp.REPUTATION_REPORT, self.ai_id,
                                       {"query_id": None, "observations": observations}, now))]

    def _reports_deadline(self) -> float | None:
        times = [w.due_at for w in self._awaiting.values()]
        if self.shares_reports and self._changed_subjects and self.joined:
            times.append(max(self.now, self._last_broadcast + rp.BROADCAST_EVERY_S))
        return min(times) if times else None

    # ---- operator marks ------------------------------------------------
    def mark_component(self, component_key: str, good: bool, now: float) -> list:
        self.now = now
        record = self.shared_knowledge["benchmarks"].get(component_key)
        if record is None:
            raise CommandError("no such component")
        want = "good" if good else "bad"
        if record["mark"] == want:
            raise CommandError(f"already marked {want}")
        out: list = []
        if record["mark"] is not None:
            out += self.unmark_component(component_key, now)
        change = self._update_reputation(record["source"], good, f"marked {want} by operator", now)
        record["mark"], record["mark_change_id"] = want, change.change_id
        return [*out, ComponentReceived(component_key, record), ReputationChanged(change), StateChanged()]

    def mark_preview(self, component_key: str, good: bool) -> tuple[str, float, float]:
        """(source, score now, score after ``mark_component(component_key, good)``), changing nothing.

        The mark is replayed on a copy of the source's record alone (an earlier opposite
        mark undone first, as ``mark_component`` does), so the operator can be told the
        consequence before confirming.
        """
        record = self.shared_knowledge["benchmarks"].get(component_key)
        if record is None:
            raise CommandError("no such component")
        peer = record["source"]
        trial = ReputationBook(self.book.alpha, self.book.history_size)
        if peer in self.book.scores:
            trial.scores[peer] = self.book.scores[peer]
        if peer in self.book.records:
            trial.records[peer] = copy.deepcopy(self.book.records[peer])
        if record["mark"] is not None and record["mark"] != ("good" if good else "bad"):
            try:
                trial.undo(peer, record["mark_change_id"], "preview")
            except LookupError:
                pass
        trial.update(peer, good, "preview")
        return peer, self.book.score(peer), trial.score(peer)

    def unmark_component(self, component_key: str, now: float) -> list:
        self.now = now
        record = self.shared_knowledge["benchmarks"].get(component_key)
        if record is None:
            raise CommandError("no such component")
        if record["mark"] is None:
            raise CommandError("component has no mark to undo")
        try:
            note = self.book.undo(record["source"], record["mark_change_id"],
                                  f"undo: operator removed the '{record['mark']}' mark", now)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        record["mark"], record["mark_change_id"] = None, None
        return [ComponentReceived(component_key, record), ReputationChanged(note), StateChanged()]

    # ------------------------------------------------------------------
    # Time
    def tick(self, now: float) -> list:
        """Send held verdicts whose window has passed; fail sessions past their deadline."""
        self.now = now
        out: list = self._reports_tick(now)
        for record in list(self.incoming.values()):
            if record.status == HELD and record.hold_until is not None and now >= record.hold_until:
                record.hold_until = None
                if now >= record.deadline_at:
                    out += self._lapse(record)
                else:
                    out += self._send_verdict(record)
        for session in list(self.collaboration_sessions.values()):
            if session.status != ACTIVE or now < session.deadline_at:
                continue
            if session.role == INITIATOR:
                reason = (f"no valid component within the deadline "
                          f"({session.deadline_at - session.started_at:.0f} s)")
                self._finish(session, FAILED, reason)
                out += [SessionChanged(session), *self._outcome(session.peer, False, "deadline missed")]
            else:
                self._finish(session, EXPIRED, "deadline passed before the component was produced")
                out.append(SessionChanged(session))
        return out

    def next_deadline(self) -> float | None:
        """The earliest time at which ``tick`` has something to do, for the shell's timer."""
        times = [r.hold_until for r in self.incoming.values() if r.status == HELD and r.hold_until is not None]
        times += [s.deadline_at for s in self.collaboration_sessions.values() if s.status == ACTIVE]
        reports_due = self._reports_deadline()
        if reports_due is not None:
            times.append(reports_due)
        return min(times) if times else None

    # ------------------------------------------------------------------
    def _outcome(self, peer: str, success: bool, reason: str) -> list:
        first_change = not self._changed_subjects
        change = self._update_reputation(peer, success, reason, self.now)
        out: list = [ReputationChanged(change), StateChanged()]
        if first_change and self.shares_reports:
            out.append(ReportsDue(max(self.now, self._last_broadcast + rp.BROADCAST_EVERY_S)))
        return out

    def _finish(self, session: CollaborationSession, status: str, detail: str) -> None:
        self.collaboration_sessions.status_changed(session, status)
        session.status = status
        session.detail = detail
        session.ended_at = self.now

    @staticmethod
    def _prune(records: OrderedDict, finished) -> None:
        """Drop the oldest finished records beyond the bound (unfinished ones are kept)."""
        excess = len(records) - MAX_FINISHED_RECORDS
        if excess <= 0:
            return
        doomed = []
        for key, record in records.items():
            if finished(record):
                doomed.append(key)
                if len(doomed) >= excess:
                    break
        for key in doomed:
            del records[key]

    def export_state(self) -> dict[str, Any]:
        return self.book.export_state()

    def import_state(self, state: dict[str, Any]) -> None:
        self.book.import_state(state)

    _HANDLERS = {
        wire.TRAINING_SYNC: _handle_training_sync,
        wire.PEER_JOINED: _handle_peer_joined,
        wire.PEER_LEFT: _handle_peer_left,
        wire.ERROR: _handle_error,
        wire.COLLABORATION_REQUEST: _handle_collaboration_request,
        wire.COLLABORATION_RESPONSE: _handle_collaboration_response,
        wire.OS_COMPONENT_SHARE: _handle_os_component_share,
        rp.REPUTATION_QUERY: _handle_reputation_query,
        rp.REPUTATION_REPORT: _handle_reputation_report,
    }


class _AwaitingReports:
    """A request whose decision waits (at most until ``due_at``) for answers to our queries."""

    __slots__ = ("initiator", "request", "received_at", "due_at", "queries")

    def __init__(self, initiator: str, request: wire.RequestPayload, received_at: float, due_at: float,
                 queries: set[str]) -> None:
        self.initiator, self.request, self.received_at = initiator, request, received_at
        self.due_at, self.queries = due_at, queries


def _content_size(record: dict[str, Any]) -> int:
    content = record["component"].get("content") if isinstance(record["component"], dict) else None
    return len(content) if isinstance(content, str) else 0


def _failure_streak(rec) -> int:
    """Failures in a row at the end of a peer's record (bounded by its kept history)."""
    run = 0
    for change in reversed(rec.history):
        if change.kind != "outcome" or change.undone:
            continue
        if change.success:
            break
        run += 1
    return run
