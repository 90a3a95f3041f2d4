"""The receiving side of a collaboration: a request comes in, is decided (at once or after
a hold), answered, and - accepted - produced for and delivered.

``IncomingSide`` is mixed into ``NetworkedKernelTrainer`` (its state: ``incoming``,
``collaboration_sessions``, ``hold_s``, the policy); it only groups the methods of one
lifecycle, the trainer stays the one object the shell talks to.
"""
from __future__ import annotations

from . import wire
from .components import build_component
from .events import DecisionMade, Output, Produce, ProtocolProblem, ResponseSent, Send, SessionChanged
from .policy import Decision, operator_decision
from .sessions import (
    ACTIVE, ANSWERED, CANCELLED, DELIVERED, FAILED, FINISHED, HELD, LAPSED, RESPONDER, RULE_LAPSED,
    CollaborationSession, CommandError, IncomingRequest, held_until, prune_finished,
)


class IncomingSide:
    """Requests we receive: decide, hold, answer, produce, deliver; the operator's override."""

    def _handle_collaboration_request(self, message: wire.NetworkMessage) -> list[Output]:
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
                       received_at: float | None = None) -> list[Output]:
        """Decide a request now (with whatever reports have come in) and record the verdict."""
        decision = self.decide(req.collaboration_type, initiator)
        info = self._get_ai_info(initiator)
        record = IncomingRequest(
            key=key, request_id=req.request_id, initiator=initiator,
            collaboration_type=req.collaboration_type, feature=req.feature, deadline_s=req.deadline_s,
            received_at=self.now if received_at is None else received_at, initiator_specialization=info.get("specialization") if info else None,
            decision=decision, verdict=decision)
        self.incoming[key] = record
        for dropped in prune_finished(self.incoming, lambda r: r.status != HELD):
            self._forgotten_received += 1
            self._forgotten_accepted += dropped.verdict.accept
        if self.hold_s > 0:
            record.status = HELD
            record.hold_until = held_until(record.received_at, self.hold_s, record.deadline_at)
            if decision.accept:
                self._held_accepts.add(key)
            return [DecisionMade(record)]
        return [DecisionMade(record), *self._send_verdict(record)]

    def _lapse(self, record: IncomingRequest) -> list[Output]:
        """The deadline came while the verdict was held: answer that it expired, start nothing."""
        record.status = LAPSED
        self._held_accepts.discard(record.key)
        reason = (f"expired: the deadline ({record.deadline_s:g} s) passed while the verdict was held "
                  f"(automatic verdict: {record.verdict.verdict} — {record.verdict.reason})")
        record.verdict = Decision(False, RULE_LAPSED, reason, record.decision.score, record.decision.threshold)
        return [Send(wire.make_message(wire.COLLABORATION_RESPONSE, self.ai_id, {
            "request_id": record.request_id, "accepted": False, "reason": reason, "overridden": False,
        }, self.now, recipient_id=record.initiator)), ResponseSent(record, record.verdict)]

    def _send_verdict(self, record: IncomingRequest) -> list[Output]:
        """Send the verdict in force, and start or cancel the session it implies."""
        verdict = record.verdict
        record.status = ANSWERED
        self._held_accepts.discard(record.key)
        out: list[Output] = [Send(wire.make_message(wire.COLLABORATION_RESPONSE, self.ai_id, {
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
            prune_finished(self.collaboration_sessions, lambda s: s.status in FINISHED)
            record.session_key = session.key
            out += [SessionChanged(session),
                    Produce(session.key, record.as_request(), session.deadline_at)]
        elif not verdict.accept and session is not None and session.status == ACTIVE:
            self._finish(session, CANCELLED, "cancelled: verdict changed to reject")
            out.append(SessionChanged(session))
        return out

    def production_finished(self, session_key: str, ok: bool, content: str, reason: str,
                            now: float) -> list[Output]:
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

    def override(self, incoming_key: str, accept: bool, now: float) -> list[Output]:
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
