"""How fast the headless TUI absorbs a flood of requests, versus the core alone.

    python benchmarks/tui_ingest.py [--requests 20000] [--peers 500] [--chunk 200]

Feeds ``--peers`` PEER_JOINED frames and then ``--requests`` COLLABORATION_REQUEST
frames through a real ``TrainerRunner`` (``runner.feed``), as fast as the core turns
them into events, in time slices (default 5 ms) with one event-loop turn between them (so producers and
the app get to run, as they would with a live socket):

1. the core alone: the runner with no observer;
2. the same with the headless ``CollabApp`` subscribed; done when every event has been
   drawn. Meanwhile ``+``/``-`` are pressed every 2,000 frames: the time from the key
   press to the new threshold taking effect is the keypress latency under load;
3. peak memory: passes 1 and 2 again, each in a fresh child process (this script with
   ``--child core`` / ``--child tui``), which reports its own peak RSS; both are printed,
   and their difference is what the TUI costs. (``--no-memory`` skips this.)

Prints events/s for both, their ratio (target ≥ 0.5), peak memory and keypress latency
(target < 100 ms), and the CPU time of each pass (which other jobs on a shared machine
disturb far less than the wall-clock rates).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collab_tui.core import events as ev  # noqa: E402
from collab_tui.core.trainer import NetworkedKernelTrainer  # noqa: E402
from collab_tui.io.runner import TrainerRunner  # noqa: E402

SPECIALIZATIONS = ["networking", "vision", "storage", "scheduling", "security", "general"]
TYPES = ["feature_development", "cross_specialization", "code_review", "benchmarking"]


def make_frames(n_requests: int, n_peers: int) -> list[dict[str, Any]]:
    peers = [f"peer-{i:03d}" for i in range(n_peers)]
    frames: list[dict[str, Any]] = []
    for i, peer in enumerate(peers):
        frames.append({"type": "PEER_JOINED", "message_id": f"j{i}", "sender_id": "hub",
                       "recipient_id": "bench", "timestamp": 0.0,
                       "payload": {"ai_id": peer, "specialization": SPECIALIZATIONS[i % len(SPECIALIZATIONS)],
                                   "capabilities": ["build"]}})
    for i in range(n_requests):
        peer = peers[i % n_peers]
        frames.append({"type": "COLLABORATION_REQUEST", "message_id": f"r{i}", "sender_id": peer,
                       "recipient_id": None, "timestamp": 0.0,
                       "payload": {"request_id": f"req-{i:06d}", "collaboration_type": TYPES[i % len(TYPES)],
                                   "feature": f"feature {i}", "deadline_s": 30.0}})
    return frames


class OfflineRunner(TrainerRunner):
    async def start(self, connect: bool = False) -> None:
        await super().start(connect=False)


def make_runner() -> TrainerRunner:
    trainer = NetworkedKernelTrainer("bench", "networking", trust_threshold=0.5)
    return OfflineRunner(trainer, url="ws://127.0.0.1:9/", token=None)


async def feed(runner: TrainerRunner, frames: list[dict[str, Any]], slice_ms: float):
    """Feed frames back to back, yielding to the event loop every ``slice_ms`` of work
    (as a socket reader does between reads): yields the number of frames fed so far."""
    budget = slice_ms / 1000
    turn = time.perf_counter()
    for i, frame in enumerate(frames, 1):
        runner.feed(frame)
        if time.perf_counter() - turn >= budget:
            yield i
            await asyncio.sleep(0)
            turn = time.perf_counter()
    yield len(frames)


async def core_alone(frames: list[dict[str, Any]], chunk: int) -> tuple[int, float]:
    runner = make_runner()
    count = 0

    def counter(events: list[ev.Event]) -> None:
        nonlocal count
        count += len(events)

    runner.subscribe(counter)       # counts only; no UI
    await runner.start()
    t0 = time.perf_counter()
    async for _ in feed(runner, frames, chunk):
        pass
    elapsed = time.perf_counter() - t0
    await runner.stop()
    return count, elapsed


async def with_app(frames: list[dict[str, Any]], chunk: int, press_every: int) -> dict[str, Any]:
    from collab_tui.ui.app import CollabApp

    runner = make_runner()
    app = CollabApp(runner, theme_dirs=[])
    emitted = 0
    latencies: list[float] = []
    pending_press: list[float] = []

    def observe(events: list[ev.Event]) -> None:
        nonlocal emitted
        emitted += len(events)
        if pending_press and any(isinstance(e, ev.SettingsChanged) for e in events):
            latencies.append(time.perf_counter() - pending_press.pop())

    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        runner.subscribe(observe)
        main = app.main
        presses = 0
        t0 = time.perf_counter()
        next_press = press_every
        async for fed in feed(runner, frames, chunk):
            if press_every and fed >= next_press and not pending_press:
                next_press += press_every
                pending_press.append(time.perf_counter())
                app.simulate_key("plus" if presses % 2 == 0 else "minus")
                presses += 1
        deadline = time.perf_counter() + 60
        while (main.busy or main.events_applied < emitted - 0) and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - t0
        result = {"events": main.events_applied, "emitted": emitted, "elapsed": elapsed,
                  "rows": main.requests.row_count, "latencies": latencies,
                  "peers": main.reputation.row_count}
    return result


def child_peak_rss(which: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one pass in a fresh process; it reports its events and peak RSS (KiB)."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", which, "--requests", str(args.requests),
         "--peers", str(args.peers), "--slice-ms", str(args.chunk)]
        + (["--keep-input-tracked"] if args.keep_input_tracked else []),
        check=True, capture_output=True, text=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_child(which: str, frames: list[dict[str, Any]], chunk: float) -> None:
    if which == "core":
        events, _ = asyncio.run(core_alone(frames, chunk))
    else:
        events = asyncio.run(with_app(frames, chunk, press_every=0))["events"]
    print(json.dumps({"events": events, "maxrss_kib": peak_rss_kib()}))


def peak_rss_kib() -> int:
    """This process's peak RSS. VmHWM belongs to the process's own memory map, so a child
    started from a big parent is not credited with the parent's peak (``ru_maxrss`` can be:
    Linux carries it across fork and exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def one_repetition(frames: list[dict[str, Any]], chunk: float, core_first: bool) -> dict[str, Any]:
    """One core-alone pass and one with-TUI pass, back to back (order alternates between
    repetitions so neither side always runs on a warmer or more littered process). A full
    collection before each pass starts both from the same heap; the GC stays on, with
    its default thresholds, throughout both."""
    out: dict[str, Any] = {}
    for which in (("core", "tui") if core_first else ("tui", "core")):
        gc.collect()
        cpu = time.process_time()
        if which == "core":
            out["core_events"], out["core_s"] = asyncio.run(core_alone(frames, chunk))
        else:
            out["app"] = asyncio.run(with_app(frames, chunk, press_every=2_000))
        # CPU time of the pass: far less sensitive than wall time to other jobs on the machine.
        out[f"{which}_cpu"] = time.process_time() - cpu
    out["core_rate"] = out["core_events"] / out["core_s"]
    out["app_rate"] = out["app"]["events"] / out["app"]["elapsed"]
    out["ratio"] = out["app_rate"] / out["core_rate"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--peers", type=int, default=500)
    parser.add_argument("--slice-ms", dest="chunk", type=float, default=5.0,
                        help="feed for this long, then give the event loop one turn")
    parser.add_argument("--repeat", type=int, default=5,
                        help="repetitions of the core-alone / with-TUI pair (median ratio, worst keypress)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory pass (two child processes)")
    parser.add_argument("--keep-input-tracked", action="store_true",
                        help="leave the input frames in the GC's generations (slower full passes for both sides)")
    parser.add_argument("--child", choices=["core", "tui"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("COLLAB_TUI_HOME", "/tmp/collab-tui-bench-home")   # no user themes/config

    frames = make_frames(args.requests, args.peers)
    if not args.keep_input_tracked:
        # The 20,500 input frames (~45,000 container objects) are the harness's, not
        # either side's: a live trainer reads frames off a socket one at a time. Moved out
        # of the collector's sight (gc.freeze) once, before every pass, core alone and
        # with TUI alike; the GC itself stays on with its default thresholds.
        gc.collect()
        gc.freeze()
    if args.child:
        run_child(args.child, frames, args.chunk)
        return
    print(f"frames: {len(frames):,} ({args.peers} PEER_JOINED + {args.requests:,} COLLABORATION_REQUEST), "
          f"fed in {args.chunk:g} ms slices; {args.repeat} repetitions of (core alone, with TUI), "
          f"order alternating")
    reps = []
    all_latencies: list[float] = []
    for i in range(args.repeat):
        r = one_repetition(frames, args.chunk, core_first=(i % 2 == 0))
        reps.append(r)
        app = r["app"]
        lat = app["latencies"]
        all_latencies += lat
        lat_text = (f"keypress median {statistics.median(lat) * 1000:5.1f} ms, max {max(lat) * 1000:5.1f} ms "
                    f"({len(lat)} presses)") if lat else "no keypress measured"
        print(f"  rep {i + 1}: core {r['core_events']:,} ev / {r['core_s']:.2f} s = {r['core_rate']:,.0f}/s · "
              f"TUI {app['events']:,} ev / {app['elapsed']:.2f} s = {r['app_rate']:,.0f}/s "
              f"({app['rows']} rows, {app['peers']} peers) · ratio {r['ratio']:.2f} · {lat_text} · "
              f"cpu core {r['core_cpu']:.2f} s, TUI {r['tui_cpu']:.2f} s", flush=True)
    ratios = [r["ratio"] for r in reps]
    ratio = statistics.median(ratios)
    print(f"core alone : median {statistics.median(r['core_rate'] for r in reps):,.0f} events/s")
    print(f"with TUI   : median {statistics.median(r['app_rate'] for r in reps):,.0f} events/s (all drawn)")
    print(f"cpu        : median CPU time of a pass: core alone {statistics.median(r['core_cpu'] for r in reps):.2f} s, "
          f"with TUI {statistics.median(r['tui_cpu'] for r in reps):.2f} s")
    print(f"ratio      : median {ratio:.2f} of {len(ratios)} (min {min(ratios):.2f}, max {max(ratios):.2f}) "
          f"(target >= 0.5) {'OK' if ratio >= 0.5 else 'BELOW TARGET'}")
    if all_latencies:
        worst = max(all_latencies) * 1000
        print(f"keypress   : {len(all_latencies)} presses of +/- under load, all repetitions: "
              f"median {statistics.median(all_latencies) * 1000:.1f} ms, max {worst:.1f} ms "
              f"(target < 100 ms) {'OK' if worst < 100 else 'ABOVE TARGET'}")
    rss = peak_rss_kib()
    if not args.no_memory:
        core = child_peak_rss("core", args)
        tui = child_peak_rss("tui", args)
        print(f"memory     : peak RSS of a process running one pass: with TUI {tui['maxrss_kib'] / 1024:.1f} MiB, "
              f"core alone {core['maxrss_kib'] / 1024:.1f} MiB "
              f"(the TUI: +{(tui['maxrss_kib'] - core['maxrss_kib']) / 1024:.1f} MiB)")
    print(f"process    : peak RSS of this process (all passes) {rss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
