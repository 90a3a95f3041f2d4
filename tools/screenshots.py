"""Make the README's screenshots from a live demo: the real hub, bots and console.

    python tools/screenshots.py                 # docs/images/console-160x48.svg and -80x24.svg
    python tools/screenshots.py --seconds 40    # let the demo run longer first
    python tools/screenshots.py --policy seed   # your trainer on the seed engine instead of the default

Each size runs its own demo (embedded hub, the six simulated peers, the autopilot) for
``--seconds``, then saves what the console shows as SVG (Textual's own screenshot).
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from collab_tui.demo import Demo
from collab_tui.io.config import ReputationSettings, TrainerConfig
from collab_tui.ui.app import CollabApp

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


async def shoot(size: tuple[int, int], seconds: float, seed: int, policy: str) -> Path:
    config = TrainerConfig().replace(reputation={"policy": policy})
    with tempfile.TemporaryDirectory(prefix="collab-shot-") as home:
        demo = Demo(config, None, Path(home), seed=seed)
        setup = await demo.start()
        try:
            app = CollabApp(setup.runner, config=config, config_path=None)
            async with app.run_test(size=size) as pilot:
                await asyncio.sleep(seconds)       # a tool, not a test: let the demo play out
                await pilot.pause()
                name = f"console-{size[0]}x{size[1]}.svg"
                app.save_screenshot(filename=name, path=str(OUT))
        finally:
            await demo.stop()
    return OUT / name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="demo time before each shot (default 30)")
    parser.add_argument("--seed", type=int, default=2, help="the bots' random seed (default 2)")
    parser.add_argument("--policy", default=ReputationSettings().policy,
                        help="your trainer's engine (default: a fresh config's, %(default)s)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for size in [(160, 48), (80, 24)]:
        print(asyncio.run(shoot(size, args.seconds, args.seed, args.policy)))


if __name__ == "__main__":
    main()
