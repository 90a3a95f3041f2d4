"""The connection handler: PROTOCOL.md's session, from the upgrade to the close.

Before joining: frames are decoded and rate-limited, anything but HELLO gets
``not_joined``, and a HELLO is checked (fields, sender_id, the token's right to the
id, the id free in the network through the broker) within ``limits.hello_timeout_s``.
Once joined: TRAINING_SYNC goes out first, then every frame is checked (type,
sender_id, recipient) and relayed through the broker, directed or broadcast.
Frames over the rate limit get ``rate_limited``; still flooding after
``limits.flood_close_s``, the connection is closed 4429.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from . import protocol as p
from .admission import Admission, RefusalLog
from .broker import Broker
from .protocol import CloseCode, ErrorCode, Frame, FrameError, HelloError, PeerInfo, fold
from .session import TRIM_AFTER_BYTES, QueueOwner, Session

log = logging.getLogger("collab_hub")

FLOOD_EPISODE_GAP_S = 1.0  # a flood episode ends after this long with no refused frame


class Served(QueueOwner, Protocol):
    """What the handler needs from its hub (``server.Hub``)."""

    broker: Broker
    admission: Admission
    refusals: RefusalLog
    sessions: set[Session]
    local: dict[str, Session]  # folded id -> session

    async def leave(self, s: Session) -> None: ...

    def schedule_trim(self) -> None: ...


class Handler:
    """Serves every connection of one hub (``handle`` is websockets' handler)."""

    def __init__(self, hub: Served) -> None:
        self.hub = hub
        self.limits = hub.config.limits
        self.metrics = hub.metrics
        self.broker = hub.broker
        self.refusals = hub.refusals

    async def handle(self, ws: ServerConnection) -> None:
        hub, admission = self.hub, self.hub.admission
        credential = admission.credential(ws)
        if credential is None:  # pragma: no cover - process_request always sets it
            await ws.close(CloseCode.AUTH_FAILED, "not authenticated")
            return
        loop = asyncio.get_running_loop()
        session = Session(hub, ws, credential, loop.time())
        hub.sessions.add(session)
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
            admission.release(ws, credential.key)
            hub.sessions.discard(session)
            # Whatever still waits for this receiver (it went away on its own) is
            # dropped, and no longer counts toward the hub-wide budget.
            session.closing = True
            if session.drop_queue() >= TRIM_AFTER_BYTES:
                hub.schedule_trim()
            if session.ai_id is not None:
                await hub.leave(session)

    async def _admit_frame(self, s: Session, message: str | bytes, now: float) -> p.Envelope | None:
        """Decode, count and rate-limit one incoming frame. Returns the envelope, or
        None after answering (or closing, for a flood) when the frame is refused."""
        try:
            env: p.Envelope | None = p.decode_envelope(message)
            error: FrameError | None = None
            self.metrics.frame_in(env.type)  # type: ignore[union-attr]
        except FrameError as exc:
            env, error = None, exc
            self.metrics.frame_in("invalid")
        if not s.take_token(now, self.limits):
            if s.flood_started is None or now - s.last_refused > FLOOD_EPISODE_GAP_S:
                s.flood_started = now
            s.last_refused = now
            if now - s.flood_started >= self.limits.flood_close_s:
                self.hub.close_session(
                    s, CloseCode.FLOODING, "rate limit exceeded for too long",
                    note=f"still flooding {now - s.flood_started:.1f} s after the first rate_limited",
                )
                return None
            ref = env.message_id if env is not None else (error.ref_message_id if error else None)
            await self._error(
                s, ErrorCode.RATE_LIMITED,
                f"Over the rate limit ({self.limits.rate_per_s:g} frames/s, burst {self.limits.rate_burst}); "
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
        deadline = loop.time() + self.limits.hello_timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    message = await ws.recv()
                    env = await self._admit_frame(s, message, loop.time())
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
                            detail = f"HELLO's sender_id {env.sender_id[:80]!r} is not its ai_id {hello.ai_id!r}; the HELLO was dropped."
                            await self._error(s, ErrorCode.SPOOFED_SENDER, detail, env.message_id)
                            continue
                        cred = s.credential
                        key = fold(hello.ai_id)
                        if not (key in cred.ids or (cred.shared and key not in self.hub.admission.bound_ids)):
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
                        self.refusals.refused(
                            str(exc.code), s.remote, "refuse peer=%s id=%s reason=%s (%s)", s.remote, _hello_id(env), exc.code, exc.detail,
                        )
                        self.metrics.closes[int(exc.close_code)] += 1
                        s.closing = True
                        await ws.close(exc.close_code, str(exc.code))
                        return False
                    break
        except TimeoutError:
            self.refusals.refused(
                "hello_timeout", s.remote, "refuse peer=%s reason=hello_timeout (no HELLO within %g s)",
                s.remote, self.limits.hello_timeout_s,
            )
            s.close_note = "hello_timeout"
            self.metrics.closes[int(CloseCode.HELLO_TIMEOUT)] += 1
            s.closing = True
            await ws.close(CloseCode.HELLO_TIMEOUT, "no HELLO in time")
            return False
        # Joined.
        s.ai_id = peer.ai_id
        s.peer = peer
        self.hub.local[fold(peer.ai_id)] = s
        self.hub.admission.joined(ws, s.credential.key)
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
            env = await self._admit_frame(s, message, loop.time())
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
                detail = f"sender_id {sender[:80]!r} is not your id {ai_id!r}; the frame was not forwarded."
                await self._error(s, ErrorCode.SPOOFED_SENDER, detail, env.message_id)
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


def _hello_id(env: p.Envelope) -> str:
    try:
        hello = p._any_decoder.decode(env.payload)
        ai_id = hello.get("ai_id") if isinstance(hello, dict) else None
        return repr(ai_id)[:80] if ai_id is not None else "-"
    except Exception:
        return "-"
