"""Handshake, HELLO and presence rules of PROTOCOL.md."""

from __future__ import annotations

import re

import pytest
from hubkit import BOUND_TOKEN, SHARED, across_networks, eventually, hello_payload
from websockets.exceptions import InvalidStatus

HEX32 = re.compile(r"[0-9a-f]{32}")


def assert_hub_frame(frame: dict, recipient_id: str | None) -> None:
    assert frame["sender_id"] == "hub"
    assert frame["recipient_id"] == recipient_id
    assert HEX32.fullmatch(frame["message_id"])
    assert isinstance(frame["timestamp"], float)


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
async def test_missing_or_wrong_token_gets_http_401_and_no_upgrade(hub, connect, token):
    with pytest.raises(InvalidStatus) as info:
        await connect(hub, token=token)
    assert info.value.response.status_code == 401
    assert hub.metrics.handshakes_refused["unauthorized"] == 1


async def test_non_bearer_scheme_is_401(hub):
    from websockets.asyncio.client import connect as ws_connect

    with pytest.raises(InvalidStatus) as info:
        await ws_connect(hub.url, additional_headers={"Authorization": f"Basic {SHARED}"})
    assert info.value.response.status_code == 401


@across_networks
async def test_join_gets_training_sync_and_peers_get_peer_joined(hub, connect):
    alice = await connect(hub)
    sync = await alice.join("alice", specialization="memory", capabilities=["paging"])
    assert_hub_frame(sync, "alice")
    assert sync["payload"] == {"active_ais": [], "collaboration_opportunities": [], "global_knowledge_base": {}, "more": False}

    bob = await connect(hub)
    sync = await bob.join("bob", specialization="fs", capabilities=["ext4", "fat"])
    assert sync["payload"]["active_ais"] == ["alice"]
    assert sync["payload"]["collaboration_opportunities"] == [
        {"ai_id": "alice", "specialization": "memory", "capabilities": ["paging"]}
    ]
    joined = await alice.expect("PEER_JOINED")
    assert_hub_frame(joined, "alice")
    assert joined["payload"] == {"ai_id": "bob", "specialization": "fs", "capabilities": ["ext4", "fat"]}


@across_networks
async def test_peer_left_on_clean_close_and_on_abrupt_disconnect(hub, connect):
    alice, bob, carol = await connect(hub), await connect(hub), await connect(hub)
    await alice.join("alice")
    await bob.join("bob")
    await carol.join("carol")
    await alice.expect("PEER_JOINED")
    await alice.expect("PEER_JOINED")
    await bob.expect("PEER_JOINED")

    await bob.close()
    left = await alice.expect("PEER_LEFT")
    assert_hub_frame(left, "alice")
    assert left["payload"] == {"ai_id": "bob"}
    assert (await carol.expect("PEER_LEFT"))["payload"] == {"ai_id": "bob"}

    carol.ws.transport.abort()  # no closing handshake at all
    assert (await alice.expect("PEER_LEFT"))["payload"] == {"ai_id": "carol"}
    assert hub.joined_ids() == ["alice"]


@across_networks
async def test_frames_before_hello_get_not_joined_and_connection_stays_open(hub, connect):
    alice = await connect(hub)
    sent = await alice.send_env("COLLABORATION_REQUEST", {"request_id": "r"})
    err = await alice.expect_error("not_joined", ref=sent["message_id"])
    assert_hub_frame(err, None)  # recipient_id is null before joining
    await alice.join("alice")


async def test_hello_timeout_closes_4408_and_not_joined_frames_do_not_reset_it(start_hub, connect):
    hub = await start_hub(limits={"hello_timeout_s": 0.4})
    alice = await connect(hub)
    loop = __import__("asyncio").get_running_loop()
    started = loop.time()
    await alice.send_env("COLLABORATION_REQUEST", {})
    await alice.expect_error("not_joined")
    assert await alice.closed() == 4408
    assert loop.time() - started < 3
    assert hub.metrics.closes[4408] == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"specialization": "x", "capabilities": [], "protocol_version": 1},  # no ai_id
        hello_payload("alice", capabilities="paging"),  # not a list
        hello_payload("alice", capabilities=[1]),  # not strings
        hello_payload("alice", specialization=None),
        hello_payload("alice", protocol_version="1"),
        hello_payload(""),
        hello_payload("a" * 65),
        hello_payload("has space"),
        hello_payload("émile"),
        hello_payload("slash/id"),
        hello_payload("alice", protocol_version=2),
        hello_payload("alice", protocol_version=0),
    ],
)
async def test_bad_hello_is_refused_4400(hub, connect, payload):
    alice = await connect(hub)
    sent = await alice.send_env("HELLO", payload)
    err = await alice.expect_error("bad_hello", ref=sent["message_id"])
    assert_hub_frame(err, None)
    assert await alice.closed() == 4400
    assert hub.joined_ids() == []


