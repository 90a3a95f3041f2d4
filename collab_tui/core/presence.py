"""Joining the hub and knowing who is there: HELLO, the TRAINING_SYNC that answers it (in
one frame or several), peers joining and leaving, the hub's ERROR frames.

``PresenceSide`` is mixed into ``NetworkedKernelTrainer`` (its state: ``known_ai_info``
- the seed's name -, ``online``, ``joined``).
"""
from __future__ import annotations

from . import wire
from .events import HubError, Joined, Output, PeerChanged, Send

#: Offline peers we never dealt with (no outcome, no score) that ``known_ai_info`` keeps, the
#: most recently seen; older ones are forgotten. An id that joins and leaves costs nothing else,
#: so without a bound a peer cycling through fresh ids (a whitewasher) would grow every
#: trainer's memory, and the operator's table, by one row per id, for ever.
MAX_OFFLINE_STRANGERS = 512


class PresenceSide:
    """The connection's own frames."""

    def hello(self, now: float) -> list[Output]:
        self.now = now
        return [Send(wire.make_message(wire.HELLO, self.ai_id, {
            "ai_id": self.ai_id, "specialization": self.specialization,
            "capabilities": list(self.capabilities), "protocol_version": wire.PROTOCOL_VERSION,
        }, now))]

    def disconnected(self, now: float) -> list[Output]:
        """The hub went away: keep everything; peers' presence is unknown until we rejoin."""
        self.now = now
        self.joined = False
        self.online.clear()
        self._sync_pending, self._sync_active = False, []
        return []

    def _handle_training_sync(self, message: wire.NetworkMessage) -> list[Output]:
        """TRAINING_SYNC answers our HELLO: cache every peer's specialization.

        When the trainers online do not fit in one frame, the hub sends several in a row
        with ``more: true`` on all but the last (PROTOCOL.md, Joining 3): we take the
        union, and count as joined (presence complete) only after the last one.
        """
        out: list = []
        if not self._sync_pending:
            self.online = set()
            self._sync_active = []
        active = [a for a in message.payload.get("active_ais", []) or [] if isinstance(a, str)]
        self._sync_active.extend(active)
        self.online.update(active)
        for entry in message.payload.get("collaboration_opportunities", []) or []:
            parsed = wire.parse_peer(entry)
            if parsed:
                ai_id, info = parsed
                self._seen(ai_id, info)
                self.online.add(ai_id)
                out.append(PeerChanged(ai_id, info, True))
        self._sync_pending = message.payload.get("more") is True
        if self._sync_pending:
            return out
        self.joined = True
        active_all, self._sync_active = list(dict.fromkeys(self._sync_active)), []
        self._forget_offline_strangers()
        return [Joined(active_all), *out]

    def _handle_peer_joined(self, message: wire.NetworkMessage) -> list[Output]:
        parsed = wire.parse_peer(message.payload)
        if not parsed:
            raise wire.FrameError("PEER_JOINED without ai_id and specialization")
        ai_id, info = parsed
        self._seen(ai_id, info)
        self.online.add(ai_id)
        return [PeerChanged(ai_id, info, True)]

    def _handle_peer_left(self, message: wire.NetworkMessage) -> list[Output]:
        ai_id = message.payload.get("ai_id")
        if not isinstance(ai_id, str):
            raise wire.FrameError("PEER_LEFT without ai_id")
        self.online.discard(ai_id)
        info = self.known_ai_info.get(ai_id)
        if info is not None:
            self._seen(ai_id, info)
            self._forget_offline_strangers()
        return [PeerChanged(ai_id, info, False)]

    def _seen(self, ai_id: str, info: dict) -> None:
        """Note a peer's announcement; ``known_ai_info`` is kept least recently seen first."""
        self.known_ai_info.pop(ai_id, None)
        self.known_ai_info[ai_id] = info

    def _forget_offline_strangers(self) -> None:
        """Keep at most ``MAX_OFFLINE_STRANGERS`` offline peers we never dealt with, the most
        recently seen. A peer with a record (an outcome, a score) stays: that is evidence, and
        the state file keeps it anyway."""
        known = self.known_ai_info
        if len(known) <= MAX_OFFLINE_STRANGERS:
            return
        records, scores, online = self.book.records, self.book.scores, self.online
        strangers = [p for p in known if p not in online and p not in records and p not in scores]
        for peer in strangers[:max(0, len(strangers) - MAX_OFFLINE_STRANGERS)]:
            del known[peer]

    def _handle_error(self, message: wire.NetworkMessage) -> list[Output]:
        code = message.payload.get("code")
        detail = message.payload.get("detail")
        return [HubError(str(code), str(detail) if detail is not None else "")]
