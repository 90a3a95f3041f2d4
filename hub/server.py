"""The hub: authentication at the handshake, HELLO, presence, routing and limits.

Embedded use (stable API)::

    from collab_hub.config import HubConfig
    from collab_hub.server import Hub

    async with Hub(HubConfig(port=0, shared_token="dev")) as hub:
        print(hub.url)            # ws://127.0.0.1:PORT/
        ...

or ``hub = await start_hub(config)`` ... ``await hub.close()``.

Delivery: every receiver has its own outbound queue. A frame for a receiver whose
socket is keeping up is written straight to its transport (no task switch); once
its write buffer passes the high-water mark, frames wait in its queue and a drain
task of its own writes them as the socket drains. A queue is bounded in frames
(``limits.outbound_queue``) and in bytes (``limits.outbound_queue_bytes``), and all
queues together by ``limits.queues_total_bytes``: a receiver over its own bound is
closed 1013; when the hub-wide budget would be exceeded, the receiver with the
largest queue is closed 1013 (it is the one furthest behind). Nobody else ever waits
for it or loses a message. After a large queue is dropped the hub gives the freed
memory back to the OS (``collab_hub.memory``).

Connections are also bounded per credential (a per-id token, or the shared token
from one IP address): ``limits.max_connections_per_credential`` in all, of which
``limits.max_unjoined_per_credential`` not yet joined; over either, HTTP 503 before
the upgrade. Refused handshakes are logged as one line, then one summary line per
``limits.refusal_log_interval_s`` with counts by reason; ``/metrics`` counts them all.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import weakref
from collections import Counter, deque
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from . import protocol as p
from .broker import Broker, LocalBroker
from .config import HubConfig
from .memory import release_free_memory
from .metrics import HubMetrics
from .protocol import CloseCode, ErrorCode, Frame, FrameError, HelloError, PeerInfo, fold

log = logging.getLogger("collab_hub")

OPEN = State.OPEN
WRITE_LIMIT = 2**15  # websockets write buffer high-water mark (bytes) per connection
RECV_QUEUE = 16  # frames websockets buffers per connection before it stops reading
FLOOD_EPISODE_GAP_S = 1.0  # a flood episode ends after this long with no refused frame
TRIM_AFTER_BYTES = 1 << 20  # dropping at least this many queued bytes returns free memory to the OS
TRIM_MIN_INTERVAL_S = 1.0  # at most one malloc_trim per this long
MAX_LOGGED_ADDRESSES = 1000  # distinct addresses counted in one refusal summary


class Credential:
    """What a presented token may claim: ids bound to it (case-folded), and/or any
    unbound id. ``key`` is what connection limits count by: the bound ids for a
    per-id token, the IP address for the shared token."""

    __slots__ = ("shared", "ids", "key")

    def __init__(self, shared: bool, ids: frozenset[str], key: tuple[str, ...] = ()) -> None:
        self.shared = shared
        self.ids = ids
        self.key = key


class RefusalLog:
    """Refused connections (HTTP refusals before the upgrade, refused or missing
    HELLOs), logged without letting a storm flood the log: within each interval the
    first refusal of each reason is logged in full; the others are counted and logged
    as one summary line at the end of the interval. The reasons are a small fixed set,
    so an interval costs at most a dozen lines."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.logged: set[str] = set()  # reasons logged in full in this interval
        self.pending: Counter[str] = Counter()
        self.addresses: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None

    def refused(self, reason: str, remote: str, line: str, *args: Any) -> None:
        """One refusal; ``line % args`` is its full log line."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self.flush)
        if reason not in self.logged:
            self.logged.add(reason)
            log.info(line, *args)
            return
        self.pending[reason] += 1
        if len(self.addresses) < MAX_LOGGED_ADDRESSES:
            self.addresses.add(remote.rsplit(":", 1)[0])

    def flush(self, final: bool = False) -> None:
        self._timer = None
        self.logged.clear()
        if not self.pending:
            return
        counts = ", ".join(f"{reason}={n}" for reason, n in sorted(self.pending.items()))
        more = "+" if len(self.addresses) >= MAX_LOGGED_ADDRESSES else ""
        log.info(
            "refused %d more connections in the last %g s (%s) from %d%s addresses",
            sum(self.pending.values()), self.interval_s, counts, len(self.addresses), more,
        )
        self.pending.clear()
        self.addresses.clear()
        if not final:
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self.flush)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.flush(final=True)


class Session:
    """One websocket connection; once joined, also the trainer's mailbox."""

    __slots__ = (
        "hub", "ws", "remote", "credential", "ai_id", "peer", "queue", "queue_bytes", "drain_task",
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
                hub._too_slow(self, f"outbound queue full ({limits.outbound_queue} frames)")
                return
            if self.queue_bytes + size > limits.outbound_queue_bytes:
                hub._too_slow(self, f"outbound queue full ({self.queue_bytes + size} bytes > {limits.outbound_queue_bytes})")
                return
            if hub.queued_bytes + size > limits.queues_total_bytes and not hub._make_room(size, self):
                return
        self.queue.append(frame)
        self.queue_bytes += size
        hub.queued_bytes += size
        hub._queued.add(self)
        if self.synced and self.drain_task is None:
            self.drain_task = asyncio.get_running_loop().create_task(self._drain())

    def drop_queue(self) -> int:
        """Forget every queued frame; returns how many bytes that was."""
        dropped = self.queue_bytes
        self.queue.clear()
        self.queue_bytes = 0
        self.hub.queued_bytes -= dropped
        self.hub._queued.discard(self)
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
            self.hub._close_session(self, CloseCode.INTERNAL_ERROR, "hub fault")
        finally:
            self.drain_task = None
            if not queue:
                hub._queued.discard(self)

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


class Hub:
    """A running (or about to run) hub. See the module docstring for usage."""

    def __init__(self, config: HubConfig | None = None, *, broker: Broker | None = None) -> None:
        self.config = config if config is not None else HubConfig()
        self.broker: Broker = broker if broker is not None else _default_broker(self.config)
        self.generated_token = not self.config.has_tokens
        self.shared_token: str | None = secrets.token_urlsafe(24) if self.generated_token else self.config.shared_token
        self._token_digests: list[tuple[bytes, str | None]] = []  # (sha256(token), bound id (folded) or None=shared)
        if self.shared_token is not None:
            self._token_digests.append((_digest(self.shared_token), None))
        for ai_id, token in self.config.tokens.items():
            self._token_digests.append((_digest(token), fold(ai_id)))
        self._bound_ids = frozenset(fold(ai_id) for ai_id in self.config.tokens)  # ids the shared token may not claim
        self._sessions: set[Session] = set()
        self._local: dict[str, Session] = {}  # folded id -> session
        self._reserved: weakref.WeakSet[ServerConnection] = weakref.WeakSet()
        # Connections per credential key (all, and not yet joined). Weak: a connection
        # whose handshake fails after it was counted never reaches the handler.
        self._per_credential: dict[tuple[str, ...], weakref.WeakSet[ServerConnection]] = {}
        self._unjoined: dict[tuple[str, ...], weakref.WeakSet[ServerConnection]] = {}
        self._refusals = RefusalLog(self.config.limits.refusal_log_interval_s)
        self.queued_bytes = 0  # bytes in every receiver's outbound queue together
        self._queued: set[Session] = set()  # sessions with a non-empty queue
        self._trim_handle: asyncio.TimerHandle | None = None
        self._last_trim = 0.0
        self._credentials: weakref.WeakKeyDictionary[ServerConnection, Credential] = weakref.WeakKeyDictionary()
        self._closers: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        self._port: int | None = None
        self._unsubscribe = None
        self._shutting_down = False
        self._closed: asyncio.Event | None = None  # created on start (needs a loop)
        self.metrics = HubMetrics(
            lambda: len(self._sessions), lambda: len(self._local), self.broker.status, lambda: self.queued_bytes,
        )

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
        if self._server is None or (self._closed is not None and self._closed.is_set()):
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
        self._refusals.close()
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
        return [s.ai_id for s in self._local.values() if s.ai_id is not None]

    # Handshake --------------------------------------------------------------------
    def _authenticate(self, header: str | None, host: str = "?") -> Credential | None:
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
        key = ("shared", host) if shared else ("ids", *sorted(ids))
        return Credential(shared, frozenset(ids), key)

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
        credential = self._authenticate(request.headers.get("Authorization"), remote.rsplit(":", 1)[0])
        if credential is None:
            response = self._refuse(
                connection, HTTPStatus.UNAUTHORIZED, "unauthorized", remote,
                "missing or wrong token: send 'Authorization: Bearer <token>'",
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="collab-hub"'
            return response
        limits = self.config.limits
        key = credential.key
        held = self._per_credential.get(key)
        if held is not None and len(held) >= limits.max_connections_per_credential:
            return self._refuse(
                connection, HTTPStatus.SERVICE_UNAVAILABLE, "credential_connections", remote,
                f"this credential holds {limits.max_connections_per_credential} connections already (the limit)",
            )
        unjoined = self._unjoined.get(key)
        if unjoined is not None and len(unjoined) >= limits.max_unjoined_per_credential:
            return self._refuse(
                connection, HTTPStatus.SERVICE_UNAVAILABLE, "credential_unjoined", remote,
                f"this credential holds {limits.max_unjoined_per_credential} connections that have not joined yet (the limit)",
            )
        if len(self._reserved) >= limits.max_connections:
            return self._refuse(
                connection, HTTPStatus.SERVICE_UNAVAILABLE, "max_connections", remote,
                f"the hub is full ({limits.max_connections} connections)",
            )
        self._reserved.add(connection)
        self._credentials[connection] = credential
        if held is None:
            if len(self._per_credential) > 4 * limits.max_connections:
                self._prune_credentials()
            held = self._per_credential[key] = weakref.WeakSet()
        held.add(connection)
        if unjoined is None:
            unjoined = self._unjoined[key] = weakref.WeakSet()
        unjoined.add(connection)
        return None

    def _prune_credentials(self) -> None:
        """Forget credential keys with no connection left (their connections' handshakes
        failed after they were counted, so no handler released them)."""
        for table in (self._per_credential, self._unjoined):
            for key in [k for k, conns in table.items() if not conns]:
                del table[key]

    def _release_credential(self, ws: ServerConnection, key: tuple[str, ...], joined: bool) -> None:
        tables = (self._unjoined,) if joined else (self._per_credential, self._unjoined)
        for table in tables:
            conns = table.get(key)
            if conns is not None:
                conns.discard(ws)
                if not conns:
                    del table[key]

    def _refuse(self, connection: ServerConnection, status: HTTPStatus, reason: str, remote: str, detail: str) -> Response:
        self.metrics.handshakes_refused[reason] += 1
        self._refusals.refused(reason, remote, "refuse peer=%s reason=%s (HTTP %d: %s)", remote, reason, status.value, detail)
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
            layer_codes = (CloseCode.PROTOCOL_ERROR, CloseCode.MESSAGE_TOO_BIG, CloseCode.INVALID_UTF8)
            if sent is not None and sent.code in layer_codes and not exc.rcvd_then_sent:
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
            self._release_credential(ws, credential.key, joined=False)
            self._sessions.discard(session)
            # Whatever still waits for this receiver (it went away on its own) is
            # dropped, and no longer counts toward the hub-wide budget.
            session.closing = True
            if session.drop_queue() >= TRIM_AFTER_BYTES:
                self._schedule_trim()
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
                        if env.sender_id is not None and fold(env.sender_id) != fold(hello.ai_id):
                            await self._error(
                                s, ErrorCode.SPOOFED_SENDER,
                                f"HELLO's sender_id {env.sender_id[:80]!r} is not its ai_id {hello.ai_id!r}; the HELLO was dropped.",
                                env.message_id,
                            )
                            continue
                        cred = s.credential
                        key = fold(hello.ai_id)
                        if not (key in cred.ids or (cred.shared and key not in self._bound_ids)):
                            raise HelloError(ErrorCode.AUTH_FAILED, CloseCode.AUTH_FAILED, f"This token may not claim the id {hello.ai_id!r}.")
                        peer = PeerInfo(hello.ai_id, hello.specialization, tuple(hello.capabilities))
                        others = await self.broker.join(peer, s)
                        if others is None:
                            raise HelloError(
                                ErrorCode.DUPLICATE_ID, CloseCode.DUPLICATE_ID,
                                f"The id {hello.ai_id!r} is already joined (ids are compared case-insensitively).",
                            )
                    except HelloError as exc:
                        await self._error(s, exc.code, exc.detail, env.message_id)
                        s.close_note = exc.code
                        self._refusals.refused(
                            str(exc.code), s.remote, "refuse peer=%s id=%s reason=%s (%s)", s.remote, _hello_id(env), exc.code, exc.detail,
                        )
                        self.metrics.closes[int(exc.close_code)] += 1
                        s.closing = True
                        await ws.close(exc.close_code, str(exc.code))
                        return False
                    break
        except TimeoutError:
            self._refusals.refused(
                "hello_timeout", s.remote, "refuse peer=%s reason=hello_timeout (no HELLO within %g s)",
                s.remote, self.config.limits.hello_timeout_s,
            )
            s.close_note = "hello_timeout"
            self.metrics.closes[int(CloseCode.HELLO_TIMEOUT)] += 1
            s.closing = True
            await ws.close(CloseCode.HELLO_TIMEOUT, "no HELLO in time")
            return False
        # Joined.
        s.ai_id = peer.ai_id
        s.peer = peer
        self._local[fold(peer.ai_id)] = s
        self._release_credential(ws, s.credential.key, joined=True)
        self.metrics.joins += 1
        log.info(
            "join id=%s peer=%s specialization=%r capabilities=%d peers=%d",
            peer.ai_id, s.remote, peer.specialization[:80], len(peer.capabilities), len(others),
        )
        s.start_delivery(p.training_sync_frames(peer.ai_id, others))
        return True

    async def _serve_joined(self, s: Session, loop: asyncio.AbstractEventLoop) -> None:
        ws, broker, ai_id = s.ws, self.broker, s.ai_id
        assert ai_id is not None
        own_key = fold(ai_id)
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
                    detail = (
                        f"Unknown type {type_[:80]!r}: clients send HELLO, COLLABORATION_REQUEST, COLLABORATION_RESPONSE, "
                        "OS_COMPONENT_SHARE, REPUTATION_QUERY or REPUTATION_REPORT."
                    )
                await self._error(s, ErrorCode.UNKNOWN_TYPE, detail, env.message_id)
                continue
            sender = env.sender_id
            if sender is not None and sender != ai_id and fold(sender) != own_key:
                await self._error(
                    s, ErrorCode.SPOOFED_SENDER,
                    f"sender_id {sender[:80]!r} is not your id {ai_id!r}; the frame was not forwarded.",
                    env.message_id,
                )
                continue
            recipient = env.recipient_id
            if recipient is not None and fold(recipient) == own_key:
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
        key = fold(peer.ai_id)
        for other_key, s in list(self._local.items()):
            if other_key != key:
                s.put(p.hub_frame(p.PEER_JOINED, s.ai_id, info))

    def peer_left(self, ai_id: str) -> None:
        key = fold(ai_id)
        for other_key, s in list(self._local.items()):
            if other_key != key:
                s.put(p.hub_frame(p.PEER_LEFT, s.ai_id, {"ai_id": ai_id}))

    async def _leave(self, s: Session) -> None:
        ai_id = s.ai_id
        if ai_id is None or self._local.get(fold(ai_id)) is not s:
            return
        del self._local[fold(ai_id)]
        self.metrics.leaves += 1
        ws = s.ws
        reason = s.close_note or _close_description(ws)
        log.info("leave id=%s peer=%s reason=%s", ai_id, s.remote, reason)
        await self.broker.leave(ai_id, s)

    def claim_lost(self, ai_id: str, mailbox: object) -> None:
        """The broker found ``ai_id`` joined through another hub (claimed there while
        this hub could not reach the shared store): that claim wins."""
        s = self._local.get(fold(ai_id))
        if s is None or s is not mailbox:
            return
        s.put(p.error_frame(ai_id, ErrorCode.DUPLICATE_ID, f"The id {ai_id!r} is already joined through another hub.", None))
        self._close_session(s, CloseCode.DUPLICATE_ID, str(ErrorCode.DUPLICATE_ID), note="duplicate_id: id claimed through another hub")

    def _too_slow(self, s: Session, why: str) -> None:
        self.metrics.slow_receivers_disconnected += 1
        self._close_session(s, CloseCode.TRY_AGAIN_LATER, "outbound queue full", note=f"slow receiver: {why}")

    def _make_room(self, size: int, requester: Session) -> bool:
        """All queues together would pass ``limits.queues_total_bytes``: close the
        receivers with the largest queues (the ones furthest behind) until ``size``
        more bytes fit. False if ``requester`` itself was closed."""
        budget = self.config.limits.queues_total_bytes
        while self.queued_bytes + size > budget:
            victim = max(self._queued, key=lambda q: q.queue_bytes, default=None)
            if victim is None or victim is requester or victim.queue_bytes <= requester.queue_bytes:
                victim = requester
            self.metrics.queue_budget_closes += 1
            self._too_slow(victim, f"the hub's queues together are over {budget} bytes and this queue was the largest ({victim.queue_bytes} bytes)")
            if victim is requester:
                return False
        return True

    def _close_session(self, s: Session, code: CloseCode, reason: str, note: str | None = None) -> None:
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
                await self._leave(s)
            await s.ws.close(code, reason)
            if dropped >= TRIM_AFTER_BYTES:  # its transport's buffer is gone too now
                self._schedule_trim()

        if dropped >= TRIM_AFTER_BYTES:
            self._schedule_trim()

        task = asyncio.get_running_loop().create_task(close())
        s.closer = task
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)


    def _schedule_trim(self) -> None:
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
