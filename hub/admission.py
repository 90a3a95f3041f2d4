"""Who may open a connection, decided before the websocket upgrade.

A presented token is checked in constant time against every configured one; the
``Credential`` it grants says which ids it may claim. Connections are bounded per
credential (a per-id token, or the shared token from one IP address):
``limits.max_connections_per_credential`` in all, of which
``limits.max_unjoined_per_credential`` not yet joined, and ``limits.max_connections``
for the whole hub; over any of them, HTTP 503 before the upgrade. Refusals (here and
refused or missing HELLOs later) go through ``RefusalLog``: one line in full, then one
summary line per ``limits.refusal_log_interval_s`` with counts by reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import weakref
from collections import Counter
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from .config import HubConfig
from .metrics import HubMetrics
from .protocol import fold

log = logging.getLogger("collab_hub")

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


class Admission:
    """Tokens and connection limits: ``check`` decides an opening handshake, the
    handler takes the granted ``credential`` and reports ``joined`` / ``release``."""

    def __init__(self, config: HubConfig, shared_token: str | None, metrics: HubMetrics, refusals: RefusalLog) -> None:
        self.limits = config.limits
        self.metrics = metrics
        self.refusals = refusals
        self._token_digests: list[tuple[bytes, str | None]] = []  # (sha256(token), bound id (folded) or None=shared)
        if shared_token is not None:
            self._token_digests.append((_digest(shared_token), None))
        for ai_id, token in config.tokens.items():
            self._token_digests.append((_digest(token), fold(ai_id)))
        self.bound_ids = frozenset(fold(ai_id) for ai_id in config.tokens)  # ids the shared token may not claim
        self.reserved: weakref.WeakSet[ServerConnection] = weakref.WeakSet()
        # Connections per credential key (all, and not yet joined). Weak: a connection
        # whose handshake fails after it was counted never reaches the handler.
        self._per_credential: dict[tuple[str, ...], weakref.WeakSet[ServerConnection]] = {}
        self._unjoined: dict[tuple[str, ...], weakref.WeakSet[ServerConnection]] = {}
        self._credentials: weakref.WeakKeyDictionary[ServerConnection, Credential] = weakref.WeakKeyDictionary()

    def authenticate(self, header: str | None, host: str = "?") -> Credential | None:
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

    def check(self, connection: ServerConnection, request: Request, path: str, shutting_down: bool) -> Response | None:
        """None to go on with the upgrade (the connection is counted), else the refusal."""
        remote = _addr(connection)
        if path != "/":
            return self.refuse(connection, HTTPStatus.NOT_FOUND, "not_found", remote, f"no such path {path[:100]!r}; the hub is at /")
        if shutting_down:
            return self.refuse(connection, HTTPStatus.SERVICE_UNAVAILABLE, "shutting_down", remote, "the hub is shutting down")
        credential = self.authenticate(request.headers.get("Authorization"), remote.rsplit(":", 1)[0])
        if credential is None:
            response = self.refuse(
                connection, HTTPStatus.UNAUTHORIZED, "unauthorized", remote,
                "missing or wrong token: send 'Authorization: Bearer <token>'",
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="collab-hub"'
            return response
        limits = self.limits
        key = credential.key
        held = self._per_credential.get(key)
        if held is not None and len(held) >= limits.max_connections_per_credential:
            return self.refuse(
                connection, HTTPStatus.SERVICE_UNAVAILABLE, "credential_connections", remote,
                f"this credential holds {limits.max_connections_per_credential} connections already (the limit)",
            )
        unjoined = self._unjoined.get(key)
        if unjoined is not None and len(unjoined) >= limits.max_unjoined_per_credential:
            return self.refuse(
                connection, HTTPStatus.SERVICE_UNAVAILABLE, "credential_unjoined", remote,
                f"this credential holds {limits.max_unjoined_per_credential} connections that have not joined yet (the limit)",
            )
        if len(self.reserved) >= limits.max_connections:
            return self.refuse(
                connection, HTTPStatus.SERVICE_UNAVAILABLE, "max_connections", remote,
                f"the hub is full ({limits.max_connections} connections)",
            )
        self.reserved.add(connection)
        self._credentials[connection] = credential
        if held is None:
            if len(self._per_credential) > 4 * limits.max_connections:
                self._prune()
            held = self._per_credential[key] = weakref.WeakSet()
        held.add(connection)
        if unjoined is None:
            unjoined = self._unjoined[key] = weakref.WeakSet()
        unjoined.add(connection)
        return None

    def credential(self, ws: ServerConnection) -> Credential | None:
        """The credential ``check`` granted this connection (once)."""
        return self._credentials.pop(ws, None)

    def joined(self, ws: ServerConnection, key: tuple[str, ...]) -> None:
        """The connection joined: it no longer counts as not yet joined."""
        self._release(ws, key, (self._unjoined,))

    def release(self, ws: ServerConnection, key: tuple[str, ...]) -> None:
        """The connection ended."""
        self.reserved.discard(ws)
        self._release(ws, key, (self._per_credential, self._unjoined))

    def refuse(self, connection: ServerConnection, status: HTTPStatus, reason: str, remote: str, detail: str) -> Response:
        self.metrics.handshakes_refused[reason] += 1
        self.refusals.refused(reason, remote, "refuse peer=%s reason=%s (HTTP %d: %s)", remote, reason, status.value, detail)
        return connection.respond(status, detail + "\n")

    @staticmethod
    def _release(ws: ServerConnection, key: tuple[str, ...], tables: tuple[dict[tuple[str, ...], weakref.WeakSet[ServerConnection]], ...]) -> None:
        for table in tables:
            conns = table.get(key)
            if conns is not None:
                conns.discard(ws)
                if not conns:
                    del table[key]

    def _prune(self) -> None:
        """Forget credential keys with no connection left (their connections' handshakes
        failed after they were counted, so no handler released them)."""
        for table in (self._per_credential, self._unjoined):
            for key in [k for k, conns in table.items() if not conns]:
                del table[key]


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
