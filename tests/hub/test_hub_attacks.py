"""Issue 9's attacks on the hub, each tried by a hostile client written from
PROTOCOL.md alone (plain websockets / raw sockets + json) against a real hub on
loopback: oversized HELLO fields, peers that would make TRAINING_SYNC too large for a
newcomer, slow receivers measured in bytes, a hub-wide queue budget, a credential
opening connections that never join, and websocket protocol errors (1002)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket

import pytest
from hubkit import BOUND_TOKEN, SHARED, eventually, hello_payload
from hubkit.raw import HUB_FRAME_MAX, caps, close_code, frame, join, open_ws, recv_json
from websockets.exceptions import InvalidStatus

from collab_hub.memory import can_release, release_free_memory

# -- HELLO and TRAINING_SYNC ------------------------------------------------------------


async def test_one_megabyte_specialization_is_refused_4400(hub):
    ws = await open_ws(hub.url)
    await ws.send(frame("HELLO", hello_payload("mallory", specialization="S" * 1_000_000)))
    err, size = await recv_json(ws)
    assert (err["type"], err["payload"]["code"]) == ("ERROR", "bad_hello")
    assert "specialization" in err["payload"]["detail"] and size < 4096
    assert await close_code(ws) == 4400
    assert hub.joined_ids() == []


async def test_two_big_peers_can_no_longer_lock_a_newcomer_out(hub):
    # The attack of issue 9: two peers with ~1 MB specializations each.
    for name in ("mallory", "trudy"):
        ws = await open_ws(hub.url)
        await ws.send(frame("HELLO", hello_payload(name, specialization="S" * 1_000_000)))
        assert await close_code(ws) == 4400
    # The most they can carry now is the largest legal HELLO.
    big = []
    for name in ("mallory", "trudy"):
        ws, _ = await join(hub.url, name + "x" * (64 - len(name)), specialization="s" * 64, capabilities=caps())
        big.append(ws)
    # A newcomer with the client's own size limit joins and sees both, first time.
    newcomer, syncs = await join(hub.url, "newcomer")
    assert [s["payload"]["more"] for s in syncs] == [False]
    assert len(syncs[0]["payload"]["active_ais"]) == 2
    assert newcomer.state.name == "OPEN"


async def test_training_sync_is_split_into_frames_of_at_most_256_kib(start_hub):
    n = 160
    limits = {"max_connections_per_credential": n + 10, "max_unjoined_per_credential": n + 10}
    hub = await start_hub(limits=limits)
    ids = [f"t{i:03d}-" + "q" * 59 for i in range(n)]  # 64-character ids
    fillers = []
    for ai_id in ids:
        ws, _ = await join(hub.url, ai_id, specialization="s" * 64, capabilities=caps())
        fillers.append(ws)
    ws = await open_ws(hub.url)
    await ws.send(frame("HELLO", hello_payload("newcomer")))
    frames = []
    while True:  # every frame up to the last sync is a TRAINING_SYNC: nothing between them
        got, size = await recv_json(ws)
        assert got["type"] == "TRAINING_SYNC", f"frame {len(frames)} between the syncs: {got['type']}"
        assert size <= HUB_FRAME_MAX, size
        frames.append(got["payload"])
        if not got["payload"].get("more", False):
            break
    assert len(frames) >= 2
    assert [f["more"] for f in frames] == [True] * (len(frames) - 1) + [False]
    assert "global_knowledge_base" in frames[0]
    assert all("global_knowledge_base" not in f for f in frames[1:])
    union = [i for f in frames for i in f["active_ais"]]
    assert sorted(union) == sorted(ids)  # every trainer, each exactly once
    opportunities = {o["ai_id"]: o for f in frames for o in f["collaboration_opportunities"]}
    assert sorted(opportunities) == sorted(ids)
    assert all(o["capabilities"] == caps() and o["specialization"] == "s" * 64 for o in opportunities.values())
    for f in frames:  # each frame carries the same part of both lists
        assert f["active_ais"] == [o["ai_id"] for o in f["collaboration_opportunities"]]
    for filler in fillers:
        filler.transport.abort()


async def test_errors_the_hub_writes_stay_small_whatever_the_offending_frame_carried(hub):
    ws, _ = await join(hub.url, "mallory")
    huge_id = "m" * 900_000
    for raw in (
        json.dumps({"type": "X" * 1000, "message_id": huge_id, "timestamp": 1, "payload": {}}),  # unknown_type
        json.dumps({"type": "COLLABORATION_REQUEST", "message_id": huge_id, "timestamp": 1, "payload": {},
                    "recipient_id": "r" * 100_000}),  # unknown_recipient
        json.dumps({"type": "COLLABORATION_REQUEST", "message_id": huge_id, "timestamp": 1, "payload": {},
                    "sender_id": "s" * 100_000}),  # spoofed_sender
        json.dumps({"type": "COLLABORATION_REQUEST", "message_id": huge_id, "timestamp": "x", "payload": {}}),  # bad_envelope
    ):
        await ws.send(raw)
        err, size = await recv_json(ws)
        assert err["type"] == "ERROR" and size < 4096, (err["payload"]["code"], size)
        assert err["payload"]["ref_message_id"] == huge_id[:256]


# -- Slow receivers, bounded in bytes ------------------------------------------------


async def stalled(hub, ai_id: str):
    """A receiver that joins and then never reads (tiny socket buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", hub.port))
    ws = await open_ws(hub.url, sock=sock, max_queue=1)
    await ws.send(frame("HELLO", hello_payload(ai_id)))
    got, _ = await recv_json(ws)
    assert got["type"] == "TRAINING_SYNC"
    return ws


async def test_slow_receiver_is_closed_1013_by_bytes_and_others_get_everything(start_hub, caplog):
    caplog.set_level(logging.INFO, logger="collab_hub")
    # 1,000 frames would never be reached: the byte bound (256 KiB) closes it first.
    hub = await start_hub(limits={"outbound_queue": 1000, "outbound_queue_bytes": 256 * 1024,
                                  "rate_per_s": 100000, "rate_burst": 100000})
    sender, _ = await join(hub.url, "sender")
    fast, _ = await join(hub.url, "fast")
    slow = await stalled(hub, "slow")
    for _ in range(2):
        got, _ = await recv_json(sender)  # PEER_JOINED fast, slow
    got, _ = await recv_json(fast)  # PEER_JOINED slow
    pad = "p" * 60_000
    sent, received = [], []
    async with asyncio.timeout(30):
        while hub.metrics.slow_receivers_disconnected == 0:
            assert len(sent) < 1000, "the stalled receiver was never disconnected by bytes"
            f = frame("COLLABORATION_REQUEST", {"pad": pad})
            await sender.send(f)
            sent.append(json.loads(f)["message_id"])
            got, _ = await recv_json(fast)
            received.append(got["message_id"])
    assert received == sent
    assert len(sent) < 1000
    assert any("bytes" in r.getMessage() and "slow" in r.getMessage() for r in caplog.records)
    assert (await recv_json(fast))[0]["payload"] == {"ai_id": "slow"}  # PEER_LEFT
    assert await close_code(slow, timeout=10) in (1013, None)  # it may only see 1006
    assert hub.metrics.closes[1013] == 1
    await eventually(lambda: hub.queued_bytes == 0, message="queued bytes to return to 0")


async def test_a_receiver_that_leaves_with_a_full_queue_gives_its_bytes_back(start_hub):
    hub = await start_hub(limits={"rate_per_s": 100000, "rate_burst": 100000})
    sender, _ = await join(hub.url, "sender")
    slow = await stalled(hub, "slow")
    await recv_json(sender)  # PEER_JOINED slow
    pad = "p" * 60_000
    async with asyncio.timeout(30):
        while hub.queued_bytes < 2 * 1024 * 1024:  # frames wait in its queue (kernel buffers are full)
            await sender.send(frame("COLLABORATION_REQUEST", {"pad": pad}, recipient_id="slow"))
            await asyncio.sleep(0)
    assert hub.metrics.slow_receivers_disconnected == 0
    slow.transport.abort()  # it goes away on its own, queue and all
    assert (await recv_json(sender))[0]["type"] == "PEER_LEFT"
    await eventually(lambda: hub.queued_bytes == 0, message="its queued bytes to be released")
    assert "collab_hub_queued_bytes 0" in hub.metrics.render()
    if can_release():  # glibc: the freed memory is handed back to the OS
        await eventually(lambda: hub.metrics.memory_trims >= 1, message="malloc_trim after the 2 MiB queue was dropped")


async def test_hub_wide_budget_closes_the_largest_queue_and_nobody_else_loses_a_message(start_hub):
    # The budget is barely above one queue's bound: two stalled queues pass it together
    # long before either passes its own bound.
    budget = 1024 * 1024 + 64 * 1024
    hub = await start_hub(limits={"outbound_queue_bytes": 1024 * 1024, "queues_total_bytes": budget,
                                  "rate_per_s": 100000, "rate_burst": 100000})
    sender, _ = await join(hub.url, "sender")
    fast, _ = await join(hub.url, "fast")
    slow_a = await stalled(hub, "slowa")
    slow_b = await stalled(hub, "slowb")
    for _ in range(3):
        await recv_json(sender)
    for _ in range(2):
        await recv_json(fast)
    pad = "p" * 50_000
    sent, received, left = [], [], []
    async with asyncio.timeout(60):
        while hub.metrics.slow_receivers_disconnected < 2:
            assert len(sent) < 1000
            f = frame("COLLABORATION_REQUEST", {"pad": pad})
            await sender.send(f)
            sent.append(json.loads(f)["message_id"])
            got, _ = await recv_json(fast)
            while got["type"] == "PEER_LEFT":  # a slow one was closed
                left.append(got["payload"]["ai_id"])
                got, _ = await recv_json(fast)
            received.append(got["message_id"])
            assert hub.queued_bytes <= budget
    assert received == sent
    assert hub.metrics.queue_budget_closes >= 1  # the first one went over the hub-wide budget
    assert sorted(hub.joined_ids()) == ["fast", "sender"]
    for ws in (slow_a, slow_b):
        ws.transport.abort()
    await eventually(lambda: hub.queued_bytes == 0, message="queued bytes to return to 0")
    assert "collab_hub_queue_budget_closes_total" in hub.metrics.render()


# -- Connections per credential ------------------------------------------------------


async def test_a_thousand_unjoined_connections_from_one_credential_cannot_fill_the_hub(start_hub, caplog):
    caplog.set_level(logging.INFO, logger="collab_hub")
    # hello_timeout_s is long enough that none of the 8 admitted sockets times out
    # (and frees its place) during the storm, however slow the machine.
    hub = await start_hub(limits={"refusal_log_interval_s": 3600, "hello_timeout_s": 120})
    # The attacker holds a per-id token and opens 1,000 connections that never send HELLO.
    opened, refused = [], 0

    async def attempt():
        nonlocal refused
        try:
            opened.append(await open_ws(hub.url, BOUND_TOKEN, open_timeout=60))  # a loaded machine is slow
        except InvalidStatus as exc:
            assert exc.response.status_code == 503
            refused += 1

    for _ in range(10):
        await asyncio.gather(*(attempt() for _ in range(100)))
    assert len(opened) == 8 and refused == 992  # max_unjoined_per_credential (default 8)
    assert hub.metrics.handshakes_refused["credential_unjoined"] == 992
    # Everyone else still joins and talks.
    honest = [await join(hub.url, f"honest{i}") for i in range(5)]
    a, b = honest[0][0], honest[1][0]
    for _ in range(4):
        await recv_json(a)
    f = frame("COLLABORATION_REQUEST", {"x": 1}, recipient_id="honest0")
    await b.send(f)
    got, _ = await recv_json(a)
    assert got["message_id"] == json.loads(f)["message_id"]
    text = hub.metrics.render()
    assert 'collab_hub_handshakes_refused_total{reason="credential_unjoined"} 992' in text
    # Once the attacker's sockets are gone, its credential may connect again.
    for ws in opened:
        ws.transport.abort()
    await eventually(lambda: hub.metrics._open_connections() == 5, message="the unjoined sockets to go")
    ws, _ = await join(hub.url, "bound", BOUND_TOKEN)
    assert "bound" in hub.joined_ids()
    # 992 refusals, one log line within the interval; the rest are one summary line
    # (written at the end of the interval, here when the hub stops).
    def refusal_lines():
        return [r.getMessage() for r in caplog.records if "credential_unjoined" in r.getMessage()]

    assert len(refusal_lines()) == 1
    await hub.close()
    lines = refusal_lines()
    assert len(lines) == 2 and "refused 991 more connections" in lines[1] and "credential_unjoined=991" in lines[1]


async def test_connections_per_credential_are_bounded_and_freed(start_hub):
    hub = await start_hub(limits={"max_connections_per_credential": 3, "max_unjoined_per_credential": 2})
    # Unjoined budget: 2 sockets that have not joined; a third is refused.
    idle = [await open_ws(hub.url), await open_ws(hub.url)]
    with pytest.raises(InvalidStatus) as info:
        await open_ws(hub.url)
    assert info.value.response.status_code == 503
    assert hub.metrics.handshakes_refused["credential_unjoined"] == 1
    # Joining frees the unjoined budget, not the total.
    await idle[0].send(frame("HELLO", hello_payload("a")))
    assert (await recv_json(idle[0]))[0]["type"] == "TRAINING_SYNC"
    await idle[1].send(frame("HELLO", hello_payload("b")))
    assert (await recv_json(idle[1]))[0]["type"] == "TRAINING_SYNC"
    c, _ = await join(hub.url, "c")
    with pytest.raises(InvalidStatus) as info:
        await open_ws(hub.url)
    assert info.value.response.status_code == 503
    assert hub.metrics.handshakes_refused["credential_connections"] == 1
    # Another credential (the per-id token) is counted apart.
    bound, _ = await join(hub.url, "bound", BOUND_TOKEN)
    # A connection that ends gives its place back.
    await c.close()
    await eventually(lambda: "c" not in hub.joined_ids(), message="c to leave")
    await eventually(lambda: hub.metrics._open_connections() == 3, message="c's connection to end")
    again, _ = await join(hub.url, "c")


# -- Websocket protocol errors (1002) ------------------------------------------------


async def test_protocol_error_close_1002_is_counted(hub):
    reader, writer = await asyncio.open_connection("127.0.0.1", hub.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {SHARED}\r\n\r\n").encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101")
    writer.write(b"\x81\x05hello")  # an unmasked client frame breaks RFC 6455
    data = await asyncio.wait_for(reader.read(64), 5)
    assert data[:1] == b"\x88" and int.from_bytes(data[2:4], "big") == 1002
    writer.close()
    await eventually(lambda: hub.metrics.closes[1002] == 1, message="the 1002 close to be counted")
    assert 'collab_hub_closes_total{code="1002"} 1' in hub.metrics.render()


async def test_refused_hellos_cost_one_log_line_per_reason_and_interval(start_hub, caplog):
    caplog.set_level(logging.INFO, logger="collab_hub")
    hub = await start_hub(limits={"refusal_log_interval_s": 3600})
    for i in range(30):  # sequential bad HELLOs: each connection is refused and closed 4400
        ws = await open_ws(hub.url)
        await ws.send(frame("HELLO", hello_payload(f"bad id {i}")))
        assert await close_code(ws) == 4400
    for _ in range(5):
        with pytest.raises(InvalidStatus):
            await open_ws(hub.url, "wrong-token")
    assert hub.metrics.closes[4400] == 30 and hub.metrics.handshakes_refused["unauthorized"] == 5
    lines = [r.getMessage() for r in caplog.records if "refuse" in r.getMessage()]
    assert len(lines) == 2  # one bad_hello, one unauthorized, in full
    assert "reason=bad_hello" in lines[0] and "'bad id 0'" in lines[0] and "reason=unauthorized" in lines[1]
    await hub.close()
    summary = [r.getMessage() for r in caplog.records if "more connections" in r.getMessage()]
    assert summary == ["refused 33 more connections in the last 3600 s (bad_hello=29, unauthorized=4) from 1 addresses"]


def test_release_free_memory_is_safe_to_call_anywhere():
    # glibc: malloc_trim(0) runs (True if it released something); elsewhere a no-op.
    assert isinstance(release_free_memory(), bool)
    if not can_release():
        assert release_free_memory() is False
