"""Hostile load on a real hub process: what it costs the hub and everyone else.

1. Slow receivers. ``--receivers`` trainers (default 4) join and never read (tiny
   socket buffers); as many senders push ~1 MiB frames at them, each as fast as the
   hub's rate limit lets it. A receiver the hub closes (1013) rejoins and stalls again,
   so the pressure lasts ``--attack-s`` seconds. Meanwhile a probe pair exchanges small
   directed frames (``--probe-rate`` per second). Printed: the hub's RSS before, its
   peak (VmHWM) and its RSS ``--settle-s`` after the attackers left; the probe's
   p50/p99 one-way latency and delivery without and with the attack, measured in the
   same run, and their ratio.
2. Join storm. One credential (a per-id token) opens ``--storm`` connections that never
   send HELLO, retrying whatever is refused for ``--storm-s`` seconds; meanwhile
   ``--honest`` trainers with other credentials join one after another. Printed: how
   many honest joins succeeded and their join latency (connect to TRAINING_SYNC) with
   and without the storm, what the hub refused (from /metrics) and how many log lines
   the refusals cost.

The hub runs with its default limits (every trainer has its own per-id token, so the
per-credential limits need no lifting). The attackers run in a process of their own,
the probe in this one, the hub in a third.

    python benchmarks/hub_attacks.py
    python benchmarks/hub_attacks.py --attack-s 20 --storm 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FRAME_PAD = 2**20 - 1024  # payload bytes of an attack frame: just under the 1 MiB limit
CLIENT_MAX = 2**20 + 4096


def token_for(ai_id: str) -> str:
    return f"tok-{ai_id}"


def frame(type_: str, payload: dict, recipient_id: str | None = None) -> str:
    return json.dumps({"type": type_, "message_id": uuid.uuid4().hex, "recipient_id": recipient_id,
                       "timestamp": time.time(), "payload": payload})


def hello(ai_id: str) -> str:
    return frame("HELLO", {"ai_id": ai_id, "specialization": "bench", "capabilities": [], "protocol_version": 1})


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


# -- the hub process -------------------------------------------------------------------


class HubProcess:
    def __init__(self, ids: list[str], workdir: Path) -> None:
        self.toml = workdir / "hub.toml"
        tokens = "\n".join(f'{i} = "{token_for(i)}"' for i in ids)
        self.toml.write_text(f"[hub]\nlog_level = \"INFO\"\n[auth.tokens]\n{tokens}\n")
        self.log = workdir / "hub.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "COLLAB_HUB_TOKEN"}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "collab_hub", "--port", "0", "--config", str(self.toml),
            stdout=asyncio.subprocess.PIPE, stderr=open(self.log, "wb"), env=env, cwd=str(ROOT),
        )
        async with asyncio.timeout(30):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"hub exited: {self.log.read_text()[-2000:]}")
                if "listening on " in line:
                    self.url = line.split("listening on ", 1)[1].strip()
                    return

    def status(self, field: str) -> int:
        """VmRSS / VmHWM of the hub process, in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} in /proc/{self.proc.pid}/status")

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url.replace("ws://", "http://") + "metrics", timeout=10) as resp:
            return resp.read().decode()

    def log_lines(self, needle: str) -> int:
        return sum(1 for line in self.log.read_text(errors="replace").splitlines() if needle in line)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


async def open_ws(url: str, ai_id: str, **kw):
    from websockets.asyncio.client import connect

    kw.setdefault("max_size", CLIENT_MAX)
    return await connect(url, additional_headers={"Authorization": f"Bearer {token_for(ai_id)}"}, compression=None,
                         open_timeout=30, close_timeout=1, **kw)


async def join(url: str, ai_id: str, **kw):
    ws = await open_ws(url, ai_id, **kw)
    await ws.send(hello(ai_id))
    while True:
        got = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if got["type"] == "TRAINING_SYNC" and not got["payload"].get("more"):
            return ws
        if got["type"] == "ERROR":
            raise RuntimeError(f"{ai_id}: {got['payload']}")


# -- the probe pair (this process) -----------------------------------------------------


async def probe(url: str, seconds: float, rate: float, tag: str) -> tuple[list[float], int, int]:
    """p0 sends directed frames to p1 for ``seconds``; returns (latencies ms, sent, received)."""
    a = await join(url, f"probe0{tag}")
    b = await join(url, f"probe1{tag}")
    latencies: list[float] = []
    sent = 0
    done = asyncio.Event()

    async def receive() -> None:
        while True:
            try:
                raw = await asyncio.wait_for(b.recv(), 5 if done.is_set() else 60)
            except TimeoutError:
                return
            got = json.loads(raw)
            if got["type"] == "COLLABORATION_REQUEST":
                latencies.append((time.monotonic() - got["payload"]["sent_at"]) * 1000)
                if done.is_set() and len(latencies) >= sent:
                    return

    async def drain_a() -> None:
        async for _ in a:
            pass

    reader = asyncio.create_task(receive())
    drainer = asyncio.create_task(drain_a())
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < seconds:
        await a.send(frame("COLLABORATION_REQUEST", {"request_id": str(sent), "sent_at": time.monotonic()}, f"probe1{tag}"))
        sent += 1
        await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
    done.set()
    await reader
    drainer.cancel()
    for ws in (a, b):
        await ws.close()
    return latencies, sent, len(latencies)


