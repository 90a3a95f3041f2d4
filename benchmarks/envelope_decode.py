"""Envelope decoding on the hub's hot path: msgspec typed decoding vs json + hand checks.

Each variant does what the hub does per relayed frame: decode, check the envelope's
fields and types (payload must be an object), stamp sender_id, re-encode.

    python benchmarks/envelope_decode.py [--n 200000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid

from collab_hub import protocol as p


def make_frames() -> dict[str, str]:
    small = {
        "type": "COLLABORATION_RESPONSE",
        "message_id": uuid.uuid4().hex,
        "recipient_id": "trainer-0042",
        "timestamp": time.time(),
        "payload": {"request_id": uuid.uuid4().hex, "accepted": True, "reason": "fits my specialization", "overridden": False},
    }
    content = "fn schedule() { /* ... */ }\n" * 150
    large = {
        "type": "OS_COMPONENT_SHARE",
        "message_id": uuid.uuid4().hex,
        "recipient_id": "trainer-0042",
        "timestamp": time.time(),
        "payload": {
            "request_id": uuid.uuid4().hex,
            "component": {"id": "sched", "name": "scheduler", "version": "1.2.0", "content": content, "sha256": "0" * 64},
            "collaboration_complete": True,
        },
    }
    return {"small (%d B)" % len(json.dumps(small)): json.dumps(small), "large (%d B)" % len(json.dumps(large)): json.dumps(large)}


def relay_msgspec(text: str) -> bytes:
    env = p.decode_envelope(text)
    return p.encode_relay(env, "trainer-0001")


_loads, _dumps = json.loads, json.dumps


def relay_json(text: str) -> bytes:
    obj = _loads(text)
    if not isinstance(obj, dict):
        raise ValueError("bad_envelope")
    t, mid, ts, payload = obj.get("type"), obj.get("message_id"), obj.get("timestamp"), obj.get("payload")
    if not isinstance(t, str) or not isinstance(mid, str) or not isinstance(payload, dict):
        raise ValueError("bad_envelope")
    if isinstance(ts, bool) or not isinstance(ts, (int, float)):
        raise ValueError("bad_envelope")
    rid, sid = obj.get("recipient_id"), obj.get("sender_id")
    if rid is not None and not isinstance(rid, str):
        raise ValueError("bad_envelope")
    if sid is not None and not isinstance(sid, str):
        raise ValueError("bad_envelope")
    out = {"type": t, "message_id": mid, "sender_id": "trainer-0001", "recipient_id": rid, "timestamp": ts, "payload": payload}
    return _dumps(out, ensure_ascii=False, separators=(",", ":")).encode()


def bench(fn, text: str, n: int) -> float:
    for _ in range(min(n, 2000)):
        fn(text)
    start = time.perf_counter()
    for _ in range(n):
        fn(text)
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="iterations per case (default 200000)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {args.n} iterations per case")
    print(f"{'frame':<16} {'msgspec µs':>11} {'json µs':>9} {'json/msgspec':>13}")
    for name, text in make_frames().items():
        assert json.loads(relay_msgspec(text))["payload"] == json.loads(relay_json(text))["payload"]
        m = bench(relay_msgspec, text, args.n)
        j = bench(relay_json, text, args.n // 4 if "large" in name else args.n)
        print(f"{name:<16} {m * 1e6:>11.2f} {j * 1e6:>9.2f} {j / m:>12.1f}x")


if __name__ == "__main__":
    main()
