"""PROTOCOL.md "Joining", step 2: the HELLO field rules in their order, the reserved id,
and ids compared case-insensitively (claims, token bindings, recipient_id) but
relayed as the trainer joined with them.

The hostile HELLOs are sent by a client written from PROTOCOL.md alone (plain
websockets + json, ``hubkit.hello_raw``), not by the test kit's Trainer.
"""

from __future__ import annotations

import json

import pytest
from hubkit import BOUND_TOKEN, SHARED, hello_payload, hello_raw

from collab_hub.config import ConfigError, HubConfig


def cap(i: int) -> str:
    return f"c{i:02d}" + "x" * 61  # 64 characters


BAD_HELLOS = {
    "id-empty": hello_payload(""),
    "id-65": hello_payload("a" * 65),
    "id-space": hello_payload("al ice"),
    "id-unicode": hello_payload("alicé"),
    "id-escape": hello_payload("a\x1b[2J"),
    "id-hub": hello_payload("hub"),
    "id-HUB": hello_payload("HUB"),
    "id-Hub": hello_payload("Hub"),
    "spec-empty": hello_payload("alice", specialization=""),
    "spec-65": hello_payload("alice", specialization="s" * 65),
    "spec-space": hello_payload("alice", specialization="file systems"),
    "spec-control": hello_payload("alice", specialization="x\x07"),
    "spec-1MB": hello_payload("alice", specialization="s" * 1_000_000),
    "caps-33": hello_payload("alice", capabilities=[cap(i) for i in range(33)]),
    "cap-65": hello_payload("alice", capabilities=["ok", "c" * 65]),
    "cap-empty": hello_payload("alice", capabilities=["ok", ""]),
    "cap-bidi": hello_payload("alice", capabilities=["ok\u202e"]),
    "caps-not-list": hello_payload("alice", capabilities="paging"),
    "version-2": hello_payload("alice", protocol_version=2),
    "no-spec": {"ai_id": "alice", "capabilities": [], "protocol_version": 1},
}


@pytest.mark.parametrize("payload", list(BAD_HELLOS.values()), ids=list(BAD_HELLOS))
async def test_each_field_rule_is_bad_hello_4400(hub, payload):
    err, code = await hello_raw(hub.url, payload)
    assert err["type"] == "ERROR" and err["payload"]["code"] == "bad_hello", err
    assert code == 4400
    assert len(json.dumps(err)) < 4096  # the refusal does not echo a huge field back
    assert hub.joined_ids() == []


async def test_largest_legal_hello_joins(hub, connect):
    big = await connect(hub)
    sync = await big.join("i" * 64, specialization="s" * 64, capabilities=[cap(i) for i in range(32)])
    assert sync["payload"]["more"] is False
    other = await connect(hub)
    sync = await other.join("other", capabilities=[])
    assert sync["payload"]["collaboration_opportunities"] == [
        {"ai_id": "i" * 64, "specialization": "s" * 64, "capabilities": [cap(i) for i in range(32)]}
    ]


async def test_checks_run_in_protocol_order(hub, connect):
    # The first failing rule names the problem: a bad specialization AND a bad version.
    err, _ = await hello_raw(hub.url, hello_payload("alice", specialization="", protocol_version=9))
    assert "specialization" in err["payload"]["detail"]
    # ai_id before specialization.
    err, _ = await hello_raw(hub.url, hello_payload("HUB", specialization=""))
    assert "reserved" in err["payload"]["detail"]
    # bad_hello before auth: the bound token may not claim "x", but the capability is checked first.
    err, code = await hello_raw(hub.url, hello_payload("x", capabilities=["a b"]), token=BOUND_TOKEN)
    assert (err["payload"]["code"], code) == ("bad_hello", 4400)
    # A good HELLO with the wrong token: auth_failed.
    err, code = await hello_raw(hub.url, hello_payload("x"), token=BOUND_TOKEN)
    assert (err["payload"]["code"], code) == ("auth_failed", 4401)


async def test_ids_that_differ_in_case_are_one_identity(hub, connect):
    alice, bob = await connect(hub), await connect(hub)
    await alice.join("Alice")
    sync = await bob.join("bob")
    assert sync["payload"]["active_ais"] == ["Alice"]  # relayed as she joined
    joined = await alice.expect("PEER_JOINED")
    assert joined["payload"]["ai_id"] == "bob"
    for claim in ("alice", "ALICE", "aLiCe"):
        err, code = await hello_raw(hub.url, hello_payload(claim, specialization="other"))
        assert (err["payload"]["code"], code) == ("duplicate_id", 4409), claim
    # The joined session is untouched, and recipient_id is compared case-insensitively.
    sent = await bob.send_env("COLLABORATION_REQUEST", {"request_id": "r"}, recipient_id="ALICE")
    got = await alice.recv()
    assert got["message_id"] == sent["message_id"] and got["sender_id"] == "bob"
    # Sender ids are stamped as joined, whatever case the sender wrote.
    sent = await alice.send_env("COLLABORATION_RESPONSE", {"request_id": "r"}, recipient_id="Bob", sender_id="ALICE")
    got = await bob.recv()
    assert got["message_id"] == sent["message_id"] and got["sender_id"] == "Alice"
    # Directed to herself in another case: still her own id.
    sent = await alice.send_env("COLLABORATION_REQUEST", {}, recipient_id="aLICE")
    await alice.expect_error("unknown_recipient", ref=sent["message_id"])
    assert sorted(hub.joined_ids()) == ["Alice", "bob"]
    await alice.close()
    left = await bob.expect("PEER_LEFT")
    assert left["payload"] == {"ai_id": "Alice"}
    # Once she left, the id is free in any case.
    again = await connect(hub)
    await again.join("ALICE")


async def test_token_bindings_are_compared_case_folded(hub, connect):
    # "bound" has a token of its own: the shared token cannot claim it in any case.
    for claim in ("bound", "BOUND", "Bound"):
        err, code = await hello_raw(hub.url, hello_payload(claim), token=SHARED)
        assert (err["payload"]["code"], code) == ("auth_failed", 4401), claim
    # Its own token claims it in whatever case it likes; it is relayed that way.
    watcher = await connect(hub)
    await watcher.join("watcher")
    owner = await connect(hub, token=BOUND_TOKEN)
    await owner.join("BOUND")
    joined = await watcher.expect("PEER_JOINED")
    assert joined["payload"]["ai_id"] == "BOUND"
    err, code = await hello_raw(hub.url, hello_payload("bound"), token=BOUND_TOKEN)
    assert (err["payload"]["code"], code) == ("duplicate_id", 4409)


def test_config_refuses_reserved_or_case_duplicate_token_ids():
    with pytest.raises(ConfigError, match=r"auth\.tokens\.BOB: the same id as auth\.tokens\.bob"):
        HubConfig(tokens={"bob": "t1", "BOB": "t2"})
    with pytest.raises(ConfigError, match=r"auth\.tokens\.Hub: the id is reserved"):
        HubConfig(tokens={"Hub": "t1"})