# -- the attackers (their own process) ------------------------------------------------------


async def stalled(url: str, ai_id: str):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return await join(url, ai_id, sock=sock, max_queue=1)


async def slow_attack(url: str, receivers: int, seconds: float, ready, report) -> None:
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds
    sent = [0]
    rejoins = [0]

    gone = [asyncio.Event() for _ in range(receivers)]  # set when the hub no longer knows slow{i}

    async def receiver(i: int) -> None:
        # A receiver that never reads cannot see its own close (the close frame sits
        # behind the data it does not read): its sender's unknown_recipient tells it.
        while loop.time() < stop_at:
            try:
                ws = await stalled(url, f"slow{i}")
            except Exception:
                await asyncio.sleep(0.05)
                continue
            gone[i].clear()
            try:
                async with asyncio.timeout(max(0.0, stop_at - loop.time())):
                    await gone[i].wait()
                rejoins[0] += 1
            except TimeoutError:
                pass
            ws.transport.abort()

    async def sender(i: int) -> None:
        ws = await join(url, f"sender{i}")

        async def drain() -> None:
            async for raw in ws:  # unknown_recipient while slow{i} is away
                if '"unknown_recipient"' in raw:
                    gone[i].set()

        drainer = asyncio.create_task(drain())
        pad = "x" * FRAME_PAD
        rate_start = loop.time()
        n = 0
        while loop.time() < stop_at:
            await ws.send(frame("OS_COMPONENT_SHARE", {"pad": pad}, f"slow{i}"))
            n += 1
            sent[0] += 1
            await asyncio.sleep(max(0.0, rate_start + n / 100.0 - loop.time()))  # the rate limit: 100 frames/s
        drainer.cancel()
        ws.transport.abort()

    tasks = [asyncio.create_task(receiver(i)) for i in range(receivers)]
    await asyncio.sleep(1.0)  # the receivers are in before the senders start
    ready.set()
    tasks += [asyncio.create_task(sender(i)) for i in range(receivers)]
    await asyncio.gather(*tasks, return_exceptions=True)
    report.put({"frames_sent": sent[0], "rejoins": rejoins[0]})


async def join_storm(url: str, n: int, seconds: float, ready, report) -> None:
    from websockets.exceptions import InvalidStatus

    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds
    held: list = []
    refused = 0
    attempts = 0

    async def attempt() -> None:
        nonlocal refused, attempts
        attempts += 1
        try:
            held.append(await open_ws(url, "mallory"))
        except InvalidStatus:
            refused += 1
        except Exception:
            refused += 1

    await asyncio.gather(*(attempt() for _ in range(n)))
    ready.set()
    while loop.time() < stop_at:  # keep trying to hold n sockets that never join
        held = [ws for ws in held if ws.state.name == "OPEN"]
        missing = n - len(held)
        await asyncio.gather(*(attempt() for _ in range(min(missing, 100))))
        await asyncio.sleep(0.2)
    for ws in held:
        ws.transport.abort()
    report.put({"attempts": attempts, "refused": refused})


def attacker_main(kind: str, url: str, n: int, seconds: float, ready, report) -> None:
    fn = slow_attack if kind == "slow" else join_storm
    asyncio.run(fn(url, n, seconds, ready, report))


# -- the runs --------------------------------------------------------------------------------


def metric_value(text: str, name: str) -> int:
    """An unlabelled sample from /metrics (0 if absent)."""
    for line in text.splitlines():
        if line.split(" ", 1)[0] == name:
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