async def test_longest_allowed_id_joins(hub, connect):
    t = await connect(hub)
    await t.join("A-z_0.9" + "x" * 57)  # 64 characters


async def test_shared_token_cannot_claim_an_id_with_its_own_token(hub, connect):
    t = await connect(hub, token=SHARED)
    await t.send_env("HELLO", hello_payload("bound"))
    await t.expect_error("auth_failed")
    assert await t.closed() == 4401


@across_networks
async def test_per_id_token_claims_only_its_id(hub, connect):
    t = await connect(hub, token=BOUND_TOKEN)
    await t.send_env("HELLO", hello_payload("someone-else"))
    await t.expect_error("auth_failed")
    assert await t.closed() == 4401
    t2 = await connect(hub, token=BOUND_TOKEN)
    await t2.join("bound")


async def test_per_id_tokens_only_hub(start_hub, connect):
    hub = await start_hub(shared_token=None, tokens={"a": "token-a", "b": "token-b"})
    with pytest.raises(InvalidStatus):
        await connect(hub, token=SHARED)
    a = await connect(hub, token="token-a")
    await a.join("a")
    b = await connect(hub, token="token-b")
    await b.send_env("HELLO", hello_payload("a"))
    await b.expect_error("auth_failed")
    assert await b.closed() == 4401


@across_networks
async def test_hello_check_order_bad_hello_before_auth_before_duplicate(hub, connect):
    owner = await connect(hub, token=BOUND_TOKEN)
    await owner.join("bound")
    # Invalid id with a token that could not claim it anyway: bad_hello first.
    t = await connect(hub, token=BOUND_TOKEN)
    await t.send_env("HELLO", hello_payload("bad id"))
    await t.expect_error("bad_hello")
    assert await t.closed() == 4400
    # An id already joined, claimed with a token that may not claim it: auth_failed.
    t = await connect(hub, token=SHARED)
    await t.send_env("HELLO", hello_payload("bound"))
    await t.expect_error("auth_failed")
    assert await t.closed() == 4401
    # The right token for a joined id: duplicate_id.
    t = await connect(hub, token=BOUND_TOKEN)
    await t.send_env("HELLO", hello_payload("bound"))
    await t.expect_error("duplicate_id")
    assert await t.closed() == 4409


@across_networks
async def test_duplicate_id_leaves_the_joined_session_untouched(hub, connect):
    alice, bob = await connect(hub), await connect(hub)
    await alice.join("alice")
    await bob.join("bob")
    await alice.expect("PEER_JOINED")

    impostor = await connect(hub)
    sent = await impostor.send_env("HELLO", hello_payload("alice", specialization="other"))
    await impostor.expect_error("duplicate_id", ref=sent["message_id"])
    assert await impostor.closed() == 4409

    # The original alice still receives, and nobody saw her leave or rejoin.
    req = await bob.send_env("COLLABORATION_REQUEST", {"request_id": "r1"}, recipient_id="alice")
    got = await alice.recv()
    assert got["type"] == "COLLABORATION_REQUEST" and got["message_id"] == req["message_id"]
    marker = await alice.send_env("COLLABORATION_RESPONSE", {"request_id": "r1", "accepted": True}, recipient_id="bob")
    got = await bob.recv()
    assert got["message_id"] == marker["message_id"], "bob must not have seen PEER_LEFT/PEER_JOINED for alice"
    assert hub.joined_ids() == ["alice", "bob"]


@across_networks
async def test_id_can_rejoin_after_leaving(hub, connect):
    a = await connect(hub)
    await a.join("alice")
    await a.close()
    await eventually(lambda: hub.joined_ids() == [], message="alice to leave")
    a2 = await connect(hub)
    await a2.join("alice")


async def test_hello_with_someone_elses_sender_id_is_spoofed(hub, connect):
    t = await connect(hub)
    sent = await t.send_env("HELLO", hello_payload("alice"), sender_id="mallory")
    await t.expect_error("spoofed_sender", ref=sent["message_id"])
    await t.join("alice")  # still open, still able to join


@across_networks
async def test_second_hello_is_unknown_type_and_keeps_the_session(hub, connect):
    a = await connect(hub)
    await a.join("alice")
    sent = await a.send_env("HELLO", hello_payload("alice2"))
    await a.expect_error("unknown_type", ref=sent["message_id"])
    assert hub.joined_ids() == ["alice"]


async def test_max_connections_refuses_with_http_503(start_hub, connect):
    hub = await start_hub(limits={"max_connections": 2})
    first = await connect(hub)
    await connect(hub)
    with pytest.raises(InvalidStatus) as info:
        await connect(hub)
    assert info.value.response.status_code == 503
    assert hub.metrics.handshakes_refused["max_connections"] == 1
    await first.close()
    await eventually(lambda: hub.metrics._open_connections() == 1, message="the slot to free up")
    await connect(hub)
