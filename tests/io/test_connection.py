"""The hub link against real websocket servers on loopback: real close reasons, a
backoff that only starts again after a connection that lasted, human reasons."""
from __future__ import annotations

import asyncio
import socket

import pytest
from websockets.asyncio.server import serve

from collab_tui.io import connection as connection_module
from collab_tui.io.connection import HubLink, describe_close


class Statuses:
    """Every status the link reports; stops the link after ``stop_after`` retries."""

    def __init__(self, stop_after: int) -> None:
        self.seen: list[tuple[str, str, float | None]] = []
        self.stop_after = stop_after
        self.link: HubLink | None = None

    def __call__(self, status) -> None:
        self.seen.append((status.state, status.detail, status.retry_at))
        if status.state == "reconnecting" and status.retry_at is not None:
            if len(self.retries()) >= self.stop_after:
                asyncio.get_running_loop().create_task(self.link.stop())

    def retries(self) -> list[tuple[str, float]]:
        return [(d, r) for s, d, r in self.seen if s == "reconnecting" and r is not None]


async def run_link(url: str, stop_after: int) -> Statuses:
    statuses = Statuses(stop_after)

    async def on_open(ws) -> None:
        return None

    link = HubLink(url, None, on_open=on_open, on_text=lambda t: None, on_status=statuses,
                   on_close=lambda: None, clock=lambda: 0.0)
    statuses.link = link
    await asyncio.wait_for(link.run(), 20)
    return statuses


async def test_a_frame_over_our_limit_is_reported_as_1009_with_its_size():
    async def handler(ws) -> None:
        await ws.send("x" * (2 * 1024 * 1024))
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        statuses = await run_link(f"ws://127.0.0.1:{port}/", stop_after=1)
    detail = statuses.retries()[0][0]
    assert detail.startswith("close 1009 (message too big")
    assert "2097152 bytes" in detail and "1006" not in detail


async def test_the_hubs_own_close_code_and_reason_are_reported():
    async def handler(ws) -> None:
        await ws.close(1013, "queue full")

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        statuses = await run_link(f"ws://127.0.0.1:{port}/", stop_after=1)
    assert statuses.retries()[0][0] == "close 1013 (our queue at the hub was full: queue full)"


@pytest.mark.parametrize(("stable_after", "grows"), [(3600.0, True), (0.0, False)])
async def test_backoff_starts_again_only_after_a_connection_that_lasted(monkeypatch, stable_after, grows):
    monkeypatch.setattr(connection_module, "BACKOFF_START_S", 0.01)
    monkeypatch.setattr(connection_module, "STABLE_JOIN_S", stable_after)

    async def handler(ws) -> None:
        await ws.close(1011, "boom")

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        statuses = await run_link(f"ws://127.0.0.1:{port}/", stop_after=5)
    waits = [retry_at for _, retry_at in statuses.retries()]   # the clock reads 0: retry_at is the wait
    assert len(waits) == 5
    if grows:
        # delay doubles: the n-th wait is in [d, 1.5 d] with d = 0.01 * 2**n
        assert all(0.01 * 2 ** n <= w <= 0.015 * 2 ** n for n, w in enumerate(waits))
    else:
        assert all(0.01 <= w <= 0.015 for w in waits)


async def test_an_unreachable_hub_is_described_in_words_not_an_exception_dump():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # closed again when the block ends: nothing listens
    statuses = await run_link(f"ws://127.0.0.1:{port}/", stop_after=1)
    assert statuses.retries()[0][0] == "hub unreachable: connection refused"


def test_describe_close_cleans_the_reason():
    assert describe_close(1011, "\x1b[2Jpwned\x07") == "close 1011 (hub fault: pwned)"
    assert describe_close(4999, "") == "close 4999"
