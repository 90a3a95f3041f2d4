"""Several hubs, one network: routing, presence and duplicate ids across hubs
sharing one Redis (in-process hubs, each with its own RedisBroker and connections)."""

from __future__ import annotations

import asyncio

from hubkit import TEST_TTL_S, eventually, hello_payload, http_get, metric_lines
from redis.asyncio import Redis


async def joined(connect, hub, ai_id: str, **hello):
    t = await connect(hub)
    sync = await t.join(ai_id, **hello)
    return t, sync


async def test_directed_frames_cross_hubs_and_reach_only_their_recipient(network, connect):
    h1, h2, h3 = await network(3)
    a, _ = await joined(connect, h1, "a")
    b, _ = await joined(connect, h2, "b")
    c, sync = await joined(connect, h3, "c")
    assert sorted(sync["payload"]["active_ais"]) == ["a", "b"]
    await a.until("PEER_JOINED")
    await a.until("PEER_JOINED")
    await b.until("PEER_JOINED")

    for sender, recipient, others in ((a, b, (c,)), (b, c, (a,)), (c, a, (b,))):
        sent = await sender.send_env("COLLABORATION_REQUEST", {"request_id": f"{sender.ai_id}->{recipient.ai_id}"}, recipient_id=recipient.ai_id)
        got = await recipient.recv()
        assert got["message_id"] == sent["message_id"]
        assert got["sender_id"] == sender.ai_id and got["recipient_id"] == recipient.ai_id
        assert got["payload"] == sent["payload"]
        for other in others:  # the next frame another trainer sees is a later marker
            marker = await recipient.send_env("COLLABORATION_RESPONSE", {"request_id": "m"}, recipient_id=other.ai_id)
            assert (await other.recv())["message_id"] == marker["message_id"]
    # a sent two frames to other hubs and received two from them (counted once Redis answers).
    await eventually(lambda: h1.broker.status().frames_published == 2, message="hub 1 to count 2 published frames")
    assert h1.broker.status().frames_received == 2


async def test_broadcast_reaches_every_trainer_on_every_hub_exactly_once_never_its_sender(network, connect):
    hubs = await network(3)
    trainers = []
    for i in range(6):  # two per hub
        t, _ = await joined(connect, hubs[i % 3], f"t{i}")
        trainers.append(t)
    for t in trainers:  # everyone has heard of everyone
        others = set()
        sync_seen = {x.ai_id for x in trainers[: trainers.index(t)]}
        while len(others | sync_seen) < 5:
            others.add((await t.until("PEER_JOINED"))["payload"]["ai_id"])
    sent = {}
    for t in trainers:
        frame = await t.send_env("COLLABORATION_REQUEST", {"request_id": t.ai_id, "feature": "fs"})
        sent[frame["message_id"]] = t.ai_id
    for t in trainers:
        got = [await t.recv() for _ in range(5)]
        ids = [g["message_id"] for g in got]
        assert len(set(ids)) == 5, f"{t.ai_id} got a broadcast twice: {ids}"
        assert {sent[i] for i in ids} == {x.ai_id for x in trainers} - {t.ai_id}, "missing a broadcast, or echoed to its sender"
        for g in got:
            assert g["sender_id"] == sent[g["message_id"]] and g["recipient_id"] is None
    # No extra copies afterwards: the next frame each trainer sees is a directed marker.
    for i, t in enumerate(trainers):
        sender = trainers[(i + 1) % 6]
        marker = await sender.send_env("COLLABORATION_RESPONSE", {"request_id": "end"}, recipient_id=t.ai_id)
        assert (await t.recv())["message_id"] == marker["message_id"]


