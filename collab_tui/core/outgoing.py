"""The initiating side of a collaboration: our request goes out, peers answer, a component
comes back and is checked (and, with a validator, validated) before it counts.

``OutgoingSide`` is mixed into ``NetworkedKernelTrainer`` (its state: ``outgoing``,
``collaboration_sessions``, the ``components`` store); it only groups the methods of
one lifecycle, the trainer stays the one object the shell talks to.
"""
from __future__ import annotations

from . import wire
from .components import check_component
from .events import (
    ComponentReceived, Output, ProtocolProblem, RequestSent, ResponseReceived, Send, SessionChanged, Validate,
)
from .sessions import (
    ACTIVE, CANCELLED, COMPLETED, FAILED, FINISHED, INITIATOR, VALIDATING, CollaborationSession, CommandError,
    OutgoingRequest, PeerResponse, prune_finished,
)


class OutgoingSide:
    """Requests we send: responses, the sessions they open, components delivered to us."""

    def start_request(self, collaboration_type: str, feature: str, deadline_s: float, now: float,
                      recipient: str | None = None) -> tuple[str, list[Output]]:
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
        self._forgotten_sent += len(prune_finished(self.outgoing, lambda r: now >= r.deadline_at))
        msg = wire.make_message(wire.COLLABORATION_REQUEST, self.ai_id, {
            "request_id": request_id, "collaboration_type": collaboration_type,
            "feature": feature, "deadline_s": float(deadline_s)}, now, recipient_id=recipient)
        return request_id, [Send(msg), RequestSent(record)]

    def _handle_collaboration_response(self, message: wire.NetworkMessage) -> list[Output]:
        resp = wire.parse_response(message.payload)
        peer = message.sender_id
        record = self.outgoing.get(resp.request_id)
        if record is None:
            return [ProtocolProblem(peer, f"response to unknown request {resp.request_id[:8]}")]
        record.responses[peer] = PeerResponse(resp.accepted, resp.reason, resp.overridden, self.now)
        out: list[Output] = [ResponseReceived(record, peer, resp.accepted, resp.reason, resp.overridden)]
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
                prune_finished(self.collaboration_sessions, lambda s: s.status in FINISHED)
                out.append(SessionChanged(session))
        elif session is not None and session.status == ACTIVE:
            # A reject after an accept cancels; the peer said so in time, it is not a failure.
            self._finish(session, CANCELLED, f"peer withdrew: {resp.reason}")
            out.append(SessionChanged(session))
        return out

    def _handle_os_component_share(self, message: wire.NetworkMessage) -> list[Output]:
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
        key, record = self.components.add(cid, comp if check.ok else {"invalid": True}, source, self.now, {
            "request_id": request_id, "collaboration_complete": complete,
            "validation": "passed" if check.ok else "failed", "reason": check.reason,
        })
        out: list[Output] = []
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

    def validation_finished(self, component_key: str, verdict: str, reason: str, peer_fault: bool,
                            now: float) -> list[Output]:
        """The shell reports the external validator's verdict ("pass", "fail" or "error")."""
        self.now = now
        record = self.components.get(component_key)
        if record is None:
            return []
        source = record["source"]
        session = self.collaboration_sessions.get(f"out:{record['request_id']}/{source}")
        out: list[Output] = []
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