def labelled(text: str, name: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            label = line[line.index('"') + 1:line.rindex('"')]
            out[label] = int(float(line.rsplit(" ", 1)[1]))
    return out


async def run_slow(a: argparse.Namespace, ctx) -> None:
    ids = [f"slow{i}" for i in range(a.receivers)] + [f"sender{i}" for i in range(a.receivers)]
    ids += ["probe0base", "probe1base", "probe0attack", "probe1attack"]
    with tempfile.TemporaryDirectory() as tmp:
        hub = HubProcess(ids, Path(tmp))
        await hub.start()
        try:
            base_lat, base_sent, base_recv = await probe(hub.url, a.probe_s, a.probe_rate, "base")
            rss_before = hub.status("VmRSS")
            ready, report = ctx.Event(), ctx.Queue()
            proc = ctx.Process(target=attacker_main, args=("slow", hub.url, a.receivers, a.attack_s + 2, ready, report))
            proc.start()
            await asyncio.to_thread(ready.wait, 60)
            att_lat, att_sent, att_recv = await probe(hub.url, a.probe_s if a.probe_s < a.attack_s else a.attack_s, a.probe_rate, "attack")
            result = await asyncio.to_thread(report.get, True, a.attack_s + 120)
            await asyncio.to_thread(proc.join, 30)
            peak = hub.status("VmHWM")
            await asyncio.sleep(a.settle_s)
            rss_after = hub.status("VmRSS")
            text = hub.metrics()
        finally:
            await hub.stop()
    mib = 1024 * 1024
    print(f"slow receivers: {a.receivers} receivers never read, {a.receivers} senders x ~1 MiB frames at <= 100/s for {a.attack_s:g} s")
    print(f"  attack frames sent: {result['frames_sent']} (~{result['frames_sent'] * FRAME_PAD / mib:.0f} MiB); "
          f"receivers closed 1013: {metric_value(text, 'collab_hub_slow_receivers_disconnected_total')} "
          f"(rejoined {result['rejoins']} times); hub-wide budget closes: {metric_value(text, 'collab_hub_queue_budget_closes_total')}; "
          f"malloc_trim calls: {metric_value(text, 'collab_hub_memory_trims_total')}")
    print(f"  hub RSS: before {rss_before / mib:.0f} MiB, peak {peak / mib:.0f} MiB, {a.settle_s:g} s after {rss_after / mib:.0f} MiB "
          f"(target: peak < 200 MiB) -> {'OK' if peak < 200 * mib else 'OVER'}")
    print(f"  probe without attack: p50 {pct(base_lat, .5):.2f} ms  p99 {pct(base_lat, .99):.2f} ms  delivered {base_recv}/{base_sent}")
    print(f"  probe during attack:  p50 {pct(att_lat, .5):.2f} ms  p99 {pct(att_lat, .99):.2f} ms  delivered {att_recv}/{att_sent}")
    print(f"  ratio attack/baseline: p50 {pct(att_lat, .5) / pct(base_lat, .5):.2f}  p99 {pct(att_lat, .99) / pct(base_lat, .99):.2f}")


async def honest_joins(url: str, n: int, tag: str) -> tuple[list[float], int]:
    latencies, ok = [], 0
    for i in range(n):
        t0 = time.perf_counter()
        try:
            ws = await join(url, f"honest{tag}{i}")
        except Exception:
            continue
        latencies.append((time.perf_counter() - t0) * 1000)
        ok += 1
        ws.transport.abort()
    return latencies, ok


async def run_storm(a: argparse.Namespace, ctx) -> None:
    ids = ["mallory"] + [f"honest{tag}{i}" for tag in ("base", "storm") for i in range(a.honest)]
    with tempfile.TemporaryDirectory() as tmp:
        hub = HubProcess(ids, Path(tmp))
        await hub.start()
        try:
            base_lat, base_ok = await honest_joins(hub.url, a.honest, "base")
            lines_before = hub.log_lines("refuse")
            ready, report = ctx.Event(), ctx.Queue()
            proc = ctx.Process(target=attacker_main, args=("storm", hub.url, a.storm, a.storm_s, ready, report))
            proc.start()
            await asyncio.to_thread(ready.wait, 120)
            storm_lat, storm_ok = await honest_joins(hub.url, a.honest, "storm")
            result = await asyncio.to_thread(report.get, True, a.storm_s + 120)
            await asyncio.to_thread(proc.join, 30)
            text = hub.metrics()
            await asyncio.sleep(0.5)
        finally:
            await hub.stop()
        log_lines = hub.log_lines("refuse") - lines_before
    refused = labelled(text, "collab_hub_handshakes_refused_total")
    print(f"join storm: one credential opens {a.storm} connections that never send HELLO, retrying for {a.storm_s:g} s "
          f"({result['attempts']} attempts, {result['refused']} refused)")
    print(f"  hub refusals by reason: {refused}; 4408 closes: {labelled(text, 'collab_hub_closes_total').get('4408', 0)}; "
          f"log lines about refusals: {log_lines}")
    print(f"  honest joins without storm: {base_ok}/{a.honest}, p50 {pct(base_lat, .5):.1f} ms  p99 {pct(base_lat, .99):.1f} ms")
    print(f"  honest joins during storm:  {storm_ok}/{a.honest}, p50 {pct(storm_lat, .5):.1f} ms  p99 {pct(storm_lat, .99):.1f} ms")
    print(f"  ratio storm/baseline: p50 {pct(storm_lat, .5) / pct(base_lat, .5):.2f}  p99 {pct(storm_lat, .99) / pct(base_lat, .99):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Slow-receiver memory and join-storm figures for the hub.")
    parser.add_argument("--receivers", type=int, default=4)
    parser.add_argument("--attack-s", type=float, default=15.0)
    parser.add_argument("--probe-s", type=float, default=10.0)
    parser.add_argument("--probe-rate", type=float, default=50.0, help="probe frames per second")
    parser.add_argument("--settle-s", type=float, default=5.0, help="wait after the attack before reading RSS again")
    parser.add_argument("--storm", type=int, default=1000)
    parser.add_argument("--storm-s", type=float, default=15.0)
    parser.add_argument("--honest", type=int, default=50)
    parser.add_argument("--only", choices=["slow", "storm"])
    a = parser.parse_args()
    ctx = mp.get_context("spawn")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if a.only in (None, "slow"):
        asyncio.run(run_slow(a, ctx))
    if a.only in (None, "storm"):
        asyncio.run(run_storm(a, ctx))


if __name__ == "__main__":
    main()
