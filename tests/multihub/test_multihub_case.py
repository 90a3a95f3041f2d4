"""Ids are compared case-insensitively across hubs sharing Redis (the claim script and
every key hold the case-folded id), relayed as the trainer joined with them; the
HELLO rules and REPUTATION_* frames hold across hubs too."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from hubkit import BOUND_TOKEN, SHARED, eventually, hello_payload, hello_raw
from hubkit.raw import HUB_FRAME_MAX, caps, join, open_ws, recv_json
from redis.asyncio import Redis
from websockets.asyncio.client import connect as ws_connect


async def test_case_folded_duplicates_are_refused_across_hubs(network, connect, redis_url, prefix):
    h1, h2 = await network(2)
    alice = await connect(h1)
    await alice.join("Alice")
    bob = await connect(h2)
    sync = await bob.join("bob")
    assert sync["payload"]["active_ais"] == ["Alice"]  # as she joined, through the other hub
    assert (await alice.until("PEER_JOINED"))["payload"]["ai_id"] == "bob"
    # Any case of her id is a duplicate, on either hub; her session is untouched.
    for hub, claim in ((h2, "alice"), (h2, "ALICE"), (h1, "aLiCe")):
        err, code = await hello_raw(hub.url, hello_payload(claim, specialization="other"))
        assert (err["payload"]["code"], code) == ("duplicate_id", 4409), (hub.url, claim)
    # Redis holds one claim, under the folded id; its info keeps the joined case.
    client = Redis.from_url(redis_url)
    try:
        owners = await client.hgetall(f"{prefix}:owner")
        assert sorted(owners) == [b"alice", b"bob"]
        assert b'"ai_id":"Alice"' in await client.hget(f"{prefix}:info", "alice")
    finally:
        await client.aclose()
    # recipient_id in any case reaches her across hubs; sender ids are stamped as joined.
    sent = await bob.send_env("COLLABORATION_REQUEST", {"request_id": "r"}, recipient_id="ALICE")
    got = await alice.recv()
    assert got["message_id"] == sent["message_id"] and got["sender_id"] == "bob"
    sent = await alice.send_env("COLLABORATION_RESPONSE", {"request_id": "r"}, recipient_id="BOB")
    got = await bob.recv()
    assert got["message_id"] == sent["message_id"] and got["sender_id"] == "Alice"
    # A broadcast from "Alice" is not echoed to her, and reaches bob once.
    sent = await alice.send_env("COLLABORATION_REQUEST", {"request_id": "b"})
    got = await bob.recv()
    assert got["message_id"] == sent["message_id"]
    marker = await bob.send_env("COLLABORATION_RESPONSE", {}, recipient_id="alice")
    assert (await alice.recv())["message_id"] == marker["message_id"]
    # She leaves: PEER_LEFT names her as she joined, and the id is free in any case, anywhere.
    await alice.close()
    left = await bob.until("PEER_LEFT")
    assert left["payload"] == {"ai_id": "Alice"}
    again = await connect(h2)
    await again.join("ALICE")
    assert (await bob.until("PEER_JOINED"))["payload"]["ai_id"] == "ALICE"


async def test_token_bindings_fold_across_hubs(network, connect):
    h1, h2 = await network(2)
    owner = await connect(h1, token=BOUND_TOKEN)
    await owner.join("Bound")
    for hub in (h1, h2):
        err, code = await hello_raw(hub.url, hello_payload("BOUND"), token=SHARED)
        assert (err["payload"]["code"], code) == ("auth_failed", 4401)
        err, code = await hello_raw(hub.url, hello_payload("bound"), token=BOUND_TOKEN)
        assert (err["payload"]["code"], code) == ("duplicate_id", 4409)


async def test_reserved_and_oversized_hellos_are_refused_on_every_hub(network):
    hubs = await network(2)
    for hub in hubs:
        for payload in (hello_payload("Hub"), hello_payload("x", specialization="s" * 1_000_000),
                        hello_payload("x", capabilities=["c"] * 33)):
            err, code = await hello_raw(hub.url, payload)
            assert (err["payload"]["code"], code) == ("bad_hello", 4400)


async def test_concurrent_claims_in_different_cases_admit_exactly_one(network):
    h1, h2 = await network(2)

    async def claim(hub, ai_id):
        ws = await ws_connect(hub.url, additional_headers={"Authorization": f"Bearer {SHARED}"}, compression=None)
        await ws.send(json.dumps({"type": "HELLO", "message_id": uuid.uuid4().hex, "timestamp": time.time(),
                                  "payload": hello_payload(ai_id)}))
        got = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return ws, got["type"]

    results = await asyncio.gather(*(claim(h, name) for h, name in ((h1, "carol"), (h2, "CAROL"), (h1, "Carol"), (h2, "cArOl"))))
    assert sorted(t for _, t in results) == ["ERROR", "ERROR", "ERROR", "TRAINING_SYNC"]
    await eventually(lambda: len(h1.joined_ids()) + len(h2.joined_ids()) == 1, message="exactly one carol")
    for ws, _ in results:
        ws.transport.abort()


async def test_training_sync_across_hubs_is_split_into_frames_of_at_most_256_kib(network):
    n = 120
    limits = {"max_connections_per_credential": n + 10, "max_unjoined_per_credential": n + 10}
    h1, h2 = await network(2, limits=limits)
    ids = [f"T{i:03d}-" + "q" * 59 for i in range(n)]  # 64 characters, upper case kept
    fillers = [(await join(h1.url, ai_id, specialization="s" * 64, capabilities=caps()))[0] for ai_id in ids]
    ws = await open_ws(h2.url)
    await ws.send(json.dumps({"type": "HELLO", "message_id": uuid.uuid4().hex, "timestamp": time.time(),
                              "payload": hello_payload("newcomer")}))
    frames = []
    while True:
        got, size = await recv_json(ws)
        assert got["type"] == "TRAINING_SYNC" and size <= HUB_FRAME_MAX
        frames.append(got["payload"])
        if not got["payload"].get("more", False):
            break
    assert len(frames) >= 2 and [f["more"] for f in frames] == [True] * (len(frames) - 1) + [False]
    assert sorted(i for f in frames for i in f["active_ais"]) == sorted(ids)
    for filler in fillers:
        filler.transport.abort()
