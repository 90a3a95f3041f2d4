"""Routing, sender stamping and per-frame errors (the connection stays open)."""

from __future__ import annotations

import json

import pytest
from hubkit import across_networks, envelope


@pytest.fixture
async def trio(hub, connect):
    """alice, bob and carol joined, with their PEER_JOINED frames consumed."""
    alice, bob, carol = await connect(hub), await connect(hub), await connect(hub)
    await alice.join("alice")
    await bob.join("bob")
    await carol.join("carol")
    await alice.expect("PEER_JOINED")
    await alice.expect("PEER_JOINED")
    await bob.expect("PEER_JOINED")
    return alice, bob, carol


@across_networks
async def test_directed_frame_reaches_only_its_recipient(trio):
    alice, bob, carol = trio
    req = await alice.send_env("COLLABORATION_REQUEST", {"request_id": "r"}, recipient_id="bob")
    got = await bob.recv()
    assert got["message_id"] == req["message_id"]
    assert got["sender_id"] == "alice" and got["recipient_id"] == "bob"
    # The next thing carol sees is a later marker, so the directed frame never reached her.
    marker = await bob.send_env("COLLABORATION_RESPONSE", {"request_id": "m"}, recipient_id="carol")
    assert (await carol.recv())["message_id"] == marker["message_id"]
    # And alice got no copy either.
    marker2 = await bob.send_env("COLLABORATION_RESPONSE", {"request_id": "m2"}, recipient_id="alice")
    assert (await alice.recv())["message_id"] == marker2["message_id"]


@across_networks
async def test_broadcast_reaches_every_other_trainer_and_is_never_echoed(trio):
    alice, bob, carol = trio
    req = await alice.send_env("COLLABORATION_REQUEST", {"request_id": "r", "feature": "fs"})
    for t in (bob, carol):
        got = await t.recv()
        assert got["message_id"] == req["message_id"]
        assert got["sender_id"] == "alice" and got["recipient_id"] is None
        assert got["payload"] == req["payload"]
    marker = await bob.send_env("COLLABORATION_RESPONSE", {"request_id": "r"}, recipient_id="alice")
    assert (await alice.recv())["message_id"] == marker["message_id"], "the broadcast was echoed to its sender"


@across_networks
async def test_absent_or_own_sender_id_is_stamped(trio):
    alice, bob, _ = trio
    a = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob")
    assert "sender_id" not in a
    assert (await bob.recv())["sender_id"] == "alice"
    await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob", sender_id="alice")
    assert (await bob.recv())["sender_id"] == "alice"
    await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob", sender_id=None)
    assert (await bob.recv())["sender_id"] == "alice"


@across_networks
async def test_spoofed_sender_is_refused_and_not_forwarded(trio):
    alice, bob, carol = trio
    sent = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob", sender_id="carol")
    await alice.expect_error("spoofed_sender", ref=sent["message_id"])
    sent = await alice.send_env("COLLABORATION_REQUEST", {}, sender_id="hub")  # broadcast as "hub"
    await alice.expect_error("spoofed_sender", ref=sent["message_id"])
    marker = await carol.send_env("COLLABORATION_RESPONSE", {}, recipient_id="bob")
    assert (await bob.recv())["message_id"] == marker["message_id"]
    marker = await bob.send_env("COLLABORATION_RESPONSE", {}, recipient_id="carol")
    assert (await carol.recv())["message_id"] == marker["message_id"]


@across_networks
async def test_unknown_recipient_including_self(trio):
    alice, bob, _ = trio
    sent = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="nobody")
    err = await alice.expect_error("unknown_recipient", ref=sent["message_id"])
    assert err["recipient_id"] == "alice" and err["sender_id"] == "hub"
    sent = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="alice")
    await alice.expect_error("unknown_recipient", ref=sent["message_id"])
    sent = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="hub")
    await alice.expect_error("unknown_recipient", ref=sent["message_id"])
    # Still joined and routing.
    ok = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob")
    assert (await bob.recv())["message_id"] == ok["message_id"]


