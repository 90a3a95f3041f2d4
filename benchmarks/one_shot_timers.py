"""Why the console's feed is paced by asyncio timers, not Textual's one-shot ``set_timer``.

    python benchmarks/one_shot_timers.py [--chains 50] [--seconds 30]

Runs chains of 1 ms one-shot timers (each firing schedules the next, as the feed's batch
slices do) in a headless Textual app beside a thread that keeps the GIL busy, once with
``set_timer`` and once with asyncio's ``call_later`` running the step through ``call_next``
(what ``collab_tui/ui/redraw.py`` does), and prints how many fired and how many chains died:
a Textual one-shot timer whose task starts later than its delay is skipped and never fires.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time

from textual.app import App


class Chains(App[None]):
    def __init__(self, mode: str, chains: int, seconds: float) -> None:
        super().__init__()
        self.mode, self.chains, self.seconds = mode, chains, seconds
        self.fired = 0

    def on_mount(self) -> None:
        self.t0 = time.monotonic()
        self.last = [self.t0] * self.chains
        for i in range(self.chains):
            self.later(i)
        self.set_interval(0.5, self.check)

    def later(self, i: int) -> None:
        if self.mode == "set_timer":
            self.set_timer(0.001, lambda: self.step(i))
        else:
            asyncio.get_running_loop().call_later(0.001, self.call_next, self.step, i)

    def step(self, i: int) -> None:
        self.fired += 1
        self.last[i] = time.monotonic()
        self.later(i)

    def check(self) -> None:
        if time.monotonic() - self.t0 > self.seconds:
            self.exit()


async def run(mode: str, chains: int, seconds: float) -> tuple[int, int]:
    stop = threading.Event()

    def busy() -> None:
        x = 0
        while not stop.is_set():
            x += 1

    threading.Thread(target=busy, daemon=True).start()
    app = Chains(mode, chains, seconds)
    try:
        async with app.run_test():
            while app.is_running:
                await asyncio.sleep(0.2)
    finally:
        stop.set()
    end = time.monotonic()
    return app.fired, sum(1 for t in app.last if end - t > 2.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chains", type=int, default=50)
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args()
    sys.setswitchinterval(0.002)
    for mode in ("set_timer", "call_later"):
        fired, dead = asyncio.run(run(mode, args.chains, args.seconds))
        print(f"{mode:10s}: {args.chains} chains of 1 ms one-shot timers for {args.seconds:g} s beside a busy "
              f"thread: {fired} fired, {dead} chains died", flush=True)


if __name__ == "__main__":
    main()
