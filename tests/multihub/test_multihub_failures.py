"""Failures: a hub killed with SIGKILL, Redis restarted under running hubs."""

from __future__ import annotations

import asyncio
import logging
import signal

from hubkit import TEST_TTL_S, connect_to, eventually, http_get, metric_lines, start_hub_process


async def test_sigkilled_hubs_trainers_leave_within_15_s_and_rejoin_elsewhere(network, connect, redis_url, prefix, tmp_path):
    h1, h2 = await network(2)
    victim_hub = await start_hub_process(tmp_path, redis_url, prefix)
    try:
        w1, _ = await connect(h1), None
        await w1.join("w1")
        w2 = await connect(h2)
        await w2.join("w2")
        await w1.expect("PEER_JOINED")
        v1 = await connect_to(victim_hub.url)
        v2 = await connect_to(victim_hub.url)
        sync = await v1.join("v1")
        assert sorted(sync["payload"]["active_ais"]) == ["w1", "w2"]
        await v2.join("v2")
        for w in (w1, w2):
            got = {(await w.expect("PEER_JOINED"))["payload"]["ai_id"] for _ in range(2)}
            assert got == {"v1", "v2"}
        # Cross-process routing works before the kill.
        req = await w2.send_env("COLLABORATION_REQUEST", {"request_id": "r"}, recipient_id="v1")
        assert (await v1.until("COLLABORATION_REQUEST"))["message_id"] == req["message_id"]

        loop = asyncio.get_running_loop()
        victim_hub.proc.send_signal(signal.SIGKILL)
        killed_at = loop.time()
        await victim_hub.proc.wait()
        for w in (w1, w2):
            left = {(await w.expect("PEER_LEFT", timeout=15))["payload"]["ai_id"] for _ in range(2)}
            assert left == {"v1", "v2"}
        elapsed = loop.time() - killed_at
        assert elapsed < 15, f"announced {elapsed:.1f} s after the kill with a {TEST_TTL_S} s TTL"
        assert "collab_hub_remote_trainers 1" in metric_lines(h1)  # only w2

        # v1 rejoins through another hub and is reachable from everywhere.
        v1b = await connect(h2)
        sync = await v1b.join("v1")
        assert sorted(sync["payload"]["active_ais"]) == ["w1", "w2"]
        assert (await w1.expect("PEER_JOINED"))["payload"]["ai_id"] == "v1"
        req = await w1.send_env("COLLABORATION_REQUEST", {"request_id": "again"}, recipient_id="v1")
        assert (await v1b.until("COLLABORATION_REQUEST"))["message_id"] == req["message_id"]
    finally:
        if victim_hub.proc.returncode is None:
            victim_hub.proc.kill()
            await victim_hub.proc.wait()


async def test_hubs_survive_a_redis_restart_and_resync_presence(network, connect, own_redis, caplog):
    caplog.set_level(logging.INFO, logger="collab_hub")
    h1, h2 = await network(2, url=own_redis.url, presence_ttl_s=30.0)  # outage shorter than the TTL
    a1 = await connect(h1)
    await a1.join("a1")
    a2 = await connect(h1)
    await a2.join("a2")
    b1 = await connect(h2)
    await b1.join("b1")
    await a1.expect("PEER_JOINED")
    for t in (a1, a2):
        await t.until("PEER_JOINED")

    own_redis.stop()
    for h in (h1, h2):
        await eventually(lambda h=h: not h.broker.up, timeout=10, message="the hubs to notice Redis is gone")
    status, body = await http_get(h1.http_url + "metrics")
    assert status == 200 and 'collab_hub_broker_up{kind="redis"} 0' in body.splitlines()
    assert 'collab_hub_broker_outages_total{kind="redis"} 1' in body.splitlines()
    assert any("unreachable" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)

    # Local trainers are still served: routing, broadcasts, joins and leaves.
    req = await a1.send_env("COLLABORATION_REQUEST", {"request_id": "local"}, recipient_id="a2")
    assert (await a2.recv())["message_id"] == req["message_id"]
    bc = await a2.send_env("COLLABORATION_REQUEST", {"request_id": "bc"})
    assert (await a1.recv())["message_id"] == bc["message_id"]
    a3 = await connect(h1)
    sync = await a3.join("a3")
    assert sorted(sync["payload"]["active_ais"]) == ["a1", "a2", "b1"]
    for t in (a1, a2):
        assert (await t.expect("PEER_JOINED"))["payload"]["ai_id"] == "a3"
    await a2.close()
    for t in (a1, a3):
        assert (await t.expect("PEER_LEFT"))["payload"]["ai_id"] == "a2"
    # A remote trainer cannot be reached meanwhile: the sender is told.
    req = await a1.send_env("COLLABORATION_REQUEST", {"request_id": "far"}, recipient_id="b1")
    await a1.expect_error("unknown_recipient", ref=req["message_id"])

    # Redis comes back (empty: no persistence). Both hubs reconnect and re-claim.
    own_redis.start()
    for h in (h1, h2):
        await eventually(lambda h=h: h.broker.up, timeout=10, message="the hubs to reconnect")
    assert 'collab_hub_broker_up{kind="redis"} 1' in metric_lines(h1)
    assert any("reconnected" in r.getMessage() for r in caplog.records)
    # b1 (hub 2) learns about a3 and that a2 left; never hears a1 leave.
    seen = []
    while {"a3", "a2"} - {ai for _, ai in seen}:
        f = await b1.recv(timeout=10)
        seen.append((f["type"], f["payload"].get("ai_id")))
    assert ("PEER_JOINED", "a3") in seen and ("PEER_LEFT", "a2") in seen
    assert ("PEER_LEFT", "a1") not in seen
    # Cross-hub routing works again, both ways.
    req = await a1.send_env("COLLABORATION_REQUEST", {"request_id": "back"}, recipient_id="b1")
    assert (await b1.until("COLLABORATION_REQUEST"))["message_id"] == req["message_id"]
    req = await b1.send_env("COLLABORATION_REQUEST", {"request_id": "back2"}, recipient_id="a3")
    assert (await a3.until("COLLABORATION_REQUEST"))["message_id"] == req["message_id"]
    assert sorted(p.ai_id for p in await h2.broker.peers()) == ["a1", "a3", "b1"]
    # Duplicate ids are refused across hubs again.
    dup = await connect(h2)
    await dup.send_env("HELLO", {"ai_id": "a3", "specialization": "x", "capabilities": [], "protocol_version": 1})
    await dup.expect_error("duplicate_id")


async def test_outage_longer_than_the_ttl_announces_remote_trainers_left_then_back(network, connect, own_redis):
    h1, h2 = await network(2, url=own_redis.url, presence_ttl_s=1.0)
    a = await connect(h1)
    await a.join("a")
    b = await connect(h2)
    await b.join("b")
    await a.expect("PEER_JOINED")
    own_redis.stop()
    # Each side announces the other's trainers as left once the outage outlives a claim.
    assert (await a.expect("PEER_LEFT", timeout=10))["payload"]["ai_id"] == "b"
    assert (await b.expect("PEER_LEFT", timeout=10))["payload"]["ai_id"] == "a"
    own_redis.start()
    assert (await a.expect("PEER_JOINED", timeout=10))["payload"]["ai_id"] == "b"
    assert (await b.expect("PEER_JOINED", timeout=10))["payload"]["ai_id"] == "a"
    req = await a.send_env("COLLABORATION_REQUEST", {"request_id": "r"}, recipient_id="b")
    assert (await b.until("COLLABORATION_REQUEST"))["message_id"] == req["message_id"]