@across_networks
@pytest.mark.parametrize("type_", ["ERROR", "TRAINING_SYNC", "PEER_JOINED", "PEER_LEFT", "HACK", "", "collaboration_request"])
async def test_types_a_client_may_not_send_are_unknown_type(trio, type_):
    alice, bob, _ = trio
    sent = await alice.send_env(type_, {}, recipient_id="bob")
    await alice.expect_error("unknown_type", ref=sent["message_id"])
    marker = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob")
    assert (await bob.recv())["message_id"] == marker["message_id"]


RELAYED = ["COLLABORATION_REQUEST", "COLLABORATION_RESPONSE", "OS_COMPONENT_SHARE", "REPUTATION_QUERY", "REPUTATION_REPORT"]


@across_networks
@pytest.mark.parametrize("type_", RELAYED)
async def test_each_relayed_type_is_relayed_with_payload_as_sent(trio, type_):
    alice, bob, _ = trio
    payload = {"request_id": None, "component": {"id": "c", "content": "héllo ✓ \u2028 \U0001F600"}, "n": [1, 2.5, True, None], "deep": {"a": {"b": {"c": []}}}}
    frame = envelope(type_, payload, recipient_id="bob")
    raw = json.dumps(frame, ensure_ascii=False)
    await alice.send(raw)
    got = await bob.recv()
    assert got["type"] == type_ and got["payload"] == payload
    # The payload bytes are relayed exactly as sent.
    assert json.dumps(payload, ensure_ascii=False) in json.dumps(got, ensure_ascii=False)
    raw_escaped = json.dumps(envelope(type_, payload, recipient_id="bob"))  # \uXXXX escapes
    await alice.send(raw_escaped)
    got_raw = await bob.ws.recv()
    assert json.dumps(payload) in got_raw


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "{",
        '{"type": "COLLABORATION_REQUEST",}',
        "[" * 5000 + "]" * 5000,
        '{"type":"COLLABORATION_REQUEST","message_id":"x","timestamp":1,"payload":{"a":' + "[" * 5000 + "]" * 5000 + "}}",
        "",
        "NaN",
    ],
    ids=["text", "truncated", "trailing-comma", "deep-array", "deep-payload", "empty", "nan"],
)
async def test_bad_json_keeps_the_connection_open(trio, raw):
    alice, bob, _ = trio
    await alice.send(raw)
    err = await alice.expect_error("bad_json")
    assert err["payload"]["ref_message_id"] is None
    marker = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob")
    assert (await bob.recv())["message_id"] == marker["message_id"]


async def test_binary_frame_is_bad_json(trio):
    alice, bob, _ = trio
    await alice.send(json.dumps(envelope("COLLABORATION_REQUEST", {}, recipient_id="bob")).encode())
    await alice.expect_error("bad_json")
    marker = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob")
    assert (await bob.recv())["message_id"] == marker["message_id"]


