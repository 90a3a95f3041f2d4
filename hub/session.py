"""One connection's state: its outbound queue (it is the trainer's mailbox once
joined) and its rate-limit bucket.

Delivery: a frame for a receiver whose socket is keeping up is written straight to
its transport (no task switch); once its write buffer passes the high-water mark,
frames wait in its queue and a drain task of its own writes them as the socket
drains. A queue is bounded in frames (``limits.outbound_queue``) and in bytes
(``limits.outbound_queue_bytes``), and all queues together by
``limits.queues_total_bytes`` (the hub keeps that budget: ``Hub.make_room``). Nobody
else ever waits for a slow receiver.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from .admission import Credential
from .config import HubConfig, Limits
from .metrics import HubMetrics
from .protocol import CloseCode, Frame, PeerInfo

log = logging.getLogger("collab_hub")

OPEN = State.OPEN
WRITE_LIMIT = 2**15  # websockets write buffer high-water mark (bytes) per connection
TRIM_AFTER_BYTES = 1 << 20  # dropping at least this many queued bytes returns free memory to the OS


class QueueOwner(Protocol):
    """What a Session needs from its hub (``server.Hub``): the hub-wide queue budget,
    closing, counters."""

    config: HubConfig
    metrics: HubMetrics
    queued_bytes: int
    queued: set[Session]

    def too_slow(self, s: Session, why: str) -> None: ...

    def make_room(self, size: int, requester: Session) -> bool: ...

    def close_session(self, s: Session, code: CloseCode, reason: str, note: str | None = None) -> None: ...


class Session:
    """One websocket connection; once joined, also the trainer's mailbox."""

    __slots__ = (
        "hub", "ws", "remote", "credential", "ai_id", "peer", "queue", "queue_bytes", "drain_task",
        "synced", "closing", "closer", "close_note", "tokens", "refill_at", "flood_started", "last_refused",
        "__weakref__",
    )

    def __init__(self, hub: QueueOwner, ws: ServerConnection, credential: Credential, now: float) -> None:
        self.hub = hub
        self.ws = ws
        addr = ws.remote_address
        self.remote = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) >= 2 else str(addr)
        self.credential = credential
        self.ai_id: str | None = None
        self.peer: PeerInfo | None = None
        self.queue: deque[Frame] = deque()
        self.queue_bytes = 0  # bytes of the frames in queue
        self.drain_task: asyncio.Task[None] | None = None
        self.synced = False  # TRAINING_SYNC is out: frames may be written directly
        self.closing = False
        self.closer: asyncio.Task[None] | None = None
        self.close_note: str | None = None
        self.tokens = float(hub.config.limits.rate_burst)
        self.refill_at = now
        self.flood_started: float | None = None
        self.last_refused = 0.0

    # Mailbox protocol -------------------------------------------------------------
    def put(self, frame: Frame, *, admit: bool = False) -> None:
        """Queue a frame for this receiver without ever blocking the caller.

        ``admit``: the frame is queued whatever the bounds (TRAINING_SYNC, whose size
        is set by the network, not by this receiver); it still counts toward them."""
        if self.closing:
            return
        ws = self.ws
        if self.synced and self.drain_task is None and not self.queue:
            if ws.protocol.state is not OPEN or ws.transport.is_closing():
                return
            if ws.transport.get_write_buffer_size() <= WRITE_LIMIT:
                # Fast path: the socket keeps up; write now (as websockets.broadcast does).
                try:
                    ws.protocol.send_text(frame.data)
                    ws.send_data()
                except Exception:  # the connection is going away; its handler cleans up
                    return
                self.hub.metrics.frames_out[frame.type] += 1
                return
        hub = self.hub
        size = len(frame.data)
        if not admit:
            limits = hub.config.limits
            if len(self.queue) >= limits.outbound_queue:
                hub.too_slow(self, f"outbound queue full ({limits.outbound_queue} frames)")
                return
            if self.queue_bytes + size > limits.outbound_queue_bytes:
                hub.too_slow(self, f"outbound queue full ({self.queue_bytes + size} bytes > {limits.outbound_queue_bytes})")
                return
            if hub.queued_bytes + size > limits.queues_total_bytes and not hub.make_room(size, self):
                return
        self.queue.append(frame)
        self.queue_bytes += size
        hub.queued_bytes += size
        hub.queued.add(self)
        if self.synced and self.drain_task is None:
            self.drain_task = asyncio.get_running_loop().create_task(self._drain())

    def drop_queue(self) -> int:
        """Forget every queued frame; returns how many bytes that was."""
        dropped = self.queue_bytes
        self.queue.clear()
        self.queue_bytes = 0
        self.hub.queued_bytes -= dropped
        self.hub.queued.discard(self)
        return dropped

    async def _drain(self) -> None:
        ws, queue, out, hub = self.ws, self.queue, self.hub.metrics.frames_out, self.hub
        try:
            while queue and not self.closing:
                frame = queue.popleft()
                size = len(frame.data)
                self.queue_bytes -= size
                hub.queued_bytes -= size
                await ws.send(frame.data, text=True)
                out[frame.type] += 1
        except ConnectionClosed:
            pass
        except Exception:  # pragma: no cover - a bug; close rather than stall
            log.exception("drain failed id=%s peer=%s", self.ai_id, self.remote)
            self.hub.close_session(self, CloseCode.INTERNAL_ERROR, "hub fault")
        finally:
            self.drain_task = None
            if not queue:
                hub.queued.discard(self)

    def take_token(self, now: float, limits: Limits) -> bool:
        """Rate limit: one token per frame from a bucket of ``limits.rate_burst``,
        refilled at ``limits.rate_per_s``."""
        tokens = self.tokens + (now - self.refill_at) * limits.rate_per_s
        if tokens > limits.rate_burst:
            tokens = limits.rate_burst
        self.refill_at = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False

    def start_delivery(self, first: list[Frame]) -> None:
        """Send ``first`` (the TRAINING_SYNC frames, in a row) before anything
        delivered while joining."""
        pending = list(self.queue)
        self.drop_queue()
        self.synced = True
        for frame in first:
            self.put(frame, admit=True)
        for frame in pending:
            self.put(frame)
