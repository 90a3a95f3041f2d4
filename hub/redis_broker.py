"""RedisBroker: several hub processes serving one network through Redis.

Every hub keeps what it needs to route without asking Redis on the hot path:

- its own trainers (``_local``: id -> mailbox, PeerInfo), delivered to directly;
- a mirror of the trainers joined through other hubs (``_remote``: id -> hub id,
  PeerInfo), kept current from the presence channel.

Redis holds the truth about who is joined, under ``PREFIX:`` keys:

- ``PREFIX:owner`` (hash id -> hub id), ``PREFIX:info`` (hash id -> PeerInfo JSON),
  ``PREFIX:expiry`` (sorted set id -> expiry in ms, Redis clock), ``PREFIX:seq``
  (presence event counter). Every id in a key, a script argument or a channel
  message is the case-folded id (``protocol.fold``: ``Alice`` is ``alice``), so the
  claim script refuses ``Alice`` on one hub while ``alice`` is joined through
  another; the PeerInfo JSON keeps the id as the trainer joined with it, and that is
  what listeners hear. ``_local`` and ``_remote`` are keyed by folded id too. A claim is one Lua script, so it is atomic across hubs:
  an id held by a live claim is refused (``duplicate_id``); an expired one is taken
  over. Each hub refreshes its trainers' claims every ``presence_ttl_s / 3``; every
  hub sweeps expired claims every ``min(1 s, presence_ttl_s / 3)`` (a script, so each
  expiry is announced once). A hub that dies (SIGKILL, power) stops refreshing: its
  trainers are announced as left ``presence_ttl_s`` + at most one sweep later, and
  their ids are free to rejoin through another hub.
- Channels: ``PREFIX:presence`` (``SEQ|J|HUB|info-json`` and ``SEQ|L|HUB|id``, published
  by the scripts themselves), ``PREFIX:broadcast`` and ``PREFIX:hub:HUB`` (one per hub,
  directed frames for its trainers). Frames are batched: one PUBLISH carries every
  frame queued for that channel since the previous one.

Delivery: a directed frame for a local trainer goes straight to its mailbox; for a
remote one it is published on its hub's channel. A broadcast goes to every local
mailbox but the sender's, and once on the broadcast channel, which every other hub
delivers to its own trainers: exactly once per trainer, never to its sender.

Redis unreachable: the hub keeps serving its own trainers (joins, leaves, local
routing), logs a warning, and reconnects with exponential backoff (0.1 s doubling up
to ``retry_max_s``, with jitter). Frames for remote trainers are refused as
``unknown_recipient`` meanwhile; broadcasts reach local trainers only. If the outage
lasts longer than ``presence_ttl_s``, the remote trainers are announced as left
locally (the other hubs announce ours the same way). When Redis is back the hub
resynchronises: it re-claims its trainers' ids (an id claimed meanwhile through
another hub wins there: the local session is closed 4409), releases ids of trainers
that left during the outage, and announces the difference between its mirror and
Redis as PEER_JOINED / PEER_LEFT.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import urllib.parse
from typing import Any

from . import lua
from .broker import REDIS_MISSING, Broker, BrokerStatus, Mailbox
from .protocol import Frame, PeerInfo, fold
from .redis_codec import batch_sender, batches, decode_peer, encode_peer, pack, presence_event, unpack

try:
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError as exc:  # the client is the optional extra "redis"
    raise ImportError(REDIS_MISSING, name=exc.name) from exc


log = logging.getLogger("collab_hub.broker")

RETRY_MIN_S = 0.1
CATCH_UP_TIMEOUT_S = 1.0  # how long a join waits for earlier presence events to arrive
MAX_OUTBOX_FRAMES = 100_000  # frames queued for publishing before further ones are dropped
MAX_PUBLISH_BYTES = 1 << 20  # one PUBLISH carries at most about this much
SWEEP_LIMIT = 1000  # expired claims removed per sweep call
POOL_SIZE = 16  # command connections per hub (plus one for pub/sub)

def redact_url(url: str) -> str:
    """The URL without its password (for logs and /metrics)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class RedisBroker(Broker):
    """Presence and routing shared by every hub using the same Redis and prefix."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "collab",
        presence_ttl_s: float = 10.0,
        retry_max_s: float = 5.0,
        hub_id: str | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.prefix = prefix
        self.presence_ttl_s = presence_ttl_s
        self.retry_max_s = retry_max_s
        self.hub_id = hub_id or secrets.token_hex(6)
        self._ttl_ms = max(1, int(presence_ttl_s * 1000))
        self._refresh_s = presence_ttl_s / 3
        self._sweep_s = min(1.0, presence_ttl_s / 3)
        self._keys = [f"{prefix}:owner", f"{prefix}:info", f"{prefix}:expiry", f"{prefix}:seq"]
        self._ch_presence = f"{prefix}:presence"
        self._ch_broadcast = f"{prefix}:broadcast"
        self._ch_hub = self._hub_channel(self.hub_id)
        self._local: dict[str, tuple[Mailbox, PeerInfo]] = {}
        self._remote: dict[str, tuple[str, PeerInfo]] = {}
        self._unconfirmed: dict[str, float] = {}  # remote ids missing after a resync -> when to give up on them
        self._releasing: dict[str, asyncio.Future[Any]] = {}
        self._client: Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._applied_seq = 0
        self._seq_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._outbox: dict[str, list[bytes]] = {}
        self._outbox_frames = 0
        self._outbox_ready: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._first_attempt: asyncio.Event | None = None
        self._down_timer: asyncio.TimerHandle | None = None
        self._closing = False
        self.up = False
        self.outages = 0
        self.frames_published = 0
        self.frames_received = 0
        self.frames_dropped = 0

    # Broker interface -------------------------------------------------------------
    def describe(self) -> str:
        return f"redis {redact_url(self.url)} prefix={self.prefix} hub_id={self.hub_id} presence_ttl_s={self.presence_ttl_s:g}"

    def status(self) -> BrokerStatus:
        return BrokerStatus("redis", self.up, len(self._remote), self.outages, self.frames_published, self.frames_received, self.frames_dropped)

    async def start(self) -> None:
        if self._tasks:
            return
        self._outbox_ready = asyncio.Event()
        self._first_attempt = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._supervise()), loop.create_task(self._publish_loop())]
        await self._first_attempt.wait()  # connected, or the first attempt failed (then it retries in the background)

    async def close(self) -> None:
        self._closing = True
        if self._down_timer is not None:
            self._down_timer.cancel()
        client = self._client
        if client is not None and self._outbox:
            try:  # frames relayed just before shutdown still go out
                async with asyncio.timeout(1.0):
                    await self._flush(client)
            except (TimeoutError, RedisError, OSError):
                pass
        if client is not None and self._local and self.up:
            try:  # normally empty: the hub has let every trainer leave
                async with asyncio.timeout(1.0):
                    await self._run(lua.RELEASE, [self.hub_id, self._ch_presence, *self._local])
            except (TimeoutError, RedisError, OSError):
                pass
        await _cancel_all(self._tasks)
        self._tasks = []
        self.up = False

    async def join(self, peer: PeerInfo, mailbox: Mailbox) -> list[PeerInfo] | None:
        ai_id = fold(peer.ai_id)
        if ai_id in self._local:
            return None
        pending = self._releasing.get(ai_id)
        if pending is not None:  # this id is being released by a leave on this hub
            await asyncio.wait([pending], timeout=2.0)
            if ai_id in self._local:
                return None
        claimed = False
        if self.up:
            try:
                ok, seq = await self._run(lua.CLAIM, [self.hub_id, ai_id, encode_peer(peer), self._ttl_ms, self._ch_presence])
                claimed = True
            except (RedisError, OSError) as exc:
                log.warning("redis broker: claim of %r failed (%s); admitting it locally until Redis answers", ai_id, exc)
            if claimed:
                if not ok:
                    return None
                await self._caught_up(int(seq))  # presence events before our claim are in the mirror
                if ai_id in self._local:  # pragma: no cover - Redis refused concurrent claims
                    return None
        if not claimed and ai_id in self._remote:
            return None
        self._remote.pop(ai_id, None)
        others = [p for _, p in self._remote.values()]
        others.extend(p for _, p in self._local.values())
        self._local[ai_id] = (mailbox, peer)
        for listener in list(self._listeners):
            listener.peer_joined(peer)
        return others

    async def leave(self, ai_id: str, mailbox: Mailbox) -> bool:
        ai_id = fold(ai_id)
        entry = self._local.get(ai_id)
        if entry is None or entry[0] is not mailbox:
            return False
        joined_as = entry[1].ai_id
        del self._local[ai_id]
        caller_cancelled = False
        if self.up:
            # Release first, then tell local trainers: once anyone hears PEER_LEFT,
            # the id may rejoin through any hub.
            fut = asyncio.ensure_future(self._run(lua.RELEASE, [self.hub_id, self._ch_presence, ai_id]))
            self._releasing[ai_id] = fut
            try:
                await asyncio.shield(fut)
            except (RedisError, OSError) as exc:  # the resync after the outage releases it
                log.warning("redis broker: release of %r failed (%s); it is released when Redis answers", ai_id, exc)
            except asyncio.CancelledError:
                # The release itself was cancelled (broker closing): carry on. Our caller
                # was cancelled: still announce the leave, then let the cancel through.
                caller_cancelled = not fut.cancelled()
            finally:
                if self._releasing.get(ai_id) is fut:
                    del self._releasing[ai_id]
        if ai_id not in self._local:  # not rejoined meanwhile
            for listener in list(self._listeners):
                listener.peer_left(joined_as)
        if caller_cancelled:
            raise asyncio.CancelledError
        return True

    async def peers(self) -> list[PeerInfo]:
        return [p for _, p in self._local.values()] + [p for _, p in self._remote.values()]

    async def deliver(self, recipient_id: str, frame: Frame) -> bool:
        recipient_id = fold(recipient_id)
        entry = self._local.get(recipient_id)
        if entry is not None:
            entry[0].put(frame)
            return True
        if not self.up:
            return False
        remote = self._remote.get(recipient_id)
        if remote is not None:
            owner = remote[0]
        else:
            # Not (yet) in the mirror: its join event may still be on its way.
            try:
                found = await self._run(lua.LOOKUP, [recipient_id], keys=[self._keys[0], self._keys[2]])
            except (RedisError, OSError):
                return False
            if not found:
                return False
            owner = found.decode() if isinstance(found, bytes) else str(found)
            if owner == self.hub_id:
                return False
        return self._enqueue(self._hub_channel(owner), pack(recipient_id, frame))

    async def broadcast(self, sender_id: str, frame: Frame) -> int:
        sender_id = fold(sender_id)
        n = 0
        for ai_id, (mailbox, _) in list(self._local.items()):
            if ai_id != sender_id:
                mailbox.put(frame)
                n += 1
        if self.up:
            self._enqueue(self._ch_broadcast, pack(sender_id, frame))
        return n

    def __len__(self) -> int:
        return len(self._local)

    # Publishing -------------------------------------------------------------------
    def _hub_channel(self, hub_id: str) -> str:
        return f"{self.prefix}:hub:{hub_id}"

    def _enqueue(self, channel: str, record: bytes) -> bool:
        if self._outbox_frames >= MAX_OUTBOX_FRAMES:
            self.frames_dropped += 1
            return False
        self._outbox.setdefault(channel, []).append(record)
        self._outbox_frames += 1
        assert self._outbox_ready is not None
        self._outbox_ready.set()
        return True

    async def _publish_loop(self) -> None:
        assert self._outbox_ready is not None
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            client = self._client
            if client is None or not self.up:
                self.frames_dropped += self._outbox_frames
                self._outbox.clear()
                self._outbox_frames = 0
                continue
            try:
                await self._flush(client)
            except (RedisError, OSError) as exc:
                log.debug("redis broker: publish failed: %s", exc)

    async def _flush(self, client: Redis) -> None:
        batch, n = self._outbox, self._outbox_frames
        self._outbox, self._outbox_frames = {}, 0
        pipe = client.pipeline(transaction=False)
        for channel, records in batch.items():
            for message in batches(self.hub_id, records, MAX_PUBLISH_BYTES):
                pipe.publish(channel, message)
        try:
            await pipe.execute()
        except BaseException:
            self.frames_dropped += n
            raise
        self.frames_published += n

    # Receiving --------------------------------------------------------------------
    async def _read(self, pubsub: Any) -> None:
        ch_presence, ch_broadcast = self._ch_presence.encode(), self._ch_broadcast.encode()
        while True:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if msg is None or msg.get("type") != "message":
                continue
            channel, data = msg["channel"], msg["data"]
            try:
                if channel == ch_presence:
                    self._on_presence(data)
                elif channel == ch_broadcast:
                    self._on_broadcast(data)
                else:
                    self._on_directed(data)
            except Exception:  # a malformed message must not stop the reader
                log.exception("redis broker: could not handle a message on %r", channel)

    def _on_presence(self, data: bytes) -> None:
        seq, kind, owner, rest = presence_event(data)
        if seq <= self._applied_seq:
            return  # already in the snapshot of the last resync
        self._applied_seq = seq
        if self._seq_waiters:
            self._wake_waiters()
        if owner == self.hub_id:
            return  # our own claims and releases: local listeners heard them already
        if kind == "J":
            peer = decode_peer(rest)
            ai_id = fold(peer.ai_id)
            local = self._local.get(ai_id)
            prev = self._remote.get(ai_id)
            self._remote[ai_id] = (owner, peer)
            if local is not None:
                self._claim_lost(ai_id, local[0])
                return
            if self._unconfirmed.pop(ai_id, None) is not None and prev is not None:
                if prev[0] == owner and prev[1] == peer:
                    return  # re-claimed after a Redis restart: nothing changed
                for listener in list(self._listeners):
                    listener.peer_left(prev[1].ai_id)
            for listener in list(self._listeners):
                listener.peer_joined(peer)
        elif kind == "S":  # every trainer joined through that hub, after its resync
            held = set(rest.split(",")) if rest else set()
            for ai_id, (hub_id, peer) in list(self._remote.items()):
                if hub_id == owner and ai_id not in held:
                    del self._remote[ai_id]
                    self._unconfirmed.pop(ai_id, None)
                    for listener in list(self._listeners):
                        listener.peer_left(peer.ai_id)
        elif kind == "L":
            prev = self._remote.get(rest)
            if prev is not None and prev[0] == owner:
                del self._remote[rest]
                self._unconfirmed.pop(rest, None)
                for listener in list(self._listeners):
                    listener.peer_left(prev[1].ai_id)

    def _on_broadcast(self, data: bytes) -> None:
        hub_id, start = batch_sender(data)
        if hub_id == self.hub_id:
            return  # our own broadcast: delivered locally already
        local = self._local
        for sender_id, frame in unpack(data, start):
            self.frames_received += 1
            for ai_id, (mailbox, _) in list(local.items()):
                if ai_id != sender_id:
                    mailbox.put(frame)

    def _on_directed(self, data: bytes) -> None:
        for recipient_id, frame in unpack(data, batch_sender(data)[1]):
            self.frames_received += 1
            entry = self._local.get(recipient_id)
            if entry is not None:  # else it left meanwhile: the frame is dropped
                entry[0].put(frame)

    def _claim_lost(self, ai_id: str, mailbox: Mailbox) -> None:
        """The id of a local trainer is held through another hub: it was claimed
        there while this hub could not refresh. Redis is the arbiter."""
        entry = self._local.pop(ai_id, None)
        joined_as = entry[1].ai_id if entry is not None else ai_id
        log.warning("redis broker: id %r is now joined through another hub; closing the local session", joined_as)
        for listener in list(self._listeners):
            hook = getattr(listener, "claim_lost", None)
            if hook is not None:
                hook(joined_as, mailbox)

    async def _caught_up(self, seq: int) -> None:
        if self._applied_seq >= seq or not self.up:
            return
        fut = asyncio.get_running_loop().create_future()
        self._seq_waiters.append((seq, fut))
        try:
            await asyncio.wait_for(fut, CATCH_UP_TIMEOUT_S)
        except TimeoutError:
            log.debug("redis broker: presence event %d not seen within %g s", seq, CATCH_UP_TIMEOUT_S)

    def _wake_waiters(self, everyone: bool = False) -> None:
        keep = []
        for seq, fut in self._seq_waiters:
            if everyone or seq <= self._applied_seq:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((seq, fut))
        self._seq_waiters = keep

    # Connection management --------------------------------------------------------
    async def _run(self, script: str, args: list[Any], keys: list[str] | None = None) -> Any:
        client = self._client
        if client is None:
            raise RedisError("not connected")
        return await self._scripts[script](keys=self._keys if keys is None else keys, args=args)

    async def _supervise(self) -> None:
        assert self._first_attempt is not None
        delay = RETRY_MIN_S
        was_up = False
        while not self._closing:
            pubsub = None
            try:
                # A small pool: commands wait for a free connection rather than open
                # one per trainer when many leave at once (pub/sub has its own).
                client = Redis.from_pool(
                    BlockingConnectionPool.from_url(
                        self.url,
                        max_connections=POOL_SIZE,
                        timeout=max(2.0, self._refresh_s),
                        socket_connect_timeout=2.0,
                        socket_timeout=max(2.0, self._refresh_s),
                        retry=Retry(NoBackoff(), 0),
                        client_name=f"collab-hub-{self.hub_id}",
                    )
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self._ch_presence, self._ch_broadcast, self._ch_hub)
                self._scripts = {src: client.register_script(src) for src in lua.ALL}
                self._client = client
                await self._resync()
                self._set_up(was_up)
                was_up = True
                delay = RETRY_MIN_S
                self._first_attempt.set()
                await self._serve(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._set_down(exc)
            except ValueError as exc:  # an unusable URL (the config checks only its scheme)
                log.error("redis broker: cannot use %s: %s", redact_url(self.url), exc)
                self._set_down(exc)
            except Exception as exc:  # a bug: log it loudly, keep the hub serving
                log.exception("redis broker: unexpected failure")
                self._set_down(exc)
            finally:
                self._client = None
                if pubsub is not None:
                    await self._close_quietly(pubsub, client)
            self._first_attempt.set()
            if self._closing:
                return
            wait = delay * random.uniform(0.8, 1.2)
            log.info("redis broker: reconnecting to %s in %.1f s", redact_url(self.url), wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self.retry_max_s)

    async def _serve(self, pubsub: Any) -> None:
        """Read and maintain until either fails (the exception is re-raised)."""
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self._read(pubsub)), loop.create_task(self._maintain())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            raise RedisError("broker task ended")  # pragma: no cover - both loop forever
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _maintain(self) -> None:
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + self._refresh_s
        while True:
            await asyncio.sleep(min(self._sweep_s, max(0.0, next_refresh - loop.time())))
            if loop.time() >= next_refresh:
                next_refresh = loop.time() + self._refresh_s
                await self._refresh()
            await self._run(lua.SWEEP, [self._ch_presence, SWEEP_LIMIT])
            if self._unconfirmed:
                self._expire_unconfirmed(loop.time())

    def _expire_unconfirmed(self, now: float) -> None:
        for ai_id, deadline in list(self._unconfirmed.items()):
            if deadline > now:
                continue
            del self._unconfirmed[ai_id]
            gone = self._remote.pop(ai_id, None)
            if gone is not None:
                for listener in list(self._listeners):
                    listener.peer_left(gone[1].ai_id)

    async def _refresh(self) -> None:
        if not self._local:
            return
        args: list[Any] = [self.hub_id, self._ttl_ms, self._ch_presence]
        held = dict(self._local)
        for ai_id, (_, peer) in held.items():
            args.append(ai_id)
            args.append(encode_peer(peer))
        lost = await self._run(lua.REFRESH, args)
        for raw in lost or ():
            ai_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            entry = self._local.get(ai_id)
            if entry is not None and entry is held.get(ai_id):
                self._claim_lost(ai_id, entry[0])

    async def _resync(self) -> None:
        """After (re)connecting: claim our trainers' ids, release ids of trainers that
        left while Redis was unreachable, and bring the mirror in line with Redis."""
        await self._refresh()
        reply = await self._run(lua.SNAPSHOT, [])
        seq, now = int(reply[0]), int(reply[1])
        remote: dict[str, tuple[str, PeerInfo]] = {}
        stale_own: list[str] = []
        for i in range(2, len(reply), 4):
            ai_id = reply[i].decode()
            owner = reply[i + 1].decode()
            expiry = int(reply[i + 3])
            if owner == self.hub_id:
                if ai_id not in self._local:
                    stale_own.append(ai_id)
            elif expiry > now and ai_id not in self._local:
                remote[ai_id] = (owner, decode_peer(reply[i + 2]))
        if stale_own:
            await self._run(lua.RELEASE, [self.hub_id, self._ch_presence, *stale_own])
        await self._run(lua.HUB_SYNC, [self.hub_id, self._ch_presence, ",".join(self._local)])
        old = self._remote
        self._applied_seq = seq
        grace_until = asyncio.get_running_loop().time() + self.presence_ttl_s
        present_hubs = {owner for owner, _ in remote.values()}
        for ai_id, entry in old.items():
            now_entry = remote.get(ai_id)
            if now_entry is None and ai_id not in self._local and entry[0] not in present_hubs:
                # Redis lost its hub's claims (restarted empty) and that hub has not
                # re-claimed them yet: it gets one TTL (or until its S event) to do so
                # before we announce its trainers as left. (A hub that has re-claimed
                # claims all its ids in one script, so its missing ids are gone.)
                remote[ai_id] = entry
                self._unconfirmed[ai_id] = grace_until
            elif (now_entry is None or now_entry[0] != entry[0]) and ai_id not in self._local:
                for listener in list(self._listeners):
                    listener.peer_left(entry[1].ai_id)
        for ai_id in [i for i in remote if i in self._local]:  # joined here during the resync
            del remote[ai_id]
        self._remote = remote
        for ai_id, (owner, peer) in remote.items():
            before = old.get(ai_id)
            if before is None or (before[0] != owner and ai_id not in self._unconfirmed):
                for listener in list(self._listeners):
                    listener.peer_joined(peer)

    def _set_up(self, reconnect: bool) -> None:
        self.up = True
        if self._down_timer is not None:
            self._down_timer.cancel()
            self._down_timer = None
        if reconnect:
            log.warning(
                "redis broker: reconnected to %s; presence resynchronised (%d local, %d remote trainers)",
                redact_url(self.url), len(self._local), len(self._remote),
            )
        else:
            log.info("redis broker: connected to %s as hub %s", redact_url(self.url), self.hub_id)

    def _set_down(self, exc: BaseException) -> None:
        was_up = self.up
        self.up = False
        self._wake_waiters(everyone=True)
        if was_up or self.outages == 0:
            self.outages += 1
            log.warning(
                "redis broker: %s unreachable (%s); serving local trainers only, retrying with backoff",
                redact_url(self.url), exc or type(exc).__name__,
            )
            if self._down_timer is None and not self._closing:
                self._down_timer = asyncio.get_running_loop().call_later(self.presence_ttl_s, self._forget_remote)

    def _forget_remote(self) -> None:
        """Down for longer than a claim lives: the other hubs have announced our
        trainers as left; announce theirs as left here, symmetrically."""
        self._down_timer = None
        if self.up or not self._remote:
            return
        log.warning("redis broker: unreachable for %g s; announcing %d remote trainers as left", self.presence_ttl_s, len(self._remote))
        gone, self._remote = self._remote, {}
        self._unconfirmed.clear()
        for _, peer in gone.values():
            for listener in list(self._listeners):
                listener.peer_left(peer.ai_id)

    @staticmethod
    async def _close_quietly(pubsub: Any, client: Redis) -> None:
        for closer in (pubsub.aclose, client.aclose):
            try:
                async with asyncio.timeout(1.0):
                    await closer()
            except Exception:
                pass


async def _cancel_all(tasks: list[asyncio.Task], rounds: int = 5) -> None:
    """Cancel ``tasks`` and wait for them, repeating the cancel for any that swallowed it.

    On Python 3.11 a cancel that lands while a library's own ``asyncio.timeout`` expires
    can be turned into a timeout and caught; shutdown must not hang on it.
    """
    pending = {t for t in tasks if not t.done()}
    for task in pending:
        task.cancel()
    for _ in range(rounds):
        if not pending:
            break
        done, pending = await asyncio.wait(pending, timeout=1.0)
        for task in pending:
            task.cancel()
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a failure during shutdown is not worth a warning
    if pending:
        log.warning("redis broker: %d task(s) did not stop on cancel", len(pending))
