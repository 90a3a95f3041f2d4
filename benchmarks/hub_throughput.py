"""Hub throughput, latency and memory per connection, against a bare websockets relay.

On the same load, for each target (a bare relay that parses JSON and forwards to the
addressed connection, then the hub), with the server in its own process and the
trainers driven from ``--workers`` client processes:

1. directed: every trainer keeps ``--window`` frames in flight to its partner (a
   trainer in another client process) until it has received ``--frames`` frames;
2. broadcast: ``--broadcasters`` trainers each broadcast ``--broadcasts`` frames to
   everyone else, ``--bcast-window`` in flight (paced by acknowledgements from two
   trainers, one per client process).

Messages/s counts deliveries (a broadcast reaching 199 trainers is 199 messages);
latency is one-way, sender to receiver (CLOCK_MONOTONIC is system-wide). Server CPU
is the server process's user+system time per delivered message.

Then memory: a fresh hub process, ``--memory-trainers`` trainers join (every
PEER_JOINED drained), and the hub's RSS delta per connection is printed (same for
the bare relay, for reference).

The hub runs with its per-connection rate limit lifted (1e9/s): the benchmark
measures relaying, not the 100 frames/s policy.

    /work/venv/bin/python benchmarks/hub_throughput.py            # defaults below
    /work/venv/bin/python benchmarks/hub_throughput.py --trainers 50 --memory-trainers 200
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "bench-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- servers (run in their own process) -------------------------------------------------


def serve_target(kind: str, pipe, max_connections: int) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.CRITICAL)  # clients abort at the end
    asyncio.run(_serve(kind, pipe, max_connections))


async def _serve(kind: str, pipe, max_connections: int) -> None:
    loop = asyncio.get_running_loop()
    if kind == "hub":
        from hub.config import HubConfig, Limits
        from hub.server import start_hub

        hub = await start_hub(
            HubConfig(
                port=0,
                shared_token=TOKEN,
                log_level="WARNING",
                limits=Limits(rate_per_s=1e9, rate_burst=10**9, max_connections=max_connections, hello_timeout_s=120),
            )
        )
        port, closer = hub.port, hub.close
    else:
        from websockets.asyncio.server import broadcast, serve
        from websockets.exceptions import ConnectionClosed

        peers: dict = {}
        loads = json.loads

        async def relay(ws) -> None:
            me = None
            try:
                async for raw in ws:
                    msg = loads(raw)
                    if me is None:
                        if msg.get("type") == "HELLO":
                            me = msg["payload"]["ai_id"]
                            peers[me] = ws
                        continue
                    rid = msg.get("recipient_id")
                    if rid is None:
                        broadcast([c for k, c in peers.items() if k != me], raw)
                    else:
                        target = peers.get(rid)
                        if target is not None:
                            await target.send(raw)
            except ConnectionClosed:
                pass
            finally:
                if me is not None:
                    peers.pop(me, None)

        server = await serve(relay, "127.0.0.1", 0, compression=None, max_size=2**20)
        port = server.sockets[0].getsockname()[1]

        async def closer() -> None:
            server.close()
            await server.wait_closed()

    gc.collect()
    pipe.send(port)
    await loop.run_in_executor(None, pipe.recv)  # parent says stop
    await closer()


def start_server(kind: str, max_connections: int):
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve_target, args=(kind, child, max_connections), daemon=True)
    proc.start()
    port = parent.recv()
    return proc, parent, f"ws://127.0.0.1:{port}/"


def stop_server(proc, pipe) -> None:
    pipe.send("stop")
    proc.join(15)
    if proc.is_alive():
        proc.kill()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


# -- client workers ---------------------------------------------------------------------------


def worker(wid: int, args: dict, url: str, presence: bool, barrier, results) -> None:
    try:
        asyncio.run(_worker(wid, args, url, presence, barrier, results))
    except BaseException:
        barrier.abort()  # fail the run fast instead of leaving the others waiting
        raise


async def _connect_all(url: str, ids: list[str], presence: bool, n_total: int):
    import msgspec
    from websockets.asyncio.client import connect

    decode, encode = msgspec.json.decode, msgspec.json.encode
    sem = asyncio.Semaphore(50)

    async def one(ai_id: str):
        async with sem:
            ws = await connect(
                url, additional_headers={"Authorization": f"Bearer {TOKEN}"}, compression=None,
                max_size=2**22, open_timeout=60, ping_interval=None,
            )
            await ws.send(encode({"type": "HELLO", "message_id": f"{ai_id}-hello", "timestamp": time.time(),
                                  "payload": {"ai_id": ai_id, "specialization": "bench", "capabilities": ["relay"], "protocol_version": 1}}), text=True)
            return ws

    conns = await asyncio.gather(*(one(i) for i in ids))

    async def drain_presence(ws) -> None:
        seen = 0
        while seen < n_total - 1:
            msg = decode(await ws.recv())
            if msg["type"] == "TRAINING_SYNC":
                seen += len(msg["payload"]["active_ais"])
            elif msg["type"] == "PEER_JOINED":
                seen += 1

    return conns, drain_presence


async def _worker(wid: int, a: dict, url: str, presence: bool, barrier, results) -> None:
    import msgspec

    decode, encode = msgspec.json.decode, msgspec.json.encode
    mono = time.monotonic
    n, w = a["trainers"], a["workers"]
    all_ids = [f"t{i:04d}" for i in range(n)]
    mine = [i for i in range(n) if i % w == wid]
    conns, drain_presence = await _connect_all(url, [all_ids[i] for i in mine], presence, n)
    ws_of = dict(zip(mine, conns))

    step = 0

    async def sync() -> None:
        nonlocal step
        step += 1
        if os.environ.get("BENCH_DEBUG"):
            print(f"worker {wid}: barrier {step}", file=sys.stderr, flush=True)
        await asyncio.to_thread(barrier.wait)

    await sync()  # everyone has sent HELLO
    if presence:
        await asyncio.gather(*(drain_presence(ws) for ws in conns))
    await sync()  # presence drained: start directed

    # -- directed ------------------------------------------------------------------
    M, K = a["frames"], a["window"]
    lat: list[float] = []

    async def directed(i: int, ws) -> float:
        partner = all_ids[i ^ 1] if (i ^ 1) < n else all_ids[0]
        me = all_ids[i]
        sent = received = 0

        async def send_one() -> None:
            nonlocal sent
            await ws.send(encode({"type": "COLLABORATION_REQUEST", "message_id": f"{me}-{sent}", "sender_id": me, "recipient_id": partner,
                                  "timestamp": time.time(), "payload": {"t": mono(), "seq": sent, "request_id": "r"}}), text=True)
            sent += 1

        expected = M if ((i ^ 1) < n) else 0
        for _ in range(min(K, M)):
            await send_one()
        while received < expected:
            msg = decode(await ws.recv())
            if msg["type"] == "COLLABORATION_REQUEST":
                received += 1
                lat.append(mono() - msg["payload"]["t"])
                if sent < M:
                    await send_one()
        return mono()

    start = mono()
    ends = await asyncio.gather(*(directed(i, ws_of[i]) for i in mine))
    results.put(("directed", wid, start, max(ends), len(lat), lat[:: max(1, len(lat) // 20000)]))
    await sync()  # directed done everywhere (stragglers' frames all consumed)
    await sync()  # start broadcast

    # -- broadcast -----------------------------------------------------------------
    B, R, W = a["broadcasters"], a["broadcasts"], a["bcast_window"]
    broadcasters = set(range(B))
    ackers = {B % n, (B + 1) % n}
    blat: list[float] = []

    async def fanout(i: int, ws) -> float:
        me = all_ids[i]
        expected = (B - (1 if i in broadcasters else 0)) * R
        got = sent = acks = 0
        is_b = i in broadcasters
        need_acks = R * len(ackers - {i}) if is_b else 0

        async def send_one() -> None:
            nonlocal sent
            await ws.send(encode({"type": "COLLABORATION_REQUEST", "message_id": f"{me}-b{sent}", "sender_id": me, "recipient_id": None,
                                  "timestamp": time.time(), "payload": {"t": mono(), "seq": sent, "request_id": "b"}}), text=True)
            sent += 1

        if is_b:
            for _ in range(min(W, R)):
                await send_one()
        while got < expected or acks < need_acks:
            msg = decode(await ws.recv())
            if msg["type"] == "COLLABORATION_REQUEST":
                got += 1
                blat.append(mono() - msg["payload"]["t"])
                if i in ackers:
                    await ws.send(encode({"type": "COLLABORATION_RESPONSE", "message_id": f"{me}-a{got}", "sender_id": me, "recipient_id": msg["sender_id"],
                                          "timestamp": time.time(), "payload": {"request_id": "b", "accepted": True}}), text=True)
            elif msg["type"] == "COLLABORATION_RESPONSE":
                acks += 1
                if sent < R and sent - acks // max(1, len(ackers - {i})) < W:
                    await send_one()
        return mono()

    start = mono()
    ends = await asyncio.gather(*(fanout(i, ws_of[i]) for i in mine))
    results.put(("broadcast", wid, start, max(ends), len(blat), blat[:: max(1, len(blat) // 20000)]))
    await sync()
    await asyncio.gather(*(ws.close() for ws in conns))


def measure_throughput(kind: str, a: dict) -> dict:
    proc, pipe, url = start_server(kind, max_connections=a["trainers"] + 50)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(a["workers"] + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(w, a, url, kind == "hub", barrier, results), daemon=True) for w in range(a["workers"])]
    for p in procs:
        p.start()
    out: dict = {}
    try:
        barrier.wait(timeout=120)  # joined
        barrier.wait(timeout=120)  # presence drained
        for phase in ("directed", "broadcast"):
            cpu0 = cpu_seconds(proc.pid)
            barrier.wait(timeout=300)  # phase done
            cpu1 = cpu_seconds(proc.pid)
            rows = [results.get(timeout=60) for _ in procs]
            start = min(r[2] for r in rows)
            end = max(r[3] for r in rows)
            count = sum(r[4] for r in rows)
            lats = sorted(x for r in rows for x in r[5])
            out[phase] = {
                "messages": count,
                "seconds": end - start,
                "rate": count / (end - start),
                "p50_ms": statistics.median(lats) * 1e3,
                "p99_ms": lats[int(len(lats) * 0.99) - 1] * 1e3,
                "server_cpu_us": (cpu1 - cpu0) / count * 1e6,
            }
            if phase == "directed":
                barrier.wait(timeout=60)  # start broadcast
        for p in procs:
            p.join(30)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        stop_server(proc, pipe)
    return out


# -- memory -------------------------------------------------------------------------------------


def mem_worker(wid: int, a: dict, url: str, presence: bool, barrier) -> None:
    async def run() -> None:
        n, w = a["memory_trainers"], a["workers"]
        ids = [f"m{i:04d}" for i in range(n) if i % w == wid]
        conns, drain_presence = await _connect_all(url, ids, presence, n)
        await asyncio.to_thread(barrier.wait)  # all HELLOs sent
        if presence:
            await asyncio.gather(*(drain_presence(ws) for ws in conns))
        else:
            await asyncio.sleep(0.5)  # bare relay has no presence to wait for; let HELLOs land
        await asyncio.to_thread(barrier.wait)  # all joined and quiet: parent measures
        await asyncio.to_thread(barrier.wait)  # parent done
        for ws in conns:
            ws.transport.abort()

    try:
        asyncio.run(run())
    except BaseException:
        barrier.abort()
        raise


def measure_memory(kind: str, a: dict) -> dict:
    proc, pipe, url = start_server(kind, max_connections=a["memory_trainers"] + 50)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(a["workers"] + 1)
    procs = [ctx.Process(target=mem_worker, args=(w, a, url, kind == "hub", barrier), daemon=True) for w in range(a["workers"])]
    try:
        before = rss_bytes(proc.pid)
        for p in procs:
            p.start()
        barrier.wait(timeout=300)
        barrier.wait(timeout=300)
        after = rss_bytes(proc.pid)
        barrier.wait(timeout=60)
        for p in procs:
            p.join(30)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        stop_server(proc, pipe)
    n = a["memory_trainers"]
    return {"before_mib": before / 2**20, "after_mib": after / 2**20, "per_conn_kib": (after - before) / n / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description="Hub vs bare websockets relay: throughput, latency, memory.")
    parser.add_argument("--trainers", type=int, default=200)
    parser.add_argument("--frames", type=int, default=200, help="directed frames each trainer receives")
    parser.add_argument("--window", type=int, default=4, help="directed frames in flight per trainer")
    parser.add_argument("--broadcasters", type=int, default=10)
    parser.add_argument("--broadcasts", type=int, default=40, help="broadcasts per broadcaster")
    parser.add_argument("--bcast-window", type=int, default=2)
    parser.add_argument("--memory-trainers", type=int, default=1000, help="0 skips the memory measurement")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--skip-bare", action="store_true")
    args = parser.parse_args()
    a = vars(args)
    if args.trainers % 2 or args.trainers < 4:
        parser.error("--trainers must be an even number >= 4")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.workers} client processes; "
          f"{args.trainers} trainers, {args.frames} directed frames each (window {args.window}), "
          f"{args.broadcasters}x{args.broadcasts} broadcasts (window {args.bcast_window})", flush=True)
    results = {}
    for kind in (("hub",) if args.skip_bare else ("bare", "hub")):
        t0 = time.monotonic()
        results[kind] = measure_throughput(kind, a)
        print(f"  ({kind} run took {time.monotonic() - t0:.1f} s)", flush=True)
    print(f"\n{'target':<6} {'phase':<10} {'messages':>9} {'msg/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server CPU µs/msg':>18}")
    for kind, res in results.items():
        for phase, r in res.items():
            print(f"{kind:<6} {phase:<10} {r['messages']:>9} {r['rate']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['server_cpu_us']:>18.1f}")
    if "bare" in results:
        for phase in ("directed", "broadcast"):
            ratio = results["hub"][phase]["rate"] / results["bare"][phase]["rate"]
            print(f"ratio hub/bare {phase:<10} {ratio:.2f}" + ("  (target >= 0.8)" if phase == "directed" else ""))
    if args.memory_trainers:
        print()
        for kind in ("bare", "hub") if not args.skip_bare else ("hub",):
            m = measure_memory(kind, a)
            print(f"memory {kind:<4}: {args.memory_trainers} joined trainers, RSS {m['before_mib']:.1f} -> {m['after_mib']:.1f} MiB, "
                  f"{m['per_conn_kib']:.1f} KiB per connection" + ("  (target <= 20 KiB)" if kind == "hub" else ""), flush=True)


if __name__ == "__main__":
    main()