@pytest.mark.parametrize(
    "frame, ref",
    [
        ([1, 2], None),
        ("a string", None),
        (42, None),
        ({"message_id": "m1", "timestamp": 1, "payload": {}}, "m1"),  # no type
        ({"type": "COLLABORATION_REQUEST", "timestamp": 1, "payload": {}}, None),  # no message_id
        ({"type": "COLLABORATION_REQUEST", "message_id": "m2", "payload": {}}, "m2"),  # no timestamp
        ({"type": "COLLABORATION_REQUEST", "message_id": "m3", "timestamp": 1}, "m3"),  # no payload
        ({"type": 7, "message_id": "m4", "timestamp": 1, "payload": {}}, "m4"),
        ({"type": "COLLABORATION_REQUEST", "message_id": 5, "timestamp": 1, "payload": {}}, None),
        ({"type": "COLLABORATION_REQUEST", "message_id": "m6", "timestamp": "now", "payload": {}}, "m6"),
        ({"type": "COLLABORATION_REQUEST", "message_id": "m7", "timestamp": True, "payload": {}}, "m7"),
        ({"type": "COLLABORATION_REQUEST", "message_id": "m8", "timestamp": 1, "payload": [1]}, "m8"),
        ({"type": "COLLABORATION_REQUEST", "message_id": "m9", "timestamp": 1, "payload": "x"}, "m9"),
        ({"type": "COLLABORATION_REQUEST", "message_id": "m10", "timestamp": 1, "payload": None}, "m10"),
        ({"type": "COLLABORATION_REQUEST", "message_id": "m11", "timestamp": 1, "payload": {}, "recipient_id": 3}, "m11"),
        ({"type": "COLLABORATION_REQUEST", "message_id": "m12", "timestamp": 1, "payload": {}, "sender_id": ["a"]}, "m12"),
    ],
)
async def test_bad_envelope_keeps_the_connection_open(trio, frame, ref):
    alice, bob, _ = trio
    await alice.send(json.dumps(frame))
    err = await alice.expect_error("bad_envelope")
    assert err["payload"]["ref_message_id"] == ref
    marker = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="bob")
    assert (await bob.recv())["message_id"] == marker["message_id"]


@across_networks
async def test_extra_envelope_fields_are_accepted_and_not_relayed(trio):
    alice, bob, _ = trio
    sent = await alice.send_env("COLLABORATION_REQUEST", {"x": 1}, recipient_id="bob", trace="abc")
    got = await bob.recv()
    assert got["message_id"] == sent["message_id"]
    assert set(got) == {"type", "message_id", "sender_id", "recipient_id", "timestamp", "payload"}


async def test_errors_are_counted_in_metrics(hub, trio):
    alice, _, _ = trio
    await alice.send("nope")
    await alice.expect_error("bad_json")
    await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="zed")
    await alice.expect_error("unknown_recipient")
    assert hub.metrics.errors["bad_json"] == 1
    assert hub.metrics.errors["unknown_recipient"] == 1


@across_networks
async def test_reputation_frames_are_relayed_directed_and_broadcast(trio):
    """PROTOCOL.md "Reputation reports": a query is directed, its report directed back
    with the same query_id, and an unsolicited report (query_id null) is a broadcast."""
    alice, bob, carol = trio
    query = {"query_id": "q1", "subjects": ["carol", "dave"]}
    sent = await alice.send_env("REPUTATION_QUERY", query, recipient_id="bob")
    got = await bob.recv()
    assert (got["type"], got["message_id"], got["sender_id"], got["recipient_id"]) == ("REPUTATION_QUERY", sent["message_id"], "alice", "bob")
    assert got["payload"] == query
    report = {"query_id": "q1", "observations": [{"subject": "carol", "successes": 2.5, "failures": 0, "last_outcome_at": 1.0e9}]}
    sent = await bob.send_env("REPUTATION_REPORT", report, recipient_id="alice")
    got = await alice.recv()
    assert (got["type"], got["message_id"], got["sender_id"]) == ("REPUTATION_REPORT", sent["message_id"], "bob")
    assert got["payload"] == report
    # Unsolicited: broadcast to everyone else, never echoed to its sender.
    unsolicited = {"query_id": None, "observations": []}
    sent = await carol.send_env("REPUTATION_REPORT", unsolicited)
    for receiver in (alice, bob):
        got = await receiver.recv()
        assert (got["type"], got["message_id"], got["sender_id"], got["recipient_id"]) == ("REPUTATION_REPORT", sent["message_id"], "carol", None)
        assert got["payload"] == unsolicited
    marker = await alice.send_env("COLLABORATION_RESPONSE", {}, recipient_id="carol")
    assert (await carol.recv())["message_id"] == marker["message_id"]
