"""A test client written from PROTOCOL.md: a real websockets connection plus JSON helpers.

- ``Trainer``: ``await trainer.join("alice")`` sends HELLO and returns the
  TRAINING_SYNC; ``expect``, ``until``, ``expect_error``, ``closed``.
- ``connect_to(target, token=SHARED)``: a Trainer on a Hub, a ``servers.Network`` (the
  next hub of it in turn) or a ``ws://`` URL.
- ``hello_raw(url, payload)``: one HELLO as is, by plain websockets + json.
- ``envelope``, ``hello_payload``, ``eventually`` (poll with a deadline, no sleeps).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from collab_hub.server import Hub

SHARED = "shared-token-for-tests"
BOUND_TOKEN = "bound-token-for-tests"
RECV_TIMEOUT = 5.0


def envelope(type_: str, payload: dict[str, Any] | None = None, recipient_id: str | None = None, **fields: Any) -> dict[str, Any]:
    frame = {
        "type": type_,
        "message_id": uuid.uuid4().hex,
        "recipient_id": recipient_id,
        "timestamp": time.time(),
        "payload": {} if payload is None else payload,
    }
    frame.update(fields)
    return frame


def hello_payload(ai_id: str, specialization: str = "kernels", capabilities: list[str] | None = None, **over: Any) -> dict[str, Any]:
    payload = {"ai_id": ai_id, "specialization": specialization, "capabilities": capabilities or ["scheduling"], "protocol_version": 1}
    payload.update(over)
    return payload


class Trainer:
    """A test client: real websockets connection plus JSON helpers."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ai_id: str | None = None

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def send_env(self, type_: str, payload: dict[str, Any] | None = None, recipient_id: str | None = None, **fields: Any) -> dict[str, Any]:
        frame = envelope(type_, payload, recipient_id, **fields)
        await self.send(frame)
        return frame

    async def recv(self, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            raw = await self.ws.recv()
        assert isinstance(raw, str), "the hub sends text frames only"
        return json.loads(raw)

    async def expect(self, type_: str, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
        frame = await self.recv(timeout)
        assert frame["type"] == type_, f"expected {type_}, got {frame}"
        return frame

    async def until(self, type_: str, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
        """Skip frames of other types until one of ``type_`` arrives."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if frame["type"] == type_:
                    return frame

    async def expect_error(self, code: str, ref: str | None = None, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
        frame = await self.expect("ERROR", timeout)
        assert frame["payload"]["code"] == code, frame
        assert isinstance(frame["payload"]["detail"], str) and frame["payload"]["detail"]
        if ref is not None:
            assert frame["payload"]["ref_message_id"] == ref, frame
        return frame

    async def join(self, ai_id: str, **hello: Any) -> dict[str, Any]:
        await self.send_env("HELLO", hello_payload(ai_id, **hello))
        self.ai_id = ai_id
        return await self.expect("TRAINING_SYNC")

    async def closed(self, timeout: float = RECV_TIMEOUT) -> int | None:
        """Read until the hub closes the connection; return the close code received."""
        async with asyncio.timeout(timeout):
            try:
                while True:
                    await self.ws.recv()
            except ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd is not None else None

    async def close(self) -> None:
        await self.ws.close()


async def connect_to(target: Any, token: str | None = SHARED, **kwargs: Any) -> Trainer:
    """A Trainer connected to ``target``: a Hub, anything with ``pick()`` (a Network:
    its next hub), or a URL."""
    if hasattr(target, "pick"):
        target = target.pick()
    url = target.url if isinstance(target, Hub) else target
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    kwargs.setdefault("open_timeout", 5)
    kwargs.setdefault("close_timeout", 2)
    kwargs.setdefault("max_size", 2**21)
    ws = await ws_connect(url, additional_headers=headers, compression=None, **kwargs)
    return Trainer(ws)


async def hello_raw(url: str, payload: object, token: str = SHARED) -> tuple[dict, int | None]:
    """Connect, send one HELLO with ``payload`` as is; return (first frame, close code)."""
    frame = {"type": "HELLO", "message_id": uuid.uuid4().hex, "recipient_id": None, "timestamp": time.time(), "payload": payload}
    async with ws_connect(url, additional_headers={"Authorization": f"Bearer {token}"}, compression=None,
                          max_size=2**20 + 4096, open_timeout=5) as ws:
        await ws.send(json.dumps(frame))
        async with asyncio.timeout(5):
            first = json.loads(await ws.recv())
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
    return first, code


async def eventually(predicate, timeout: float = 5.0, interval: float = 0.01, message: str = "condition") -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(interval)
