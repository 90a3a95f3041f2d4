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

``--two-hub`` adds a multi-hub run (``--two-hub-only``: just that run): two hub
processes sharing a Redis (a redis-server this benchmark starts on a free loopback
port, or ``--redis-url``), the same trainers split evenly over them, and the same
directed and broadcast phases twice in one run: once with every trainer's partner
on its own hub ("within"), once with every partner on the other hub ("across", each
frame goes through Redis). The ratio across/within is printed with p50/p99 latency.

    python benchmarks/hub_throughput.py            # defaults below
    python benchmarks/hub_throughput.py --trainers 50 --memory-trainers 200
    python benchmarks/hub_throughput.py --two-hub-only
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

TOKEN = "bench-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- servers (run in their own process) -------------------------------------------------


def serve_target(kind: str, pipe, max_connections: int, broker_url: str | None = None) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.CRITICAL)  # clients abort at the end
    asyncio.run(_serve(kind, pipe, max_connections, broker_url))


async def _serve(kind: str, pipe, max_connections: int, broker_url: str | None = None) -> None:
    loop = asyncio.get_running_loop()
    if kind == "hub":
        from collab_hub.config import BrokerConfig, HubConfig, Limits
        from collab_hub.server import start_hub

        hub = await start_hub(
            HubConfig(
                port=0,
                shared_token=TOKEN,
                log_level="WARNING",
                # Every trainer here shares one token and one address: lift the
                # per-credential limits the way PROTOCOL.md says load tests do.
                limits=Limits(
                    rate_per_s=1e9, rate_burst=10**9, max_connections=max_connections, hello_timeout_s=120,
                    max_connections_per_credential=max_connections, max_unjoined_per_credential=max_connections,
                ),
                broker=BrokerConfig(url=broker_url, prefix=f"bench{os.getppid()}"),
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


def start_server(kind: str, max_connections: int, broker_url: str | None = None):
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve_target, args=(kind, child, max_connections, broker_url), daemon=True)
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


def join_all(procs) -> None:
    for p in procs:
        p.join(30)


def kill_stragglers(procs) -> None:
    """Client processes still running after a failed phase are killed, never left behind."""
    for p in procs:
        if p.is_alive():
            p.kill()


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


async def _connect_all(url, ids: list[str], presence: bool, n_total: int):
    """``url``: one hub's URL, or a function of the trainer id (several hubs)."""
    import msgspec
    from websockets.asyncio.client import connect

    decode, encode = msgspec.json.decode, msgspec.json.encode
    sem = asyncio.Semaphore(50)

    async def one(ai_id: str):
        async with sem:
            ws = await connect(
                url(ai_id) if callable(url) else url, additional_headers={"Authorization": f"Bearer {TOKEN}"}, compression=None,
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
    if isinstance(url, (list, tuple)):  # two hubs: partners (i, i^1) on the same hub, or not
        urls, layout = url, a.get("layout")
        hub_of = (lambda i: i % 2) if layout == "across" else (lambda i: (i // 2) % 2)
        url = lambda ai_id: urls[hub_of(int(ai_id[1:]))]  # noqa: E731
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


def measure_throughput(kind: str, a: dict, servers=None, extra_cpu_pids=()) -> dict:
    """One target: ``kind`` starts its own server; or ``servers`` = [(proc, pipe, url),
    ...] already running (several hubs: their CPU is summed, plus ``extra_cpu_pids``)."""
    own = servers is None
    if own:
        servers = [start_server(kind, max_connections=a["trainers"] + 50)]
    url = servers[0][2] if len(servers) == 1 else [s[2] for s in servers]
    cpu_pids = [s[0].pid for s in servers] + list(extra_cpu_pids)
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
            cpu0 = sum(cpu_seconds(pid) for pid in cpu_pids)
            barrier.wait(timeout=300)  # phase done
            cpu1 = sum(cpu_seconds(pid) for pid in cpu_pids)
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
        join_all(procs)
    finally:
        kill_stragglers(procs)
        if own:
            stop_server(servers[0][0], servers[0][1])
    return out


# -- two hubs sharing Redis --------------------------------------------------------------------


def start_redis(binary: str):
    import shutil
    import socket
    import subprocess

    path = shutil.which(binary)
    if path is None:
        sys.exit(f"hub_throughput: {binary} not found; install redis-server or pass --redis-url")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([path, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit("hub_throughput: redis-server did not start")
        time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def measure_two_hubs(a: dict) -> dict:
    """Two hub processes on one Redis; directed/broadcast with partners on the same
    hub ("within") and on the other hub ("across"), in one run."""
    redis_proc = None
    redis_url = a["redis_url"]
    if redis_url is None:
        redis_proc, redis_url = start_redis(a["redis_server"])
    out: dict = {}
    try:
        for layout in ("within", "across"):
            servers = [start_server("hub", a["trainers"] + 50, redis_url) for _ in range(2)]
            try:
                extra = [redis_proc.pid] if redis_proc is not None else []
                t0 = time.monotonic()
                out[layout] = measure_throughput("hub", dict(a, layout=layout), servers=servers, extra_cpu_pids=extra)
                print(f"  (two hubs, partners {layout}: run took {time.monotonic() - t0:.1f} s)", flush=True)
            finally:
                for proc, pipe, _ in servers:
                    stop_server(proc, pipe)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
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
        join_all(procs)
    finally:
        kill_stragglers(procs)
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
    parser.add_argument("--two-hub", action="store_true", help="also run two hubs sharing Redis: across hubs vs within one hub")
    parser.add_argument("--two-hub-only", action="store_true", help="only the two-hub run")
    parser.add_argument("--redis-url", help="Redis for the two-hub run (default: start redis-server on a free port)")
    parser.add_argument("--redis-server", default="redis-server", help="redis-server binary for the two-hub run")
    args = parser.parse_args()
    a = vars(args)
    if args.trainers % 2 or args.trainers < 4:
        parser.error("--trainers must be an even number >= 4")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.workers} client processes; "
          f"{args.trainers} trainers, {args.frames} directed frames each (window {args.window}), "
          f"{args.broadcasters}x{args.broadcasts} broadcasts (window {args.bcast_window})", flush=True)
    if args.two_hub_only:
        print_two_hubs(measure_two_hubs(a))
        return
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
    if args.two_hub:
        print()
        print_two_hubs(measure_two_hubs(a))


def print_two_hubs(res: dict) -> None:
    print("\ntwo hubs sharing one Redis (trainers split evenly; CPU = both hubs + redis-server)")
    print(f"{'partners':<8} {'phase':<10} {'messages':>9} {'msg/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server CPU µs/msg':>18}")
    for layout, phases in res.items():
        for phase, r in phases.items():
            print(f"{layout:<8} {phase:<10} {r['messages']:>9} {r['rate']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['server_cpu_us']:>18.1f}")
    ratio = res["across"]["directed"]["rate"] / res["within"]["directed"]["rate"]
    print(f"ratio across/within hubs directed {ratio:.2f}  (broadcasts reach both hubs in either layout)")


if __name__ == "__main__":
    main()
