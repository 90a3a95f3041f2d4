"""The hub: authentication at the handshake, HELLO, presence, routing and limits.

Embedded use (stable API)::

    from collab_hub.config import HubConfig
    from collab_hub.server import Hub

    async with Hub(HubConfig(port=0, shared_token="dev")) as hub:
        print(hub.url)            # ws://127.0.0.1:PORT/
        ...

or ``hub = await start_hub(config)`` ... ``await hub.close()``.

The Hub owns the lifecycle (start, graceful close with 1001), /healthz and /metrics,
presence (PEER_JOINED / PEER_LEFT to local trainers), closing a connection from
anywhere, and the hub-wide budget of outbound queues: when all queues together would
pass ``limits.queues_total_bytes``, the receiver with the largest queue is closed
1013 (it is the one furthest behind), and after a large queue is dropped the freed
memory goes back to the OS (``collab_hub.memory``). The rest lives in:

- ``admission``: tokens and connection limits, before the upgrade; refusal logging;
- ``handler``: one connection's protocol, HELLO to close, and relaying;
- ``session``: one connection's outbound queue (the trainer's mailbox) and rate limit;
- ``broker`` / ``redis_broker``: presence and routing (one hub, or many on Redis).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from . import protocol as p
from .admission import Admission, RefusalLog
from .broker import Broker, LocalBroker
from .config import HubConfig
from .handler import Handler
from .memory import release_free_memory
from .metrics import HubMetrics
from .protocol import CloseCode, ErrorCode, PeerInfo, fold
from .session import OPEN, TRIM_AFTER_BYTES, WRITE_LIMIT, Session

log = logging.getLogger("collab_hub")

RECV_QUEUE = 16  # frames websockets buffers per connection before it stops reading
TRIM_MIN_INTERVAL_S = 1.0  # at most one malloc_trim per this long


class Hub:
    """A running (or about to run) hub. See the module docstring for usage."""

    def __init__(self, config: HubConfig | None = None, *, broker: Broker | None = None) -> None:
        self.config = config if config is not None else HubConfig()
        self.broker: Broker = broker if broker is not None else _default_broker(self.config)
        self.generated_token = not self.config.has_tokens
        self.shared_token: str | None = secrets.token_urlsafe(24) if self.generated_token else self.config.shared_token
        self.sessions: set[Session] = set()
        self.local: dict[str, Session] = {}  # folded id -> session
        self.queued_bytes = 0  # bytes in every receiver's outbound queue together
        self.queued: set[Session] = set()  # sessions with a non-empty queue
        self._trim_handle: asyncio.TimerHandle | None = None
        self._last_trim = 0.0
        self._closers: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        self._port: int | None = None
        self._unsubscribe = None
        self._shutting_down = False
        self._closed: asyncio.Event | None = None  # created on start (needs a loop)
        self.metrics = HubMetrics(
            lambda: len(self.sessions), lambda: len(self.local), self.broker.status, lambda: self.queued_bytes,
        )
        self.refusals = RefusalLog(self.config.limits.refusal_log_interval_s)
        self.admission = Admission(self.config, self.shared_token, self.metrics, self.refusals)
        self._handler = Handler(self)

    # Lifecycle --------------------------------------------------------------------
    async def start(self) -> Hub:
        if self._server is not None:
            return self
        self._closed = asyncio.Event()
        self._unsubscribe = self.broker.subscribe(self)
        await self.broker.start()
        try:
            self._server = await self._serve()
        except BaseException:
            self._unsubscribe()
            self._unsubscribe = None
            await self.broker.close()
            raise
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("listening on %s (broker: %s)", self.url, self.broker.describe())
        return self

    async def _serve(self) -> Server:
        limits = self.config.limits
        return await serve(
            self._handler.handle,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            compression=None,
            max_size=limits.max_message_bytes,
            max_queue=RECV_QUEUE,
            write_limit=WRITE_LIMIT,
            ping_interval=limits.ping_interval_s or None,
            ping_timeout=limits.ping_interval_s or None,
            close_timeout=limits.close_timeout_s,
            server_header="collab-hub",
            logger=logging.getLogger("collab_hub.websockets"),
        )

    def begin_shutdown(self) -> None:
        """Stop accepting: /healthz answers 503 and new handshakes get 503. Existing
        connections stay until close()."""
        self._shutting_down = True

    async def close(self) -> None:
        """Graceful shutdown: stop accepting, close every connection with 1001 and
        wait for every handler to finish (bounded by limits.close_timeout_s)."""
        if self._server is None or (self._closed is not None and self._closed.is_set()):
            return
        self.begin_shutdown()
        server = self._server
        n_open = sum(1 for s in self.sessions if s.ws.protocol.state is OPEN)
        if n_open:
            self.metrics.closes[int(CloseCode.GOING_AWAY)] += n_open
        server.close(code=CloseCode.GOING_AWAY, reason="hub shutting down")
        await server.wait_closed()
        if self._closers:
            await asyncio.gather(*self._closers, return_exceptions=True)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.broker.close()
        self.refusals.close()
        if self._trim_handle is not None:
            self._trim_handle.cancel()
            self._trim_handle = None
        assert self._closed is not None
        self._closed.set()
        log.info("hub stopped")

    async def wait_closed(self) -> None:
        if self._closed is not None:
            await self._closed.wait()

    async def __aenter__(self) -> Hub:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the hub is not started")
        return self._port

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def url(self) -> str:
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"ws://{host}:{self.port}/"

    @property
    def http_url(self) -> str:
        return "http" + self.url[2:]

    def joined_ids(self) -> list[str]:
        """Trainers joined through this hub process (as they joined)."""
        return [s.ai_id for s in self.local.values() if s.ai_id is not None]

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            if self._shutting_down:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "shutting down\n")
            return connection.respond(HTTPStatus.OK, "ok\n")
        if path == "/metrics":
            response = connection.respond(HTTPStatus.OK, self.metrics.render())
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        return self.admission.check(connection, request, path, self._shutting_down)

    # Presence -------------------------------------------------------------------------
    def peer_joined(self, peer: PeerInfo) -> None:
        info = peer.as_dict()
        key = fold(peer.ai_id)
        for other_key, s in list(self.local.items()):
            if other_key != key:
                s.put(p.hub_frame(p.PEER_JOINED, s.ai_id, info))

    def peer_left(self, ai_id: str) -> None:
        key = fold(ai_id)
        for other_key, s in list(self.local.items()):
            if other_key != key:
                s.put(p.hub_frame(p.PEER_LEFT, s.ai_id, {"ai_id": ai_id}))

    async def leave(self, s: Session) -> None:
        ai_id = s.ai_id
        if ai_id is None or self.local.get(fold(ai_id)) is not s:
            return
        del self.local[fold(ai_id)]
        self.metrics.leaves += 1
        ws = s.ws
        reason = s.close_note or _close_description(ws)
        log.info("leave id=%s peer=%s reason=%s", ai_id, s.remote, reason)
        await self.broker.leave(ai_id, s)

    def claim_lost(self, ai_id: str, mailbox: object) -> None:
        """The broker found ``ai_id`` joined through another hub (claimed there while
        this hub could not reach the shared store): that claim wins."""
        s = self.local.get(fold(ai_id))
        if s is None or s is not mailbox:
            return
        s.put(p.error_frame(ai_id, ErrorCode.DUPLICATE_ID, f"The id {ai_id!r} is already joined through another hub.", None))
        self.close_session(s, CloseCode.DUPLICATE_ID, str(ErrorCode.DUPLICATE_ID), note="duplicate_id: id claimed through another hub")

    def too_slow(self, s: Session, why: str) -> None:
        self.metrics.slow_receivers_disconnected += 1
        self.close_session(s, CloseCode.TRY_AGAIN_LATER, "outbound queue full", note=f"slow receiver: {why}")

    def make_room(self, size: int, requester: Session) -> bool:
        """All queues together would pass ``limits.queues_total_bytes``: close the
        receivers with the largest queues (the ones furthest behind) until ``size``
        more bytes fit. False if ``requester`` itself was closed."""
        budget = self.config.limits.queues_total_bytes
        while self.queued_bytes + size > budget:
            victim = max(self.queued, key=lambda q: q.queue_bytes, default=None)
            if victim is None or victim is requester or victim.queue_bytes <= requester.queue_bytes:
                victim = requester
            self.metrics.queue_budget_closes += 1
            self.too_slow(victim, f"the hub's queues together are over {budget} bytes and this queue was the largest ({victim.queue_bytes} bytes)")
            if victim is requester:
                return False
        return True

    def close_session(self, s: Session, code: CloseCode, reason: str, note: str | None = None) -> None:
        """Close a connection from anywhere without blocking the caller. A joined
        trainer leaves at once, so nobody routes to it while the close completes."""
        if s.closing:
            return
        s.closing = True
        dropped = s.drop_queue()
        s.close_note = note or reason
        self.metrics.closes[int(code)] += 1
        log.info("refuse id=%s peer=%s reason=%s (close %d)", s.ai_id or "-", s.remote, s.close_note, int(code))

        async def close() -> None:
            if s.ai_id is not None:
                await self.leave(s)
            await s.ws.close(code, reason)
            if dropped >= TRIM_AFTER_BYTES:  # its transport's buffer is gone too now
                self.schedule_trim()

        if dropped >= TRIM_AFTER_BYTES:
            self.schedule_trim()

        task = asyncio.get_running_loop().create_task(close())
        s.closer = task
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)


    def schedule_trim(self) -> None:
        """Give freed memory back to the OS soon (at most once per TRIM_MIN_INTERVAL_S)."""
        if self._trim_handle is not None or self._closed is None or self._closed.is_set():
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last_trim + TRIM_MIN_INTERVAL_S - loop.time())
        self._trim_handle = loop.call_later(delay, self._trim)

    def _trim(self) -> None:
        self._trim_handle = None
        self._last_trim = asyncio.get_running_loop().time()
        if release_free_memory():
            self.metrics.memory_trims += 1


async def start_hub(config: HubConfig | None = None, *, broker: Broker | None = None) -> Hub:
    """Start a hub in the running event loop; stop it with ``await hub.close()``."""
    return await Hub(config, broker=broker).start()


def _default_broker(config: HubConfig) -> Broker:
    """The in-process broker, or a RedisBroker when ``[broker] url`` is set."""
    settings = config.broker
    if settings.url is None:
        return LocalBroker()
    from .redis_broker import RedisBroker  # redis is imported only when used

    return RedisBroker(settings.url, prefix=settings.prefix, presence_ttl_s=settings.presence_ttl_s, retry_max_s=settings.retry_max_s)


def _close_description(ws: ServerConnection) -> str:
    proto = ws.protocol
    rcvd, sent = proto.close_rcvd, proto.close_sent
    if rcvd is not None and (sent is None or proto.close_rcvd_then_sent):
        return f"closed by client code={rcvd.code}" + (f" ({rcvd.reason})" if rcvd.reason else "")
    if sent is not None:
        return f"closed by hub code={sent.code}" + (f" ({sent.reason})" if sent.reason else "")
    return "connection lost (1006)"
