"""The hub: authentication at the handshake, HELLO, presence, routing and limits.

Embedded use (stable API)::

    from hub.config import HubConfig
    from hub.server import Hub

    async with Hub(HubConfig(port=0, shared_token="dev")) as hub:
        print(hub.url)            # ws://127.0.0.1:PORT/
        ...

or ``hub = await start_hub(config)`` ... ``await hub.close()``.

Delivery: every receiver has its own outbound queue. A frame for a receiver whose
socket is keeping up is written straight to its transport (no task switch); once
its write buffer passes the high-water mark, frames wait in its queue and a drain
task of its own writes them as the socket drains. A full queue closes that receiver
(1013). Nobody else ever waits for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import weakref
from collections import deque
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from . import protocol as p
from .broker import Broker, LocalBroker
from .config import HubConfig
from .metrics import HubMetrics
from .protocol import CloseCode, ErrorCode, Frame, FrameError, HelloError, PeerInfo

log = logging.getLogger("collab_hub")

OPEN = State.OPEN
WRITE_LIMIT = 2**15  # websockets write buffer high-water mark (bytes) per connection
RECV_QUEUE = 16  # frames websockets buffers per connection before it stops reading
FLOOD_EPISODE_GAP_S = 1.0  # a flood episode ends after this long with no refused frame


class Credential:
    """What a presented token may claim: ids bound to it, and/or any unbound id."""

    __slots__ = ("shared", "ids")

    def __init__(self, shared: bool, ids: frozenset[str]) -> None:
        self.shared = shared
        self.ids = ids


class Session:
    """One websocket connection; once joined, also the trainer's mailbox."""

    __slots__ = (
        "hub", "ws", "remote", "credential", "ai_id", "peer", "queue", "drain_task",
        "synced", "closing", "closer", "close_note", "tokens", "refill_at", "flood_started", "last_refused",
        "__weakref__",
    )

    def __init__(self, hub: Hub, ws: ServerConnection, credential: Credential, now: float) -> None:
        self.hub = hub
        self.ws = ws
        addr = ws.remote_address
        self.remote = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) >= 2 else str(addr)
        self.credential = credential
        self.ai_id: str | None = None
        self.peer: PeerInfo | None = None
        self.queue: deque[Frame] = deque()
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
    def put(self, frame: Frame) -> None:
        """Queue a frame for this receiver without ever blocking the caller."""
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
        if len(self.queue) >= self.hub.config.limits.outbound_queue:
            self.hub._too_slow(self)
            return
        self.queue.append(frame)
        if self.synced and self.drain_task is None:
            self.drain_task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        ws, queue, out = self.ws, self.queue, self.hub.metrics.frames_out
        try:
            while queue and not self.closing:
                frame = queue.popleft()
                await ws.send(frame.data, text=True)
                out[frame.type] += 1
        except ConnectionClosed:
            pass
        except Exception:  # pragma: no cover - a bug; close rather than stall
            log.exception("drain failed id=%s peer=%s", self.ai_id, self.remote)
            self.hub._close_session(self, CloseCode.INTERNAL_ERROR, "hub fault")
        finally:
            self.drain_task = None

    def start_delivery(self, first: Frame) -> None:
        """Send ``first`` (TRAINING_SYNC) before anything delivered while joining."""
        pending = list(self.queue)
        self.queue.clear()
        self.synced = True
        self.put(first)
        for frame in pending:
            self.put(frame)


