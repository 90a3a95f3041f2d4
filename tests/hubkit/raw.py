"""A hostile client written from PROTOCOL.md alone: plain websockets + json, no Trainer.

``open_ws``, ``frame``, ``recv_json`` (frame and its size), ``join`` (every
TRAINING_SYNC frame until ``more`` is false), ``close_code``, ``caps`` (32
capabilities of 64 characters).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from .client import SHARED, hello_payload

CLIENT_MAX = 2**20 + 4096  # PROTOCOL.md: clients accept at least the limit + 4 KiB
HUB_FRAME_MAX = 256 * 1024


def frame(type_: str, payload: dict, recipient_id: str | None = None) -> str:
    return json.dumps({"type": type_, "message_id": uuid.uuid4().hex, "recipient_id": recipient_id,
                       "timestamp": time.time(), "payload": payload})


async def open_ws(url: str, token: str = SHARED, **kw):
    kw.setdefault("max_size", CLIENT_MAX)
    kw.setdefault("open_timeout", 10)
    return await ws_connect(url, additional_headers={"Authorization": f"Bearer {token}"}, compression=None,
                            close_timeout=1, **kw)


async def recv_json(ws, timeout: float = 10.0) -> tuple[dict, int]:
    async with asyncio.timeout(timeout):
        raw = await ws.recv()
    return json.loads(raw), len(raw.encode() if isinstance(raw, str) else raw)


async def join(url: str, ai_id: str, token: str = SHARED, **hello) -> tuple[object, list[dict]]:
    """Join; return the connection and every TRAINING_SYNC frame (until more is false)."""
    ws = await open_ws(url, token)
    await ws.send(frame("HELLO", hello_payload(ai_id, **hello)))
    syncs = []
    while True:
        got, _ = await recv_json(ws)
        assert got["type"] == "TRAINING_SYNC", got
        syncs.append(got)
        if not got["payload"].get("more", False):
            return ws, syncs


async def close_code(ws, timeout: float = 10.0) -> int | None:
    async with asyncio.timeout(timeout):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None


def caps() -> list[str]:
    return [f"cap{i:02d}-" + "z" * 58 for i in range(32)]  # 32 capabilities of 64 characters
