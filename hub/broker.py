"""Presence and routing behind one small interface.

The hub's connection handling talks only to a Broker: claim an id, leave, list
peers, deliver a directed frame, deliver a broadcast, and subscribe to presence
changes. LocalBroker serves one hub process. RedisBroker (hub/redis_broker.py) puts
the same interface over several hub processes sharing one Redis; the methods are
async so it can do I/O.

Frames are already-encoded bytes (``protocol.Frame``): a broker never parses them.

Ids are compared case-insensitively (``protocol.fold``): ``Alice`` and ``alice`` are
one identity, and a directed frame for ``ALICE`` reaches her. Listeners always hear
an id as the trainer joined with it.
"""

from __future__ import annotations

import abc
from typing import Callable, NamedTuple, Protocol

from .protocol import Frame, PeerInfo, fold

# What a hub configured with a Redis broker says when the optional client is missing.
REDIS_MISSING = "the Redis broker needs the Redis client: pip install 'collab-tui[redis]'"


class Mailbox(Protocol):
    """Where a broker puts frames for one locally connected trainer. ``put`` never
    blocks: the owner queues or drops (closing a slow receiver), so one slow
    receiver never delays delivery to anyone else."""

    def put(self, frame: Frame) -> None: ...


class PresenceListener(Protocol):
    """Told about every join and leave on the network (one hub or many)."""

    def peer_joined(self, peer: PeerInfo) -> None: ...

    def peer_left(self, ai_id: str) -> None: ...

    # Optional: ``claim_lost(ai_id, mailbox)`` -- a multi-hub broker found that the
    # id of this local trainer is now held through another hub (after the shared
    # store was unreachable); the listener should close that session (4409).


class Broker(abc.ABC):
    """Presence + routing. Implementations must be safe to call from one event loop
    by many connection handlers."""

    @abc.abstractmethod
    async def join(self, peer: PeerInfo, mailbox: Mailbox) -> list[PeerInfo] | None:
        """Claim ``peer.ai_id`` and attach its mailbox. Returns the other joined
        peers at the moment of the claim, or None if the id (case-insensitively) is
        already joined (the joined session is left untouched). Listeners hear
        ``peer_joined``."""

    @abc.abstractmethod
    async def leave(self, ai_id: str, mailbox: Mailbox) -> bool:
        """Release the id if ``mailbox`` still holds it (idempotent). Listeners hear
        ``peer_left``. Returns whether the id was released."""

    @abc.abstractmethod
    async def peers(self) -> list[PeerInfo]:
        """Every joined trainer."""

    @abc.abstractmethod
    async def deliver(self, recipient_id: str, frame: Frame) -> bool:
        """Put a directed frame in the recipient's mailbox. False if not joined."""

    @abc.abstractmethod
    async def broadcast(self, sender_id: str, frame: Frame) -> int:
        """Put a frame in every joined trainer's mailbox except the sender's.
        Returns how many (local) mailboxes received it."""

    def __init__(self) -> None:
        self._listeners: list[PresenceListener] = []

    def subscribe(self, listener: PresenceListener) -> Callable[[], None]:
        """Register a presence listener; returns a function that unregisters it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect (called by Hub.start before it listens)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release broker resources (connections to Redis, ...)."""

    def describe(self) -> str:
        """One line for logs: what this broker is."""
        return "in-process"

    def status(self) -> BrokerStatus | None:
        """State for /metrics, or None (the in-process broker adds no metrics)."""
        return None


class BrokerStatus(NamedTuple):
    """What /metrics shows about a shared broker."""

    kind: str  # "redis"
    up: bool  # connected and presence in sync
    remote_trainers: int  # trainers joined through other hubs, as this hub knows them
    outages: int  # times the connection to the store was lost (or never made)
    frames_published: int  # frames sent to other hubs
    frames_received: int  # frames received from other hubs
    frames_dropped: int  # frames for other hubs dropped because the store was unreachable


class LocalBroker(Broker):
    """In-process presence and routing for a single hub."""

    def __init__(self) -> None:
        super().__init__()
        self._mailboxes: dict[str, Mailbox] = {}
        self._peers: dict[str, PeerInfo] = {}

    async def join(self, peer: PeerInfo, mailbox: Mailbox) -> list[PeerInfo] | None:
        key = fold(peer.ai_id)
        if key in self._mailboxes:
            return None
        others = list(self._peers.values())
        self._mailboxes[key] = mailbox
        self._peers[key] = peer
        for listener in list(self._listeners):
            listener.peer_joined(peer)
        return others

    async def leave(self, ai_id: str, mailbox: Mailbox) -> bool:
        key = fold(ai_id)
        if self._mailboxes.get(key) is not mailbox:
            return False
        del self._mailboxes[key]
        peer = self._peers.pop(key)
        for listener in list(self._listeners):
            listener.peer_left(peer.ai_id)
        return True

    async def peers(self) -> list[PeerInfo]:
        return list(self._peers.values())

    async def deliver(self, recipient_id: str, frame: Frame) -> bool:
        mailbox = self._mailboxes.get(fold(recipient_id))
        if mailbox is None:
            return False
        mailbox.put(frame)
        return True

    async def broadcast(self, sender_id: str, frame: Frame) -> int:
        n = 0
        sender = fold(sender_id)
        for key, mailbox in list(self._mailboxes.items()):
            if key != sender:
                mailbox.put(frame)
                n += 1
        return n

    def __len__(self) -> int:
        return len(self._mailboxes)
