"""The websocket link to the hub: connect, authenticate, reconnect with backoff.

It knows the close codes of PROTOCOL.md: after HTTP 401 and 4400/4401/4409 it stops
(a person must fix something), after 4429 it waits at least 30 s, after anything
else it retries with capped exponential backoff and jitter.
"""
from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Awaitable, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from ..core.wire import FINAL_CLOSE_CODES, RATE_LIMIT_BACKOFF_S, RATE_LIMIT_CLOSE

log = logging.getLogger(__name__)

#: Clients must accept at least the hub's limit (1 MiB) plus 4 KiB of relay overhead.
MAX_INCOMING_BYTES = 1024 * 1024 + 4096
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 15.0

CONNECTING = "connecting"
CONNECTED = "connected"
RECONNECTING = "reconnecting"
REFUSED = "refused"
STOPPED = "stopped"


@dataclass(slots=True)
class ConnectionStatus:
    state: str = CONNECTING
    detail: str = ""
    retry_at: float | None = None
    attempts: int = 0

    def describe(self, now: float) -> str:
        if self.state == RECONNECTING and self.retry_at is not None:
            wait = max(0.0, self.retry_at - now)
            return f"reconnecting in {wait:.0f} s" + (f" ({self.detail})" if self.detail else "")
        if self.state == REFUSED:
            return f"refused: {self.detail}"
        return self.state + (f" ({self.detail})" if self.detail and self.state != CONNECTED else "")


class HubLink:
    """Keeps one websocket to the hub open for as long as it is allowed to.

    ``on_open(ws)`` runs after each successful upgrade (send HELLO there),
    ``on_text(text)`` for each text frame, ``on_status(status)`` on every change.
    """

    def __init__(self, url: str, token: str | None, *,
                 on_open: Callable[[ClientConnection], Awaitable[None]],
                 on_text: Callable[[str], None],
                 on_status: Callable[[ConnectionStatus], None],
                 on_close: Callable[[], None],
                 clock: Callable[[], float]) -> None:
        self.url = url
        self.token = token
        self._on_open, self._on_text, self._on_status, self._on_close = on_open, on_text, on_status, on_close
        self._clock = clock
        self.status = ConnectionStatus()
        self.ws: ClientConnection | None = None
        self._stopping = False

    def _set(self, state: str, detail: str = "", retry_at: float | None = None) -> None:
        self.status.state, self.status.detail, self.status.retry_at = state, detail, retry_at
        self._on_status(self.status)

    async def run(self) -> None:
        delay = BACKOFF_START_S
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        while not self._stopping:
            self.status.attempts += 1
            self._set(CONNECTING if self.status.attempts == 1 else RECONNECTING, "connecting…")
            wait: float | None = None
            try:
                async with connect(self.url, additional_headers=headers, compression=None,
                                   max_size=MAX_INCOMING_BYTES, open_timeout=10,
                                   ping_interval=20, ping_timeout=20) as ws:
                    self.ws = ws
                    delay = BACKOFF_START_S
                    self._set(CONNECTED)
                    await self._on_open(ws)
                    async for frame in ws:
                        if isinstance(frame, str):
                            self._on_text(frame)
                code = ws.close_code if ws.close_code is not None else 1006
                reason = ws.close_reason or ""
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status == 401:
                    self._set(REFUSED, "the hub refused the token (HTTP 401); fix the token and restart")
                    return
                code, reason = 1006, f"HTTP {status} at the handshake"
            except InvalidURI as exc:
                self._set(REFUSED, f"bad hub URL: {exc}")
                return
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else 1006
                reason = exc.rcvd.reason if exc.rcvd else ""
            except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
                code, reason = 1006, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            finally:
                if self.ws is not None:
                    self.ws = None
                    self._on_close()
            if self._stopping:
                break
            if code in FINAL_CLOSE_CODES:
                self._set(REFUSED, f"{FINAL_CLOSE_CODES[code]} (close {code}{': ' + reason if reason else ''})")
                return
            if code == RATE_LIMIT_CLOSE:
                wait = RATE_LIMIT_BACKOFF_S
            else:
                wait = delay * (0.5 + random.random() / 2) + delay / 2
                delay = min(BACKOFF_MAX_S, delay * 2)
            detail = f"close {code}" + (f": {reason}" if reason else "")
            self._set(RECONNECTING, detail, self._clock() + wait)
            log.info("hub link to %s lost (%s); retrying in %.1f s", self.url, detail, wait)
            await asyncio.sleep(wait)
        self._set(STOPPED)

    async def send(self, text: str) -> bool:
        ws = self.ws
        if ws is None:
            return False
        try:
            await ws.send(text)
            return True
        except ConnectionClosed:
            return False

    async def stop(self) -> None:
        self._stopping = True
        if self.ws is not None:
            await self.ws.close()
