"""Limits and close codes: 1009, 1007, rate_limited / 4429, slow receivers (1013),
hub faults (1011), shutdown (1001), /healthz and /metrics."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request

import pytest
from hubkit import envelope, eventually
from websockets.exceptions import InvalidStatus

from collab_hub.broker import LocalBroker


async def http_get(url: str) -> tuple[int, str, str]:
    def get() -> tuple[int, str, str]:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()

    return await asyncio.to_thread(get)


async def pair(hub, connect):
    alice, bob = await connect(hub), await connect(hub)
    await alice.join("alice")
    await bob.join("bob")
    await alice.expect("PEER_JOINED")
    return alice, bob


async def test_oversize_message_closes_1009_and_others_carry_on(start_hub, connect):
    hub = await start_hub(limits={"max_message_bytes": 4096})
    alice, bob = await pair(hub, connect)
    carol = await connect(hub)
    await carol.join("carol")
    await alice.expect("PEER_JOINED")
    await bob.expect("PEER_JOINED")
    # Exactly at the limit is fine.
    frame = envelope("COLLABORATION_REQUEST", {"pad": ""}, recipient_id="bob")
    frame["payload"]["pad"] = "x" * (4096 - len(json.dumps(frame)))
    assert len(json.dumps(frame).encode()) == 4096
    await alice.send(frame)
    assert (await bob.recv())["message_id"] == frame["message_id"]
    # One byte over closes the sender with 1009.
    frame["payload"]["pad"] += "x"
    await alice.send(frame)
    assert await alice.closed() == 1009
    assert (await bob.expect("PEER_LEFT"))["payload"]["ai_id"] == "alice"
    marker = await carol.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob")
    assert (await bob.recv())["message_id"] == marker["message_id"]
    assert hub.metrics.closes[1009] == 1


async def test_invalid_utf8_closes_1007(hub, connect):
    alice, bob = await pair(hub, connect)
    await alice.ws.send(b'{"type": "\xff\xfe"}', text=True)
    assert await alice.closed() == 1007
    assert (await bob.expect("PEER_LEFT"))["payload"]["ai_id"] == "alice"


async def test_rate_limited_frames_are_dropped_with_an_error_each(start_hub, connect):
    hub = await start_hub(limits={"rate_per_s": 0.5, "rate_burst": 3})
    alice, bob = await pair(hub, connect)  # HELLO used one token
    frames = [envelope("COLLABORATION_REQUEST", {"i": i}, recipient_id="bob") for i in range(4)]
    for f in frames:
        await alice.send(f)
    assert (await bob.recv())["message_id"] == frames[0]["message_id"]
    assert (await bob.recv())["message_id"] == frames[1]["message_id"]
    await alice.expect_error("rate_limited", ref=frames[2]["message_id"])
    await alice.expect_error("rate_limited", ref=frames[3]["message_id"])
    assert hub.metrics.errors["rate_limited"] == 2
    # Undecodable frames count against the rate too, and are refused as rate_limited.
    await alice.send("garbage")
    await alice.expect_error("rate_limited")


async def test_still_flooding_after_flood_close_s_closes_4429(start_hub, connect):
    hub = await start_hub(limits={"rate_per_s": 20, "rate_burst": 5, "flood_close_s": 0.3})
    alice, bob = await pair(hub, connect)
    errors = 0

    async def read_errors() -> int | None:
        nonlocal errors
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                frame = json.loads(await alice.ws.recv())
                if frame["type"] == "ERROR" and frame["payload"]["code"] == "rate_limited":
                    errors += 1
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None

    reader = asyncio.create_task(read_errors())
    from websockets.exceptions import ConnectionClosed

    async with asyncio.timeout(10):
        try:
            while not reader.done():
                await alice.send(envelope("COLLABORATION_REQUEST", {}, recipient_id="bob"))
                await asyncio.sleep(0.002)  # pace the flood (~500/s), far above 20/s
        except ConnectionClosed:
            pass
        code = await reader
    assert code == 4429
    assert errors >= 1
    assert hub.metrics.closes[4429] == 1
    assert (await bob.until("PEER_LEFT"))["payload"]["ai_id"] == "alice"


async def test_burst_within_limits_loses_nothing(start_hub, connect):
    hub = await start_hub(limits={"rate_per_s": 100, "rate_burst": 200})
    alice, bob = await pair(hub, connect)
    frames = [envelope("COLLABORATION_REQUEST", {"i": i}, recipient_id="bob") for i in range(150)]
    for f in frames:
        await alice.send(f)
    got = [(await bob.recv())["message_id"] for _ in frames]
    assert got == [f["message_id"] for f in frames]


async def stalled_client(hub, connect, ai_id: str):
    """A trainer that joins, then stops reading: tiny socket receive buffer and a
    websockets receive queue of one frame, so the hub's writes back up quickly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", hub.port))
    t = await connect(hub, sock=sock, max_queue=1)
    await t.join(ai_id)
    return t


