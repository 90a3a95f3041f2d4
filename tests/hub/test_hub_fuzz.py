"""Hypothesis fuzz: arbitrary frames from a joined trainer, then a well-behaved pair
exchanges messages through the same hub with nothing lost.

For every fuzz frame the hub must do exactly one of: answer it with one ERROR (whose
ref_message_id is the frame's message_id when it had a string one), relay it intact to
the pair, or close the fuzzing connection with the websocket-layer code the frame
deserves (1009 oversize, 1007 invalid UTF-8). Never 1011, never silence.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid

from hubkit import connect_to, envelope, make_config
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from collab_hub.server import Hub

MAX_BYTES = 8192
TYPES = ["HELLO", "COLLABORATION_REQUEST", "COLLABORATION_RESPONSE", "OS_COMPONENT_SHARE", "ERROR", "PEER_LEFT", "", "x" * 100]
odd_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["\u2028", "\x00", "\ufeff", "e\u0301", "\U0001F600" * 5, "\u202e", "\\", '"']
)
json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | odd_text
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(odd_text, kids, max_size=4), max_leaves=20)

envelope_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(TYPES) | json_values,
        "message_id": odd_text | json_values,
        "timestamp": st.floats(allow_nan=False) | json_values,
        "payload": st.dictionaries(odd_text, json_values, max_size=4) | json_values,
        "recipient_id": st.sampled_from([None, "alice", "bob", "fuzzer", "nobody"]) | json_values,
        "sender_id": st.sampled_from([None, "fuzzer", "alice", "hub"]) | json_values,
    },
)

nearly_valid = st.fixed_dictionaries(
    {
        "type": st.sampled_from(TYPES),
        "message_id": odd_text,
        "timestamp": st.floats(allow_nan=False, allow_infinity=False) | st.integers(0, 2**40),
        "payload": st.dictionaries(odd_text, json_values, max_size=4),
    },
    optional={
        "recipient_id": st.sampled_from([None, "alice", "bob", "fuzzer", "nobody", ""]),
        "sender_id": st.sampled_from([None, "fuzzer", "alice", "hub"]),
        "extra": json_values,
    },
)


def deep(n: int) -> str:
    return json.dumps(envelope("COLLABORATION_REQUEST", {})).replace('"payload": {}', '"payload": {"a": ' + "[" * n + "]" * n + "}")


frames = st.one_of(
    nearly_valid.map(lambda d: json.dumps(d, ensure_ascii=False)),
    nearly_valid.map(json.dumps),
    envelope_like.map(lambda d: json.dumps(d, ensure_ascii=False)),
    json_values.map(json.dumps),
    odd_text,  # mostly not JSON
    st.binary(max_size=64),  # binary frames
    st.integers(1000, 20000).map(deep),
    st.integers(MAX_BYTES - 300, MAX_BYTES + 300).map(lambda n: json.dumps(envelope("COLLABORATION_REQUEST", {"pad": "z" * n}))),
    st.sampled_from([b'{"type": "\xc3\x28"}', b"\xff\xfe\xfd"]).map(lambda b: ("raw-text", b)),  # invalid UTF-8 text
)


def _ref_of(frame) -> str | None:
    if not isinstance(frame, str):
        return None
    try:
        obj = json.loads(frame)
    except (ValueError, RecursionError):
        return None
    if isinstance(obj, dict) and isinstance(obj.get("message_id"), str):
        return obj["message_id"]
    return None


async def fuzz_once(fuzz_frames: list) -> None:
    hub = Hub(make_config(limits={"max_message_bytes": MAX_BYTES, "rate_per_s": 1e6, "rate_burst": 10**6}))
    await hub.start()
    try:
        alice = await connect_to(hub, max_size=2**20)
        bob = await connect_to(hub, max_size=2**20)
        await alice.join("alice")
        await bob.join("bob")
        await alice.expect("PEER_JOINED")
        fuzzer = None
        relayed_to_pair: list[str] = []  # raw message ids relayed from the fuzzer

        for frame in fuzz_frames:
            if fuzzer is None:
                fuzzer = await connect_to(hub, max_size=2**20)
                await fuzzer.join("fuzzer")
                await alice.until("PEER_JOINED")
                await bob.until("PEER_JOINED")
            # Send the frame, then a probe that must come back as unknown_recipient:
            # everything the hub said about `frame` arrives before the probe's answer.
            try:
                if isinstance(frame, tuple):
                    await fuzzer.ws.send(frame[1], text=True)
                else:
                    await fuzzer.send(frame)
                probe = envelope("COLLABORATION_REQUEST", {}, recipient_id="nobody")
                await fuzzer.send(probe)
                answers = []
                while True:
                    got = await fuzzer.recv()
                    assert got["type"] == "ERROR", got
                    if got["payload"]["ref_message_id"] == probe["message_id"]:
                        assert got["payload"]["code"] == "unknown_recipient"
                        break
                    answers.append(got)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                size = len(frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else (frame[1] if isinstance(frame, tuple) else frame))
                if isinstance(frame, tuple):
                    assert code == 1007
                else:
                    assert code == 1009 and size > MAX_BYTES, (code, size)
                for t in (alice, bob):
                    assert (await t.until("PEER_LEFT"))["payload"]["ai_id"] == "fuzzer"
                _outcome(f"closed {code}")
                fuzzer = None
                continue
            assert not (isinstance(frame, (str, bytes)) and len(frame) > MAX_BYTES * 4 // 3 + 10), "oversize frame was accepted"
            assert len(answers) <= 1, answers
            if answers:
                payload = answers[0]["payload"]
                _outcome(f"error {payload['code']}")
                assert payload["code"] in {"bad_json", "bad_envelope", "unknown_type", "spoofed_sender", "unknown_recipient"}, payload
                assert answers[0]["sender_id"] == "hub" and answers[0]["recipient_id"] == "fuzzer"
                if payload["code"] not in ("bad_json",):
                    assert payload["ref_message_id"] == _ref_of(frame)
            else:
                # Not refused: it must have been a relayable envelope, delivered intact.
                obj = json.loads(frame)
                assert obj["type"] in ("COLLABORATION_REQUEST", "COLLABORATION_RESPONSE", "OS_COMPONENT_SHARE")
                assert obj.get("sender_id") in (None, "fuzzer")
                targets = [alice, bob] if obj.get("recipient_id") is None else [alice if obj["recipient_id"] == "alice" else bob]
                for t in targets:
                    got = await t.until(obj["type"])
                    assert got["sender_id"] == "fuzzer" and got["message_id"] == obj["message_id"]
                    assert got["payload"] == obj["payload"] or _nan_safe_equal(got["payload"], obj["payload"])
                relayed_to_pair.append(obj["message_id"])
                _outcome("relayed")

        # The well-behaved pair: nothing lost, in order, both ways.
        sent_ab = [envelope("COLLABORATION_REQUEST", {"i": i, "s": "é✓"}, recipient_id="bob") for i in range(30)]
        sent_ba = [envelope("COLLABORATION_RESPONSE", {"i": i, "accepted": True}, recipient_id="alice") for i in range(30)]
        for a, b in zip(sent_ab, sent_ba, strict=True):
            await alice.send(a)
            await bob.send(b)
        for receiver, sent in ((bob, sent_ab), (alice, sent_ba)):
            got = []
            while len(got) < len(sent):
                frame = await receiver.recv()
                if frame["sender_id"] in ("fuzzer", "hub"):
                    continue  # late fuzz relays / presence; checked above
                got.append(frame)
            assert [g["message_id"] for g in got] == [s["message_id"] for s in sent]
            assert [g["payload"] for g in got] == [s["payload"] for s in sent]
        assert hub.metrics.closes[1011] == 0
        await alice.close()
        await bob.close()
        if fuzzer is not None:
            await fuzzer.close()
    finally:
        await hub.close()


def _outcome(label: str) -> None:
    try:
        event(label)
    except Exception:  # outside a hypothesis run (the hand-picked harness test)
        pass


def _nan_safe_equal(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or (
        isinstance(a, float) and isinstance(b, float) and math.isclose(a, b)
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(frames, min_size=1, max_size=8))
def test_fuzzed_frames_never_break_the_hub(fuzz_frames):
    asyncio.run(fuzz_once(fuzz_frames))


def test_fuzz_harness_catches_known_cases():
    """The harness itself on hand-picked frames (so a broken strategy cannot hide bugs)."""
    asyncio.run(
        fuzz_once(
            [
                "not json",
                b"\x00\x01",
                json.dumps({"type": "COLLABORATION_REQUEST", "message_id": "m", "timestamp": 1, "payload": {"x": [1, {"y": None}]}}),
                json.dumps({"type": "OS_COMPONENT_SHARE", "message_id": "m2", "timestamp": 1.5, "payload": {}, "recipient_id": "alice"}),
                json.dumps({"type": "HELLO", "message_id": "m3", "timestamp": 1, "payload": {}}),
                deep(3000),
                json.dumps(envelope("COLLABORATION_REQUEST", {"pad": "z" * (MAX_BYTES + 10)})),
                ("raw-text", b"\xff"),
                json.dumps({"type": "COLLABORATION_RESPONSE", "message_id": str(uuid.uuid4()), "timestamp": 0, "payload": {}, "sender_id": "alice"}),
            ]
        )
    )
