"""The websocket link to the hub: connect, authenticate, reconnect with backoff.

It knows the close codes of PROTOCOL.md: after HTTP 401 and 4400/4401/4409 it stops
(a person must fix something), after 4429 it waits at least 30 s, after anything
else it retries with capped exponential backoff and jitter.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from ..core.text import peer_text
from ..core.wire import FINAL_CLOSE_CODES, RATE_LIMIT_BACKOFF_S, RATE_LIMIT_CLOSE

log = logging.getLogger(__name__)

#: Clients must accept at least the hub's limit (1 MiB) plus 4 KiB of relay overhead.
MAX_INCOMING_BYTES = 1024 * 1024 + 4096
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 15.0
#: A connection must last this long before the backoff starts again from the beginning.
STABLE_JOIN_S = 30.0

#: What each close code means, in the words an operator reads in the status line.
CLOSE_MEANINGS = {
    1000: "closed",
    1001: "hub shutting down",
    1002: "protocol error",
    1006: "connection lost",
    1007: "invalid UTF-8",
    1008: "policy violation",
    1009: "message too big",
    1011: "hub fault",
    1013: "our queue at the hub was full",
    4408: "no HELLO in time",
    4429: "rate limited",
}

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
        self._retry: asyncio.Event | None = None

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
            opened_at: float | None = None
            no_close = False       # never upgraded: there was no close frame to describe
            try:
                async with connect(self.url, additional_headers=headers, compression=None,
                                   max_size=MAX_INCOMING_BYTES, open_timeout=10,
                                   ping_interval=20, ping_timeout=20) as ws:
                    self.ws = ws
                    opened_at = time.monotonic()
                    self._set(CONNECTED)
                    await self._on_open(ws)
                    async for frame in ws:
                        if isinstance(frame, str):
                            self._on_text(frame)
                code, reason = close_cause(ws)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status == 401:
                    self._set(REFUSED, "the hub refused the token (HTTP 401); fix the token and restart")
                    return
                no_close = True
                code, reason = 1006, f"HTTP {status} at the handshake" + (
                    " (the hub is full or this credential is over its connection limit)" if status == 503 else "")
            except InvalidURI as exc:
                self._set(REFUSED, f"bad hub URL: {exc}")
                return
            except ConnectionClosed as exc:
                code, reason = close_cause(self.ws, exc)
            except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
                code, reason, no_close = 1006, unreachable_reason(exc), opened_at is None
            finally:
                if self.ws is not None:
                    self.ws = None
                    self._on_close()
            if self._stopping:
                break
            if code in FINAL_CLOSE_CODES:
                self._set(REFUSED, f"{FINAL_CLOSE_CODES[code]} (close {code}{': ' + reason if reason else ''})")
                return
            # The backoff starts again only after a connection that lasted: a hub that
            # closes us at once (a sync over our size limit, a full queue) is retried
            # ever more slowly instead of in a tight loop.
            if opened_at is not None and time.monotonic() - opened_at >= STABLE_JOIN_S:
                delay = BACKOFF_START_S
            if code == RATE_LIMIT_CLOSE:
                wait = RATE_LIMIT_BACKOFF_S
            else:
                wait = delay * (0.5 + random.random() / 2) + delay / 2
                delay = min(BACKOFF_MAX_S, delay * 2)
            detail = reason if no_close else describe_close(code, reason)
            self._set(RECONNECTING, detail, self._clock() + wait)
            log.info("hub link to %s lost (%s); retrying in %.1f s", self.url, detail, wait)
            await self._wait_before_retry(wait)
        self._set(STOPPED)

    async def _wait_before_retry(self, wait: float) -> None:
        """Sleep out the backoff, or less when ``retry_now`` is called."""
        self._retry = asyncio.Event()
        try:
            await asyncio.wait_for(self._retry.wait(), wait)
        except asyncio.TimeoutError:
            pass
        finally:
            self._retry = None

    def retry_now(self) -> bool:
        """Cut the current backoff short (the operator asked); False when not waiting to retry."""
        if self._retry is None:
            return False
        self._retry.set()
        return True

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


def close_cause(ws: ClientConnection | None, exc: ConnectionClosed | None = None) -> tuple[int, str]:
    """The close code and reason that really ended a connection.

    ``ws.close_code`` is the code the *hub* sent, or 1006 when it sent none; when it was
    our side that closed (a frame over our size limit is closed 1009 by the websocket
    layer), the frame we sent says what happened, and the parser's error its size.
    """
    received = sent = None
    we_closed_first = False
    source = exc if exc is not None else (ws.protocol if ws is not None else None)
    if source is not None:
        received = source.rcvd if exc is not None else source.close_rcvd
        sent = source.sent if exc is not None else source.close_sent
        then = exc.rcvd_then_sent if exc is not None else source.close_rcvd_then_sent
        we_closed_first = sent is not None and (received is None or then is False)
    if we_closed_first and sent.code != 1000:
        return sent.code, sent.reason
    if received is not None:
        return received.code, received.reason
    return 1006, ""


def describe_close(code: int, reason: str) -> str:
    """``close 1009 (message too big: …)`` with the reason cleaned and bounded."""
    meaning = CLOSE_MEANINGS.get(code, "")
    reason = peer_text(reason, 160) if reason else ""
    words = ": ".join(part for part in (meaning, reason) if part)
    return f"close {code}" + (f" ({words})" if words else "")


def unreachable_reason(exc: BaseException) -> str:
    """A short, human reason for a failed connection attempt (no exception dump)."""
    if isinstance(exc, ConnectionRefusedError):
        return "hub unreachable: connection refused"
    if isinstance(exc, asyncio.TimeoutError):
        return "hub unreachable: timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return f"hub unreachable: {exc.strerror.lower()}"
    if isinstance(exc, InvalidHandshake):
        return f"bad handshake: {peer_text(str(exc), 120)}"
    return f"hub unreachable: {type(exc).__name__}"