async def test_slow_receiver_is_closed_1013_and_never_delays_the_others(start_hub, connect):
    hub = await start_hub(limits={"outbound_queue": 20, "rate_per_s": 100000, "rate_burst": 100000})
    fast, sender = await pair(hub, connect)  # fast = alice, sender = bob
    slow = await stalled_client(hub, connect, "slow")
    await fast.expect("PEER_JOINED")
    await sender.expect("PEER_JOINED")
    # The slow trainer reads nothing from here on.
    big = "y" * 60_000
    sent: list[str] = []
    received: list[str] = []
    async with asyncio.timeout(20):
        while hub.metrics.slow_receivers_disconnected == 0:
            assert len(sent) < 2000, "the stalled receiver was never disconnected"
            frame = await sender.send_env("COLLABORATION_REQUEST", {"pad": big})  # broadcast
            sent.append(frame["message_id"])
            # The fast receiver gets every frame right away, whatever the slow one does.
            received.append((await fast.recv())["message_id"])
    assert received == sent
    left = await fast.expect("PEER_LEFT")
    assert left["payload"]["ai_id"] == "slow"
    assert "slow" not in hub.joined_ids()
    # Directed delivery still flows both ways after the disconnect.
    marker = await fast.send_env("COLLABORATION_RESPONSE", {}, recipient_id="bob")
    got = await sender.recv()
    while got["type"] == "PEER_LEFT":
        got = await sender.recv()
    assert got["message_id"] == marker["message_id"]
    # The slow trainer sees 1013 (or only 1006 if its socket never drained).
    code = await slow.closed(timeout=10)
    assert code in (1013, None)
    assert hub.metrics.closes[1013] == 1
    text = hub.metrics.render()
    assert "collab_hub_slow_receivers_disconnected_total 1" in text


class FaultyBroker(LocalBroker):
    async def deliver(self, recipient_id, frame):
        if recipient_id == "boom":
            raise RuntimeError("injected fault")
        return await super().deliver(recipient_id, frame)


async def test_hub_fault_closes_only_that_connection_1011(start_hub, connect):
    hub = await start_hub(broker=FaultyBroker())
    alice, bob = await pair(hub, connect)
    await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="boom")
    assert await alice.closed() == 1011
    assert (await bob.expect("PEER_LEFT"))["payload"]["ai_id"] == "alice"
    carol = await connect(hub)
    await carol.join("carol")
    await bob.expect("PEER_JOINED")
    marker = await carol.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob")
    assert (await bob.recv())["message_id"] == marker["message_id"]
    assert hub.metrics.closes[1011] == 1


async def test_graceful_close_sends_1001_to_everyone(start_hub, connect):
    hub = await start_hub()
    alice, bob = await pair(hub, connect)
    pending = await connect(hub)  # connected, not joined
    loop = asyncio.get_running_loop()
    started = loop.time()
    closing = asyncio.create_task(hub.close())
    assert await alice.closed() == 1001
    assert await bob.closed() == 1001
    assert await pending.closed() == 1001
    await closing
    assert loop.time() - started < 5
    with pytest.raises(OSError):
        await connect(hub.url)


async def test_healthz_200_then_503_while_shutting_down(start_hub):
    hub = await start_hub()
    assert await http_get(hub.http_url + "healthz") == (200, "text/plain; charset=utf-8", "ok\n")
    hub.begin_shutdown()
    status, _, body = await http_get(hub.http_url + "healthz")
    assert status == 503 and "shutting down" in body


async def test_new_handshakes_refused_503_while_shutting_down(hub, connect):
    hub.begin_shutdown()
    with pytest.raises(InvalidStatus) as info:
        await connect(hub)
    assert info.value.response.status_code == 503


async def test_unknown_path_is_404(hub, connect):
    status, _, _ = await http_get(hub.http_url + "nope")
    assert status == 404
    with pytest.raises(InvalidStatus) as info:
        await connect(hub.url + "elsewhere")
    assert info.value.response.status_code == 404


async def test_metrics_prometheus_text(hub, connect):
    alice, bob = await pair(hub, connect)
    await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob")
    await bob.recv()
    await alice.send("junk")
    await alice.expect_error("bad_json")
    pending = await connect(hub)  # open, not joined
    await eventually(lambda: hub.metrics._open_connections() == 3, message="3 open connections")
    status, ctype, body = await http_get(hub.http_url + "metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    lines = set(body.splitlines())
    assert "collab_hub_open_connections 3" in lines
    assert "collab_hub_joined_trainers 2" in lines
    assert 'collab_hub_frames_in_total{type="HELLO"} 2' in lines
    assert 'collab_hub_frames_in_total{type="COLLABORATION_REQUEST"} 1' in lines
    assert 'collab_hub_frames_in_total{type="invalid"} 1' in lines
    assert 'collab_hub_frames_out_total{type="COLLABORATION_REQUEST"} 1' in lines
    assert 'collab_hub_frames_out_total{type="TRAINING_SYNC"} 2' in lines
    assert 'collab_hub_frames_out_total{type="PEER_JOINED"} 1' in lines
    assert 'collab_hub_errors_total{code="bad_json"} 1' in lines
    assert 'collab_hub_errors_total{code="rate_limited"} 0' in lines
    assert "collab_hub_slow_receivers_disconnected_total 0" in lines
    assert "# TYPE collab_hub_frames_in_total counter" in lines
    for line in body.splitlines():
        assert line.startswith("#") or line.startswith("collab_hub_"), line
    await pending.close()
