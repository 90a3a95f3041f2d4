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
REPUTATION_QUERY = "REPUTATION_QUERY"
REPUTATION_REPORT = "REPUTATION_REPORT"

#: Types a joined client may have relayed to other trainers.
RELAYED_TYPES = frozenset(
    {COLLABORATION_REQUEST, COLLABORATION_RESPONSE, OS_COMPONENT_SHARE, REPUTATION_QUERY, REPUTATION_REPORT}
)
#: Types a client may send. Anything else is ``unknown_type``.
CLIENT_TYPES = RELAYED_TYPES | {HELLO}
#: Types only the hub sends.
HUB_TYPES = frozenset({TRAINING_SYNC, PEER_JOINED, PEER_LEFT, ERROR})

AI_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: Ids nobody may join with (compared case-insensitively): the hub's own sender id.
RESERVED_IDS = frozenset({HUB_SENDER_ID})
MAX_CAPABILITIES = 32
#: No frame the hub itself writes (sender_id "hub") is larger than this.
MAX_HUB_FRAME_BYTES = 256 * 1024
MAX_DETAIL_CHARS = 1024  # an ERROR's detail is cut to this many characters
MAX_REF_CHARS = 256  # an ERROR's ref_message_id is cut to this many characters


def fold(ai_id: str) -> str:
    """The key an id is compared by: ids are case-insensitive (``Alice`` is ``alice``).

    Ids are ASCII (``AI_ID_RE``); a non-ASCII string (an unchecked ``recipient_id``)
    is left as it is, so Unicode case rules (the Kelvin sign lowers to ``k``) can
    never make it equal to a real id.
    """
    return ai_id.lower() if ai_id.isascii() else ai_id


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
    PROTOCOL_ERROR = 1002  # closed by the websocket layer (a frame that breaks RFC 6455)
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


def _bad_hello(detail: str) -> HelloError:
    return HelloError(ErrorCode.BAD_HELLO, CloseCode.BAD_HELLO, detail)


def _token_ok(value: str) -> bool:
    return AI_ID_RE.fullmatch(value) is not None


def decode_hello(env: Envelope) -> Hello:
    """Check a HELLO's payload, in PROTOCOL.md's order: payload shape, ai_id
    (charset, length, reserved), specialization, capabilities, protocol_version.
    Raises HelloError (bad_hello, 4400)."""
    try:
        hello = _hello_decoder.decode(env.payload)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _bad_hello(
            "HELLO payload must be {ai_id, specialization, capabilities: [string], protocol_version: 1}: " f"{str(exc)[:200]}."
        ) from None
    if not _token_ok(hello.ai_id):
        raise _bad_hello(f"ai_id {hello.ai_id[:80]!r} must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'.")
    if fold(hello.ai_id) in RESERVED_IDS:
        raise _bad_hello(f"ai_id {hello.ai_id!r} is reserved (ids are compared case-insensitively).")
    if not _token_ok(hello.specialization):
        raise _bad_hello(
            f"specialization {hello.specialization[:80]!r} (length {len(hello.specialization)}) "
            "must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'."
        )
    caps = hello.capabilities
    if len(caps) > MAX_CAPABILITIES:
        raise _bad_hello(f"capabilities has {len(caps)} entries; at most {MAX_CAPABILITIES} are allowed.")
    for i, cap in enumerate(caps):
        if not _token_ok(cap):
            raise _bad_hello(f"capabilities[{i}] {cap[:80]!r} (length {len(cap)}) must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'.")
    if hello.protocol_version != PROTOCOL_VERSION:
        raise _bad_hello(f"protocol_version {hello.protocol_version} is not supported; this hub speaks version {PROTOCOL_VERSION}.")
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
    """An ERROR, bounded: detail and ref_message_id are cut so that the frame stays
    far below MAX_HUB_FRAME_BYTES whatever the offending frame carried."""
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 1] + "\u2026"
    if ref_message_id is not None and len(ref_message_id) > MAX_REF_CHARS:
        ref_message_id = ref_message_id[:MAX_REF_CHARS]
    return hub_frame(ERROR, recipient_id, {"code": str(code), "detail": detail, "ref_message_id": ref_message_id})


def training_sync_frames(recipient_id: str, others: list[PeerInfo], limit: int = MAX_HUB_FRAME_BYTES) -> list[Frame]:
    """TRAINING_SYNC for a newcomer, split so that no frame exceeds ``limit`` bytes:
    each frame carries part of both lists, ``more: true`` on all but the last, and
    ``global_knowledge_base`` in the first. A client takes the union."""
    frames: list[Frame] = []
    ids: list[str] = []
    opportunities: list[dict[str, Any]] = []

    def emit(more: bool) -> None:
        payload: dict[str, Any] = {"active_ais": ids, "collaboration_opportunities": opportunities}
        if not frames:
            payload["global_knowledge_base"] = {}
        payload["more"] = more
        frames.append(hub_frame(TRAINING_SYNC, recipient_id, payload))

    # The frame without any trainer, plus room for the longest possible recipient id,
    # the digits of a timestamp and ``"more":false`` vs ``true``.
    base = len(hub_frame(TRAINING_SYNC, recipient_id, {"active_ais": [], "collaboration_opportunities": [],
                                                     "global_knowledge_base": {}, "more": False}).data) + 64
    budget = limit - base
    used = 0
    for peer in others:
        info = peer.as_dict()
        # An entry in both lists, each followed by at most one comma.
        cost = len(encode(peer.ai_id)) + len(encode(info)) + 2
        if ids and used + cost > budget:
            emit(True)
            ids, opportunities, used = [], [], 0
        ids.append(peer.ai_id)
        opportunities.append(info)
        used += cost
    emit(False)
    return frames
