"""The wire format of protocol version 1 (see PROTOCOL.md): envelope, error codes,
close codes, and the hot-path decoding and encoding of frames.

Decoding uses msgspec's typed JSON decoder: it parses and checks the envelope's
fields and types in one C pass, and keeps the payload as raw JSON bytes
(``msgspec.Raw``) so that the hub relays payloads exactly as sent without building
Python objects for them. ``benchmarks/envelope_decode.py`` measures this against
``json`` plus hand-written checks.
"""

from __future__ import annotations

import enum
import re
import time
import uuid
from typing import Any, NamedTuple

import msgspec

PROTOCOL_VERSION = 1
HUB_SENDER_ID = "hub"

HELLO = "HELLO"
COLLABORATION_REQUEST = "COLLABORATION_REQUEST"
COLLABORATION_RESPONSE = "COLLABORATION_RESPONSE"
OS_COMPONENT_SHARE = "OS_COMPONENT_SHARE"
TRAINING_SYNC = "TRAINING_SYNC"
PEER_JOINED = "PEER_JOINED"
PEER_LEFT = "PEER_LEFT"
ERROR = "ERROR"

#: Types a client may send. Anything else is ``unknown_type``.
CLIENT_TYPES = frozenset({HELLO, COLLABORATION_REQUEST, COLLABORATION_RESPONSE, OS_COMPONENT_SHARE})
#: Types a joined client may have relayed to other trainers.
RELAYED_TYPES = frozenset({COLLABORATION_REQUEST, COLLABORATION_RESPONSE, OS_COMPONENT_SHARE})
#: Types only the hub sends.
HUB_TYPES = frozenset({TRAINING_SYNC, PEER_JOINED, PEER_LEFT, ERROR})

AI_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class ErrorCode(enum.StrEnum):
    """``ERROR.payload.code`` values."""

    BAD_JSON = "bad_json"
    BAD_ENVELOPE = "bad_envelope"
    UNKNOWN_TYPE = "unknown_type"
    SPOOFED_SENDER = "spoofed_sender"
    UNKNOWN_RECIPIENT = "unknown_recipient"
    NOT_JOINED = "not_joined"
    RATE_LIMITED = "rate_limited"
    BAD_HELLO = "bad_hello"
    AUTH_FAILED = "auth_failed"
    DUPLICATE_ID = "duplicate_id"


class CloseCode(enum.IntEnum):
    """WebSocket close codes the hub uses."""

    GOING_AWAY = 1001  # hub shutting down
    INVALID_UTF8 = 1007  # closed by the websocket layer
    MESSAGE_TOO_BIG = 1009  # closed by the websocket layer (max_size)
    INTERNAL_ERROR = 1011  # hub fault
    TRY_AGAIN_LATER = 1013  # receiver's outbound queue full
    BAD_HELLO = 4400
    AUTH_FAILED = 4401
    HELLO_TIMEOUT = 4408
    DUPLICATE_ID = 4409
    FLOODING = 4429


class Envelope(msgspec.Struct):
    """A frame as the hub reads it. Unknown top-level fields are ignored (and not
    relayed); the payload stays raw JSON and is relayed byte for byte."""

    type: str
    message_id: str
    timestamp: float
    payload: msgspec.Raw
    sender_id: str | None = None
    recipient_id: str | None = None


class Hello(msgspec.Struct):
    """HELLO payload. Extra fields are ignored."""

    ai_id: str
    specialization: str
    capabilities: list[str]
    protocol_version: int


class PeerInfo(msgspec.Struct, frozen=True):
    """What the network knows about a joined trainer."""

    ai_id: str
    specialization: str
    capabilities: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"ai_id": self.ai_id, "specialization": self.specialization, "capabilities": list(self.capabilities)}


class Frame(NamedTuple):
    """An encoded outbound frame and its type (for metrics)."""

    type: str
    data: bytes