async def test_presence_crosses_hubs(network, connect):
    h1, h2 = await network(2)
    alice, sync = await joined(connect, h1, "alice", specialization="memory", capabilities=["paging"])
    assert sync["payload"]["active_ais"] == []
    bob, sync = await joined(connect, h2, "bob", specialization="fs", capabilities=["ext4"])
    assert sync["payload"]["active_ais"] == ["alice"]
    assert sync["payload"]["collaboration_opportunities"] == [{"ai_id": "alice", "specialization": "memory", "capabilities": ["paging"]}]
    pj = await alice.expect("PEER_JOINED")
    assert pj["payload"] == {"ai_id": "bob", "specialization": "fs", "capabilities": ["ext4"]}
    assert pj["sender_id"] == "hub" and pj["recipient_id"] == "alice"
    carol, sync = await joined(connect, h1, "carol")
    assert sorted(sync["payload"]["active_ais"]) == ["alice", "bob"]
    assert (await alice.expect("PEER_JOINED"))["payload"]["ai_id"] == "carol"
    assert (await bob.expect("PEER_JOINED"))["payload"]["ai_id"] == "carol"
    await eventually(lambda: "collab_hub_remote_trainers 2" in metric_lines(h2), message="hub 2 to know 2 remote trainers")
    assert "collab_hub_remote_trainers 1" in metric_lines(h1)
    assert sorted(p.ai_id for p in await h2.broker.peers()) == ["alice", "bob", "carol"]

    await bob.close()  # clean close on hub 2
    for t in (alice, carol):
        assert (await t.expect("PEER_LEFT"))["payload"] == {"ai_id": "bob"}
    carol.ws.transport.abort()  # abrupt disconnect on hub 1
    assert (await alice.expect("PEER_LEFT"))["payload"] == {"ai_id": "carol"}
    dave, sync = await joined(connect, h2, "dave")
    assert sync["payload"]["active_ais"] == ["alice"]
    assert (await alice.expect("PEER_JOINED"))["payload"]["ai_id"] == "dave"


async def test_duplicate_id_is_refused_across_hubs_and_the_claim_is_kept_alive(network, connect, redis_url, prefix):
    h1, h2, h3 = await network(3)
    alice, _ = await joined(connect, h1, "alice")
    bob, _ = await joined(connect, h2, "bob")
    await alice.expect("PEER_JOINED")

    impostor = await connect(h2)
    sent = await impostor.send_env("HELLO", hello_payload("alice", specialization="other"))
    await impostor.expect_error("duplicate_id", ref=sent["message_id"])
    assert await impostor.closed() == 4409

    # Concurrent claims of one id through three hubs: exactly one wins.
    racers = [await connect(h) for h in (h1, h2, h3)]
    await asyncio.gather(*(r.send_env("HELLO", hello_payload("zed")) for r in racers))
    firsts = await asyncio.gather(*(r.recv() for r in racers))
    assert sorted(f["type"] for f in firsts) == ["ERROR", "ERROR", "TRAINING_SYNC"]
    assert all(f["payload"]["code"] == "duplicate_id" for f in firsts if f["type"] == "ERROR")

    # The claim has a TTL that its hub keeps refreshing: well past the first
    # expiry, the id is still held (and refused elsewhere).
    redis = Redis.from_url(redis_url)
    try:
        first_expiry = await redis.zscore(f"{prefix}:expiry", "alice")
        assert first_expiry is not None

        async def first_expiry_passed() -> bool:
            secs, micros = await redis.time()
            return secs * 1000 + micros // 1000 > first_expiry + 500

        loop = asyncio.get_running_loop()
        deadline = loop.time() + TEST_TTL_S * 3
        while not await first_expiry_passed():
            assert loop.time() < deadline, "Redis clock did not pass the first expiry"
            await asyncio.sleep(0.1)
        assert (await redis.zscore(f"{prefix}:expiry", "alice")) > first_expiry
        assert (await redis.hget(f"{prefix}:owner", "alice")).decode() == h1.broker.hub_id
    finally:
        await redis.aclose()
    again = await connect(h3)
    await again.send_env("HELLO", hello_payload("alice"))
    await again.expect_error("duplicate_id")
    assert await again.closed() == 4409
    # And alice was never disturbed: bob (hub 2) still reaches her, nobody saw her leave.
    req = await bob.send_env("COLLABORATION_REQUEST", {"request_id": "r"}, recipient_id="alice")
    assert (await alice.until("COLLABORATION_REQUEST"))["message_id"] == req["message_id"]


async def test_metrics_show_the_broker_state(network, connect):
    (h1,) = await network(1)
    status, body = await http_get(h1.http_url + "metrics")
    assert status == 200
    lines = set(body.splitlines())
    assert 'collab_hub_broker_up{kind="redis"} 1' in lines
    assert 'collab_hub_broker_outages_total{kind="redis"} 0' in lines
    assert "collab_hub_remote_trainers 0" in lines
    assert "# TYPE collab_hub_broker_up gauge" in lines
