"""What hubs sharing a Redis write on its channels, and how they read it back.

- Frame batches (``PREFIX:broadcast``, ``PREFIX:hub:HUB``): ``HUB\\n`` (the publishing
  hub's id), then records ``!HBI`` (len(id), len(type), len(data)) + id + type + data,
  where id is the folded recipient (directed) or sender (broadcast). One PUBLISH
  carries at most about ``max_bytes`` of records.
- Presence (``PREFIX:presence``, published by the Lua scripts): ``SEQ|J|HUB|info-json``,
  ``SEQ|L|HUB|id`` and ``SEQ|S|HUB|id,id,...``.
- PeerInfo as JSON (msgspec), in ``PREFIX:info`` and in join events.
"""

from __future__ import annotations

import struct
from typing import Iterable, Iterator

import msgspec

from .protocol import Frame, PeerInfo

_RECORD = struct.Struct("!HBI")  # len(id), len(type), len(data)

encode_peer = msgspec.json.Encoder().encode
decode_peer = msgspec.json.Decoder(PeerInfo).decode


def pack(name: str, frame: Frame) -> bytes:
    """One record: ``name`` (a folded id) and the frame's type and bytes."""
    n, t = name.encode(), frame.type.encode()
    return _RECORD.pack(len(n), len(t), len(frame.data)) + n + t + frame.data


def batches(hub_id: str, records: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    """The messages to publish for ``records``: a header each, about ``max_bytes`` at most."""
    header = hub_id.encode() + b"\n"
    chunk: list[bytes] = []
    size = 0
    for rec in records:
        chunk.append(rec)
        size += len(rec)
        if size >= max_bytes:
            yield header + b"".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield header + b"".join(chunk)


def batch_sender(data: bytes) -> tuple[str, int]:
    """The id of the hub that published a batch, and where its records start."""
    nl = data.index(b"\n")
    return data[:nl].decode(), nl + 1


def unpack(data: bytes, start: int) -> Iterator[tuple[str, Frame]]:
    """Yield (name, Frame) records from a published batch."""
    view, size, end = memoryview(data), _RECORD.size, len(data)
    i = start
    while i < end:
        ln, lt, ld = _RECORD.unpack_from(view, i)
        i += size
        name = bytes(view[i:i + ln]).decode()
        i += ln
        type_ = bytes(view[i:i + lt]).decode()
        i += lt
        yield name, Frame(type_, bytes(view[i:i + ld]))
        i += ld


def presence_event(data: bytes) -> tuple[int, str, str, str]:
    """(seq, kind J/L/S, hub id, rest) of a presence message."""
    seq, kind, owner, rest = data.decode().split("|", 3)
    return int(seq), kind, owner, rest