class FrameError(Exception):
    """A frame the hub refuses; the connection stays open."""

    def __init__(self, code: ErrorCode, detail: str, ref_message_id: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.ref_message_id = ref_message_id


class HelloError(Exception):
    """A refused HELLO: answered with an ERROR, then the connection is closed."""

    def __init__(self, code: ErrorCode, close_code: CloseCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.close_code = close_code
        self.detail = detail


_envelope_decoder = msgspec.json.Decoder(Envelope)
_hello_decoder = msgspec.json.Decoder(Hello)
_any_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()
encode = _encoder.encode


def _classify_invalid(data: str, exc: msgspec.ValidationError) -> FrameError:
    """A frame the typed decoder refused: invalid JSON after all, or a bad envelope
    (with the frame's message_id if it has a string one). Off the hot path."""
    try:
        obj = _any_decoder.decode(data)
    except msgspec.DecodeError as dexc:
        return FrameError(ErrorCode.BAD_JSON, f"The frame is not valid JSON: {dexc}.")
    except RecursionError:
        return FrameError(ErrorCode.BAD_JSON, "The frame's JSON is nested too deeply.")
    ref = None
    if isinstance(obj, dict) and isinstance(obj.get("message_id"), str):
        ref = obj["message_id"][:256]
    return FrameError(ErrorCode.BAD_ENVELOPE, f"The frame is not a valid envelope: {exc}.", ref)


def decode_envelope(data: str | bytes) -> Envelope:
    """Decode one client frame. ``str`` is a text frame, ``bytes`` a binary frame.

    Raises FrameError with ``bad_json`` (binary frame, invalid JSON, nesting too
    deep) or ``bad_envelope`` (JSON, but not an envelope object with the right types).
    """
    if not isinstance(data, str):
        raise FrameError(ErrorCode.BAD_JSON, "Binary frames are not accepted; send one JSON object per text frame.")
    try:
        env = _envelope_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise _classify_invalid(data, exc) from None
    except msgspec.DecodeError as exc:
        raise FrameError(ErrorCode.BAD_JSON, f"The frame is not valid JSON: {exc}.") from None
    except RecursionError:
        raise FrameError(ErrorCode.BAD_JSON, "The frame's JSON is nested too deeply.") from None
    if not _raw_is_object(env.payload):
        raise FrameError(ErrorCode.BAD_ENVELOPE, "The frame's payload must be a JSON object.", env.message_id)
    return env


def _raw_is_object(raw: msgspec.Raw) -> bool:
    return memoryview(raw)[:1] == b"{"


def decode_hello(env: Envelope) -> Hello:
    """Check a HELLO's payload, in PROTOCOL.md's order. Raises HelloError (bad_hello)."""
    try:
        hello = _hello_decoder.decode(env.payload)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise HelloError(
            ErrorCode.BAD_HELLO,
            CloseCode.BAD_HELLO,
            "HELLO payload must be {ai_id, specialization, capabilities: [string], protocol_version: 1}: " f"{exc}.",
        ) from None
    if not AI_ID_RE.fullmatch(hello.ai_id):
        raise HelloError(
            ErrorCode.BAD_HELLO,
            CloseCode.BAD_HELLO,
            f"ai_id {hello.ai_id[:80]!r} must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'.",
        )
    if hello.protocol_version != PROTOCOL_VERSION:
        raise HelloError(
            ErrorCode.BAD_HELLO,
            CloseCode.BAD_HELLO,
            f"protocol_version {hello.protocol_version} is not supported; this hub speaks version {PROTOCOL_VERSION}.",
        )
    return hello


def encode_relay(env: Envelope, sender_id: str) -> bytes:
    """The frame as relayed: sender_id stamped, envelope re-encoded, payload verbatim."""
    env.sender_id = sender_id
    return encode(env)


def new_message_id() -> str:
    return uuid.uuid4().hex


def hub_frame(type_: str, recipient_id: str | None, payload: dict[str, Any]) -> Frame:
    """A frame the hub itself originates."""
    return Frame(
        type_,
        encode(
            {
                "type": type_,
                "message_id": uuid.uuid4().hex,
                "sender_id": HUB_SENDER_ID,
                "recipient_id": recipient_id,
                "timestamp": time.time(),
                "payload": payload,
            }
        ),
    )


def error_frame(recipient_id: str | None, code: ErrorCode, detail: str, ref_message_id: str | None) -> Frame:
    return hub_frame(ERROR, recipient_id, {"code": str(code), "detail": detail, "ref_message_id": ref_message_id})