class Hub:
    """A running (or about to run) hub. See the module docstring for usage."""

    def __init__(self, config: HubConfig | None = None, *, broker: Broker | None = None) -> None:
        self.config = config if config is not None else HubConfig()
        self.broker: Broker = broker if broker is not None else _default_broker(self.config)
        self.generated_token = not self.config.has_tokens
        self.shared_token: str | None = secrets.token_urlsafe(24) if self.generated_token else self.config.shared_token
        self._token_digests: list[tuple[bytes, str | None]] = []  # (sha256(token), bound id or None=shared)
        if self.shared_token is not None:
            self._token_digests.append((_digest(self.shared_token), None))
        for ai_id, token in self.config.tokens.items():
            self._token_digests.append((_digest(token), ai_id))
        self._sessions: set[Session] = set()
        self._local: dict[str, Session] = {}
        self._reserved: weakref.WeakSet[ServerConnection] = weakref.WeakSet()
        self._credentials: weakref.WeakKeyDictionary[ServerConnection, Credential] = weakref.WeakKeyDictionary()
        self._closers: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        self._port: int | None = None
        self._unsubscribe = None
        self._shutting_down = False
        self._closed: asyncio.Event | None = None  # created on start (needs a loop)
        self.metrics = HubMetrics(lambda: len(self._sessions), lambda: len(self._local), self.broker.status)

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
            self._handle,
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
        if self._server is None:
            return
        self.begin_shutdown()
        server = self._server
        n_open = sum(1 for s in self._sessions if s.ws.protocol.state is OPEN)
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
        """Trainers joined through this hub process."""
        return list(self._local)

    # Handshake --------------------------------------------------------------------
    def _authenticate(self, header: str | None) -> Credential | None:
        if not header:
            return None
        scheme, _, presented = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        digest = _digest(presented.strip())
        shared = False
        ids: list[str] = []
        # Compare against every configured token, whatever matched: the time taken does
        # not depend on which token (if any) matched, nor on the tokens' lengths.
        for token_digest, ai_id in self._token_digests:
            match = hmac.compare_digest(digest, token_digest)
            if match and ai_id is None:
                shared = True
            elif match:
                ids.append(ai_id)  # type: ignore[arg-type]
        if not shared and not ids:
            return None
        return Credential(shared, frozenset(ids))

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
        remote = _addr(connection)
        if path != "/":
            return self._refuse(connection, HTTPStatus.NOT_FOUND, "not_found", remote, f"no such path {path[:100]!r}; the hub is at /")
        if self._shutting_down:
            return self._refuse(connection, HTTPStatus.SERVICE_UNAVAILABLE, "shutting_down", remote, "the hub is shutting down")
        credential = self._authenticate(request.headers.get("Authorization"))
        if credential is None:
            response = self._refuse(
                connection, HTTPStatus.UNAUTHORIZED, "unauthorized", remote,
                "missing or wrong token: send 'Authorization: Bearer <token>'",
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="collab-hub"'
            return response
        if len(self._reserved) >= self.config.limits.max_connections:
            return self._refuse(
                connection, HTTPStatus.SERVICE_UNAVAILABLE, "max_connections", remote,
                f"the hub is full ({self.config.limits.max_connections} connections)",
            )
        self._reserved.add(connection)
        self._credentials[connection] = credential
        return None

    def _refuse(self, connection: ServerConnection, status: HTTPStatus, reason: str, remote: str, detail: str) -> Response:
        self.metrics.handshakes_refused[reason] += 1
        log.info("refuse peer=%s reason=%s (HTTP %d: %s)", remote, reason, status.value, detail)
        return connection.respond(status, detail + "\n")

    # Connection handler ---------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        credential = self._credentials.pop(ws, None)
        if credential is None:  # pragma: no cover - process_request always sets it
            await ws.close(CloseCode.AUTH_FAILED, "not authenticated")
            return
        loop = asyncio.get_running_loop()
        session = Session(self, ws, credential, loop.time())
        self._sessions.add(session)
        try:
            if await self._await_hello(session, loop):
                await self._serve_joined(session, loop)
        except ConnectionClosed as exc:
            sent = exc.sent
            if sent is not None and sent.code in (CloseCode.MESSAGE_TOO_BIG, CloseCode.INVALID_UTF8) and not exc.rcvd_then_sent:
                self.metrics.closes[int(sent.code)] += 1
                session.close_note = session.close_note or f"closed {sent.code} by the websocket layer ({sent.reason})"
        except Exception:
            log.exception("hub fault on connection id=%s peer=%s; closing it 1011", session.ai_id, session.remote)
            session.close_note = "hub fault"
            self.metrics.closes[int(CloseCode.INTERNAL_ERROR)] += 1
            session.closing = True
            await ws.close(CloseCode.INTERNAL_ERROR, "hub fault")
        finally:
            if session.closer is not None:
                # Let the hub's own close code (4429, 1013, ...) go out before
                # websockets closes the connection on the handler's return.
                await asyncio.shield(session.closer)
            self._reserved.discard(ws)
            self._sessions.discard(session)
            if session.ai_id is not None:
                await self._leave(session)

    def _take_token(self, s: Session, now: float) -> bool:
        limits = self.config.limits
        tokens = s.tokens + (now - s.refill_at) * limits.rate_per_s
        if tokens > limits.rate_burst:
            tokens = limits.rate_burst
        s.refill_at = now
        if tokens >= 1.0:
            s.tokens = tokens - 1.0
            return True
        s.tokens = tokens
        return False

    async def _admit(self, s: Session, message: str | bytes, now: float) -> p.Envelope | None:
        """Decode, count and rate-limit one incoming frame. Returns the envelope, or
        None after answering (or closing, for a flood) when the frame is refused."""
        try:
            env: p.Envelope | None = p.decode_envelope(message)
            error: FrameError | None = None
            self.metrics.frame_in(env.type)  # type: ignore[union-attr]
        except FrameError as exc:
            env, error = None, exc
            self.metrics.frame_in("invalid")
        if not self._take_token(s, now):
            if s.flood_started is None or now - s.last_refused > FLOOD_EPISODE_GAP_S:
                s.flood_started = now
            s.last_refused = now
            if now - s.flood_started >= self.config.limits.flood_close_s:
                self._close_session(
                    s, CloseCode.FLOODING, "rate limit exceeded for too long",
                    note=f"still flooding {now - s.flood_started:.1f} s after the first rate_limited",
                )
                return None
            ref = env.message_id if env is not None else (error.ref_message_id if error else None)
            await self._error(
                s, ErrorCode.RATE_LIMITED,
                f"Over the rate limit ({self.config.limits.rate_per_s:g} frames/s, burst {self.config.limits.rate_burst}); "
                "this frame was dropped.",
                ref,
            )
            return None
        if error is not None:
            await self._error(s, error.code, error.detail, error.ref_message_id)
            return None
        return env

    async def _await_hello(self, s: Session, loop: asyncio.AbstractEventLoop) -> bool:
        ws = s.ws
        deadline = loop.time() + self.config.limits.hello_timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    message = await ws.recv()
                    env = await self._admit(s, message, loop.time())
                    if env is None:
                        if s.closing:
                            return False
                        continue
                    if env.type != p.HELLO:
                        await self._error(s, ErrorCode.NOT_JOINED, "Send HELLO and wait for TRAINING_SYNC first; this frame was dropped.", env.message_id)
                        continue
                    try:
                        hello = p.decode_hello(env)
                        if env.sender_id is not None and env.sender_id != hello.ai_id:
                            await self._error(
                                s, ErrorCode.SPOOFED_SENDER,
                                f"HELLO's sender_id {env.sender_id[:80]!r} is not its ai_id {hello.ai_id!r}; the HELLO was dropped.",
                                env.message_id,
                            )
                            continue
                        cred = s.credential
                        if not (hello.ai_id in cred.ids or (cred.shared and hello.ai_id not in self.config.tokens)):
                            raise HelloError(ErrorCode.AUTH_FAILED, CloseCode.AUTH_FAILED, f"This token may not claim the id {hello.ai_id!r}.")
                        peer = PeerInfo(hello.ai_id, hello.specialization, tuple(hello.capabilities))
                        others = await self.broker.join(peer, s)
                        if others is None:
                            raise HelloError(ErrorCode.DUPLICATE_ID, CloseCode.DUPLICATE_ID, f"The id {hello.ai_id!r} is already joined.")
                    except HelloError as exc:
                        await self._error(s, exc.code, exc.detail, env.message_id)
                        s.close_note = exc.code
                        log.info("refuse peer=%s id=%s reason=%s (%s)", s.remote, _hello_id(env), exc.code, exc.detail)
                        self.metrics.closes[int(exc.close_code)] += 1
                        s.closing = True
                        await ws.close(exc.close_code, str(exc.code))
                        return False
                    break
        except TimeoutError:
            log.info("refuse peer=%s reason=hello_timeout (no HELLO within %g s)", s.remote, self.config.limits.hello_timeout_s)
            s.close_note = "hello_timeout"
            self.metrics.closes[int(CloseCode.HELLO_TIMEOUT)] += 1
            s.closing = True
            await ws.close(CloseCode.HELLO_TIMEOUT, "no HELLO in time")
            return False
        # Joined.
        s.ai_id = peer.ai_id
        s.peer = peer
        self._local[peer.ai_id] = s
        self.metrics.joins += 1
        log.info(
            "join id=%s peer=%s specialization=%r capabilities=%d peers=%d",
            peer.ai_id, s.remote, peer.specialization[:80], len(peer.capabilities), len(others),
        )
        s.start_delivery(
            p.hub_frame(
                p.TRAINING_SYNC,
                peer.ai_id,
                {
                    "active_ais": [o.ai_id for o in others],
                    "collaboration_opportunities": [o.as_dict() for o in others],
                    "global_knowledge_base": {},
                },
            )
        )
        return True

    async def _serve_joined(self, s: Session, loop: asyncio.AbstractEventLoop) -> None:
        ws, broker, ai_id = s.ws, self.broker, s.ai_id
        assert ai_id is not None
        relayed = p.RELAYED_TYPES
        while True:
            message = await ws.recv()
            if s.closing:
                return
            env = await self._admit(s, message, loop.time())
            if env is None:
                if s.closing:
                    return
                continue
            type_ = env.type
            if type_ not in relayed:
                if type_ == p.HELLO:
                    detail = f"HELLO is sent once; this connection already joined as {ai_id!r}. The frame was dropped."
                else:
                    detail = f"Unknown type {type_[:80]!r}: clients send HELLO, COLLABORATION_REQUEST, COLLABORATION_RESPONSE or OS_COMPONENT_SHARE."
                await self._error(s, ErrorCode.UNKNOWN_TYPE, detail, env.message_id)
                continue
            sender = env.sender_id
            if sender is not None and sender != ai_id:
                await self._error(
                    s, ErrorCode.SPOOFED_SENDER,
                    f"sender_id {sender[:80]!r} is not your id {ai_id!r}; the frame was not forwarded.",
                    env.message_id,
                )
                continue
            recipient = env.recipient_id
            if recipient == ai_id:
                await self._error(s, ErrorCode.UNKNOWN_RECIPIENT, "A frame cannot be directed to its own sender; it was dropped.", env.message_id)
                continue
            frame = Frame(type_, p.encode_relay(env, ai_id))
            if recipient is None:
                await broker.broadcast(ai_id, frame)
            elif not await broker.deliver(recipient, frame):
                await self._error(
                    s, ErrorCode.UNKNOWN_RECIPIENT,
                    f"No joined trainer has the id {recipient[:80]!r}; the frame was dropped.",
                    env.message_id,
                )

    async def _error(self, s: Session, code: ErrorCode, detail: str, ref: str | None) -> None:
        self.metrics.errors[code] += 1
        log.debug("error id=%s peer=%s code=%s ref=%s: %s", s.ai_id, s.remote, code, ref, detail)
        frame = p.error_frame(s.ai_id, code, detail, ref)
        if s.synced:
            s.put(frame)
        else:  # before joining, only the handler writes to this connection
            await s.ws.send(frame.data, text=True)
            self.metrics.frames_out[frame.type] += 1

    # Presence -------------------------------------------------------------------------
    def peer_joined(self, peer: PeerInfo) -> None:
        info = peer.as_dict()
        for ai_id, s in list(self._local.items()):
            if ai_id != peer.ai_id:
                s.put(p.hub_frame(p.PEER_JOINED, ai_id, info))

    def peer_left(self, ai_id: str) -> None:
        for other_id, s in list(self._local.items()):
            if other_id != ai_id:
                s.put(p.hub_frame(p.PEER_LEFT, other_id, {"ai_id": ai_id}))

    async def _leave(self, s: Session) -> None:
        ai_id = s.ai_id
        if ai_id is None or self._local.get(ai_id) is not s:
            return
        del self._local[ai_id]
        self.metrics.leaves += 1
        ws = s.ws
        reason = s.close_note or _close_description(ws)
        log.info("leave id=%s peer=%s reason=%s", ai_id, s.remote, reason)
        await self.broker.leave(ai_id, s)

    def claim_lost(self, ai_id: str, mailbox: object) -> None:
        """The broker found ``ai_id`` joined through another hub (claimed there while
        this hub could not reach the shared store): that claim wins."""
        s = self._local.get(ai_id)
        if s is None or s is not mailbox:
            return
        s.put(p.error_frame(ai_id, ErrorCode.DUPLICATE_ID, f"The id {ai_id!r} is already joined through another hub.", None))
        self._close_session(s, CloseCode.DUPLICATE_ID, str(ErrorCode.DUPLICATE_ID), note="duplicate_id: id claimed through another hub")

    def _too_slow(self, s: Session) -> None:
        self.metrics.slow_receivers_disconnected += 1
        self._close_session(
            s, CloseCode.TRY_AGAIN_LATER, "outbound queue full",
            note=f"slow receiver: outbound queue full ({self.config.limits.outbound_queue} frames)",
        )

    def _close_session(self, s: Session, code: CloseCode, reason: str, note: str | None = None) -> None:
        """Close a connection from anywhere without blocking the caller. A joined
        trainer leaves at once, so nobody routes to it while the close completes."""
        if s.closing:
            return
        s.closing = True
        s.queue.clear()
        s.close_note = note or reason
        self.metrics.closes[int(code)] += 1
        log.info("refuse id=%s peer=%s reason=%s (close %d)", s.ai_id or "-", s.remote, s.close_note, int(code))

        async def close() -> None:
            if s.ai_id is not None:
                await self._leave(s)
            await s.ws.close(code, reason)

        task = asyncio.get_running_loop().create_task(close())
        s.closer = task
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)


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


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def _addr(connection: ServerConnection) -> str:
    try:
        addr = connection.remote_address
    except Exception:  # pragma: no cover
        return "?"
    if isinstance(addr, tuple) and len(addr) >= 2:
        return f"{addr[0]}:{addr[1]}"
    return str(addr)


def _hello_id(env: p.Envelope) -> str:
    try:
        hello = p._any_decoder.decode(env.payload)
        ai_id = hello.get("ai_id") if isinstance(hello, dict) else None
        return repr(ai_id)[:80] if ai_id is not None else "-"
    except Exception:
        return "-"


def _close_description(ws: ServerConnection) -> str:
    proto = ws.protocol
    rcvd, sent = proto.close_rcvd, proto.close_sent
    if rcvd is not None and (sent is None or proto.close_rcvd_then_sent):
        return f"closed by client code={rcvd.code}" + (f" ({rcvd.reason})" if rcvd.reason else "")
    if sent is not None:
        return f"closed by hub code={sent.code}" + (f" ({sent.reason})" if sent.reason else "")
    return "connection lost (1006)"
