"""``collab-tui --demo``: everything in one process, nothing else to run.

An embedded hub on a free loopback port, a few simulated peers (honest, flaky,
malicious, a whitewasher), and you as one trainer among them. Your trainer sends a
request of its own every few seconds (the demo's autopilot) so that reputations
start moving at once; press ``n`` to send your own.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from collab_hub.config import HubConfig
from collab_hub.server import start_hub

from .bots import FEATURES, BotSpec, BotSwarm
from .launch import HeadlessPrinter, Setup, apply_flags, build_trainer, install_signals, log_to_file, run_headless
from .io.config import TrainerConfig, load_config
from .io.exit_watchdog import EXIT_WATCHDOG_S

log = logging.getLogger(__name__)

DEMO_ID = "you"
DEMO_BOTS = BotSpec(honest=3, flaky=1, malicious=1, whitewasher=1)
AUTOPILOT_EVERY_S = 4.0


class Demo:
    """The embedded hub, the bots and the operator's trainer; start, run, stop."""

    def __init__(self, config: TrainerConfig, config_path: Path | None, home: Path, *,
                 bots: BotSpec = DEMO_BOTS, pace_s: float = 3.0, deadline_s: float = 4.0,
                 autopilot_s: float | None = AUTOPILOT_EVERY_S, seed: int | None = None) -> None:
        self.config, self.config_path, self.home = config, config_path, home
        self.bots, self.pace_s, self.deadline_s = bots, pace_s, deadline_s
        self.autopilot_s = autopilot_s
        self.seed = seed
        self.token = secrets.token_urlsafe(16)
        self.hub = None
        self.swarm: BotSwarm | None = None
        self.setup: Setup | None = None
        self._autopilot: asyncio.Task | None = None

    async def start(self) -> Setup:
        self.hub = await start_hub(HubConfig(host="127.0.0.1", port=0, shared_token=self.token,
                                             log_level="WARNING"))
        url = self.hub.url
        self.setup = build_trainer(DEMO_ID, self.config, self.config_path, url=url, token=self.token,
                                   state_path=self.home / f"{DEMO_ID}.state.toml")
        self.swarm = BotSwarm(url, self.token, self.bots, pace_s=self.pace_s, deadline_s=self.deadline_s,
                              seed=self.seed)
        await self.swarm.start()
        if self.autopilot_s:
            self._autopilot = asyncio.create_task(self._autopilot_loop(), name="demo-autopilot")
        return self.setup

    async def _autopilot_loop(self) -> None:
        runner = self.setup.runner
        i = 0
        while True:
            await asyncio.sleep(self.autopilot_s if i else 1.5)
            if runner.trainer.joined:
                runner.send_request("feature_development", FEATURES[i % len(FEATURES)], self.deadline_s)
                i += 1

    async def stop(self) -> None:
        if self._autopilot is not None:
            self._autopilot.cancel()
            await asyncio.gather(self._autopilot, return_exceptions=True)
        if self.setup is not None:
            await self.setup.runner.stop()
        if self.swarm is not None:
            await self.swarm.stop()
        if self.hub is not None:
            await self.hub.close()


async def _run(args: argparse.Namespace, config: TrainerConfig, config_path: Path | None, home: Path,
               problems: list[str]) -> int:
    demo = Demo(config, config_path, home)
    setup = await demo.start()
    setup.problems = problems + setup.problems
    try:
        if args.headless:
            stop = asyncio.Event()
            install_signals(stop)
            if args.demo_seconds:
                asyncio.get_running_loop().call_later(args.demo_seconds, stop.set)
            print(f"demo: hub at {demo.hub.url}, {len(demo.swarm.bots)} simulated peers; you are '{DEMO_ID}'",
                  flush=True)
            return await run_headless(setup, stop, HeadlessPrinter())
        from .ui.app import CollabApp, exiting_soon
        app = CollabApp(setup.runner, config=config, config_path=config_path, theme=args.theme,
                        problems=setup.problems, handle_signals=True, exit_watchdog_s=EXIT_WATCHDOG_S)
        await app.run_async()
        exiting_soon()
        return 0
    finally:
        await demo.stop()


def main(args: argparse.Namespace) -> int:
    """Entry from ``collab-tui --demo``; ``args`` are the CLI's parsed flags."""
    keep = os.environ.get("COLLAB_TUI_HOME")
    home = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="collab-tui-demo-"))
    home.mkdir(parents=True, exist_ok=True)
    config_path = args.config or (home / "config.toml")
    loaded = load_config(config_path)
    config = apply_flags(loaded.config, args)
    if not args.headless:
        log_to_file(home / "demo.log", args.log_level)  # the screen belongs to the TUI
    try:
        return asyncio.run(_run(args, config, config_path, home, list(loaded.problems)))
    except KeyboardInterrupt:
        return 130
    finally:
        if not keep:
            # A throwaway home: nothing of the demo is left in the temp dir.
            logging.shutdown()
            shutil.rmtree(home, ignore_errors=True)
