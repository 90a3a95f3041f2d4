"""The wire format as a trainer sees it (PROTOCOL.md, version 1).

A trainer is a third-party client of the hub: it does not import ``hub``. This
module builds outgoing frames and checks incoming ones; it never touches a socket.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1

HELLO = "HELLO"
TRAINING_SYNC = "TRAINING_SYNC"
PEER_JOINED = "PEER_JOINED"
PEER_LEFT = "PEER_LEFT"
COLLABORATION_REQUEST = "COLLABORATION_REQUEST"
COLLABORATION_RESPONSE = "COLLABORATION_RESPONSE"
OS_COMPONENT_SHARE = "OS_COMPONENT_SHARE"
ERROR = "ERROR"

#: Close codes after which a client must not reconnect: a person has to fix something.
FINAL_CLOSE_CODES = {4400: "bad HELLO", 4401: "authentication failed for this id", 4409: "id already joined"}
#: Close code after which a client waits at least 30 s before reconnecting.
RATE_LIMIT_CLOSE = 4429
RATE_LIMIT_BACKOFF_S = 30.0

#: Largest deadline a request may carry (a day); larger is treated as malformed.
MAX_DEADLINE_S = 86_400.0
MAX_TEXT = 1_000

#: A trainer id, specialization or capability as a HELLO may carry it (PROTOCOL.md, Joining 2).
AI_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: Ids no trainer may claim (compared case-insensitively).
RESERVED_IDS = frozenset({"hub"})
#: The most capabilities a HELLO may list.
MAX_CAPABILITIES = 32


class FrameError(ValueError):
    """An incoming frame or payload that does not follow the protocol."""


@dataclass(slots=True)
class NetworkMessage:
    """One decoded frame: the envelope's fields plus its payload."""

    type: str
    sender_id: str
    payload: dict[str, Any]
    recipient_id: str | None = None
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timestamp: float = 0.0

    def to_frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {
            "type": self.type,
            "message_id": self.message_id,
            "sender_id": self.sender_id,
            "recipient_id": self.recipient_id,
            "timestamp": self.timestamp,
            "payload": self.payload,
        }
        return frame

    def encode(self) -> str:
        return json.dumps(self.to_frame(), separators=(",", ":"), ensure_ascii=False)


def new_id() -> str:
    return uuid.uuid4().hex


def make_message(msg_type: str, sender_id: str, payload: dict[str, Any], now: float,
                 recipient_id: str | None = None) -> NetworkMessage:
    return NetworkMessage(type=msg_type, sender_id=sender_id, payload=payload,
                          recipient_id=recipient_id, timestamp=now)


def parse_message(frame: Any) -> NetworkMessage:
    """Check an incoming frame's envelope (a dict from JSON, or the JSON text itself)."""
    if isinstance(frame, (str, bytes)):
        try:
            frame = json.loads(frame)
        except (ValueError, RecursionError) as exc:
            raise FrameError(f"frame is not JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise FrameError("frame is not a JSON object")
    msg_type = frame.get("type")
    if not isinstance(msg_type, str):
        raise FrameError("frame has no string 'type'")
    sender = frame.get("sender_id")
    if not isinstance(sender, str) or not sender:
        raise FrameError(f"{msg_type} frame has no sender_id")
    payload = frame.get("payload")
    if not isinstance(payload, dict):
        raise FrameError(f"{msg_type} frame from {sender} has no payload object")
    recipient = frame.get("recipient_id")
    if recipient is not None and not isinstance(recipient, str):
        raise FrameError(f"{msg_type} frame from {sender} has a non-string recipient_id")
    message_id = frame.get("message_id")
    timestamp = frame.get("timestamp", 0.0)
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        timestamp = 0.0
    return NetworkMessage(type=msg_type, sender_id=sender, payload=payload, recipient_id=recipient,
                          message_id=message_id if isinstance(message_id, str) else "",
                          timestamp=float(timestamp))


def _text(payload: dict[str, Any], key: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = payload.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise FrameError(f"'{key}' must be a string")
    if len(value) > limit:
        raise FrameError(f"'{key}' is longer than {limit} characters")
    return value


@dataclass(slots=True, frozen=True)
class RequestPayload:
    request_id: str
    collaboration_type: str
    feature: str
    deadline_s: float


def parse_request(payload: dict[str, Any]) -> RequestPayload:
    request_id = _text(payload, "request_id", limit=128)
    if not request_id:
        raise FrameError("'request_id' is empty")
    collaboration_type = _text(payload, "collaboration_type", limit=128)
    feature = _text(payload, "feature", required=False)
    deadline = payload.get("deadline_s")
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)):
        raise FrameError("'deadline_s' must be a number")
    if not (0 < deadline <= MAX_DEADLINE_S):
        raise FrameError(f"'deadline_s' must be in (0, {MAX_DEADLINE_S:g}], got {deadline}")
    return RequestPayload(request_id, collaboration_type, feature, float(deadline))


@dataclass(slots=True, frozen=True)
class ResponsePayload:
    request_id: str
    accepted: bool
    reason: str
    overridden: bool


def parse_response(payload: dict[str, Any]) -> ResponsePayload:
    request_id = _text(payload, "request_id", limit=128)
    accepted = payload.get("accepted")
    if not isinstance(accepted, bool):
        raise FrameError("'accepted' must be true or false")
    reason = _text(payload, "reason", required=False)
    overridden = payload.get("overridden", False)
    if not isinstance(overridden, bool):
        raise FrameError("'overridden' must be true or false")
    return ResponsePayload(request_id, accepted, reason, overridden)


def parse_peer(entry: Any) -> tuple[str, dict[str, Any]] | None:
    """One ``{ai_id, specialization, capabilities}`` entry, or None if unusable."""
    if not isinstance(entry, dict):
        return None
    ai_id = entry.get("ai_id")
    spec = entry.get("specialization")
    if not isinstance(ai_id, str) or not ai_id or not isinstance(spec, str):
        return None
    caps = entry.get("capabilities", [])
    if not isinstance(caps, list):
        caps = []
    return ai_id, {"specialization": spec[:MAX_TEXT],
                   "capabilities": [c for c in caps if isinstance(c, str)][:64]}
