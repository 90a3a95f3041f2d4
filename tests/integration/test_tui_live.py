"""The TUI over a live trainer: a real hub on loopback, real simulated peers, keys via Pilot."""
from __future__ import annotations

import time
import tomllib

from textual.widgets import Input

from collab_tui import NetworkedKernelTrainer
from collab_tui.bots import BotSpec, BotSwarm
from collab_tui.io.config import TrainerConfig
from collab_tui.io.config_file import ConfigFile
from collab_tui.io.runner import TrainerRunner
from collab_tui.ui.app import CollabApp
from collab_tui.ui.screens.forms import RequestForm

from .conftest import TOKEN, start_hub

SIZE = (160, 48)


async def settle(pilot, predicate, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def select(table, key: str) -> None:
    table.move_cursor(row=table.get_row_index(key))


async def test_live_keys_against_a_real_hub_and_bots(tmp_path, monkeypatch):
    monkeypatch.setenv("COLLAB_TUI_HOME", str(tmp_path))
    hub = await start_hub()
    swarm = BotSwarm(hub.url, TOKEN, BotSpec(honest=1, flaky=0, malicious=1), pace_s=0.4, deadline_s=5.0,
                     seed=7)
    config_path = tmp_path / "config.toml"
    # A hold window: each automatic verdict waits, so the operator can flip it first.
    trainer = NetworkedKernelTrainer("operator", "networking", auth_token=TOKEN, hold_s=60.0)
    runner = TrainerRunner(trainer, url=hub.url, token=TOKEN)
    config_file = ConfigFile(TrainerConfig(), config_path)
    runner.config_file = config_file
    runner.on_settings = lambda change: config_file.update(
        lambda c: c.replace(reputation=dict(trust_threshold=change.trust_threshold, alpha=change.reputation_alpha)))
    app = CollabApp(runner, config=TrainerConfig(), config_path=config_path, theme_dirs=[])
    await swarm.start()
    try:
        async with app.run_test(size=SIZE) as pilot:
            main = app.main
            await settle(pilot, lambda: trainer.joined and {"honest-1", "malicious-1"} <= trainer.online,
                         what="the operator and both bots online")

            # Requests from the bots arrive and are decided on screen.
            await settle(pilot, lambda: any(k.startswith("in:honest-1/") for k in main.requests.rows),
                         what="a request from honest-1 on screen")

            # r: reject a held accept of the honest bot; the bot hears an overridden refusal at once.
            key = next(k for k in main.requests.rows if k.startswith("in:honest-1/"))
            incoming = trainer.incoming[key[3:]]
            assert incoming.status == "held" and incoming.decision.accept
            main.requests.focus()
            select(main.requests, key)
            await pilot.press("r")
            flipped_to_accept = False
            bot = swarm.bots[0].runner.trainer
            await settle(pilot, lambda: bot.outgoing.get(incoming.request_id) is not None
                         and "operator" in bot.outgoing[incoming.request_id].responses
                         and bot.outgoing[incoming.request_id].responses["operator"].overridden,
                         what="the bot to receive the override")
            assert bot.outgoing[incoming.request_id].responses["operator"].accepted is flipped_to_accept

            # n: send our own request through the form; both bots accept, deliveries come back.
            await pilot.press("n")
            assert isinstance(app.screen, RequestForm)
            app.screen.query_one("#feature", Input).value = "dma engine"
            app.screen.query_one("#deadline", Input).value = "5"
            app.screen.query_one("#recipient", Input).focus()
            await pilot.press("enter")   # enter in the last field sends
            await settle(pilot, lambda: app.screen is main, what="the form to close")
            await settle(pilot, lambda: {"honest-1", "malicious-1"} <= set(trainer.reputation),
                         what="both deliveries scored")
            assert trainer.reputation["malicious-1"] < trainer.trust_threshold
            await settle(pilot, lambda: "malicious-1" in main.reputation.rows, what="the reputation row")

            # b: mark the honest bot's delivery bad; the score drops with the operator's reason.
            comp_key = next(k for k, r in trainer.shared_knowledge["benchmarks"].items()
                            if r["source"] == "honest-1" and r["validation"] == "passed")
            await settle(pilot, lambda: comp_key in main.components.rows, what="the component row")
            before = trainer.reputation["honest-1"]
            main.components.focus()
            select(main.components, comp_key)
            await pilot.press("b")
            assert trainer.reputation["honest-1"] < before
            assert trainer.book.records["honest-1"].history[-1].reason == "marked bad by operator"
            await pilot.press("u")
            assert abs(trainer.reputation["honest-1"] - before) < 1e-12

            # +: the threshold moves at once and is saved to the config file.
            await pilot.press("plus")
            assert trainer.trust_threshold == 0.55
            await settle(pilot, lambda: config_path.exists() and tomllib.loads(config_path.read_text())
                         ["reputation"]["trust_threshold"] == 0.55, what="the debounced config write")

            # The malicious bot, now below the threshold, is refused with the numbers.
            await settle(pilot, lambda: any(r.initiator == "malicious-1" and not r.decision.accept
                                            and r.decision.rule == "trust" for r in trainer.incoming.values()),
                         what="a refusal of the malicious bot")
            await pilot.press("q")
        assert runner.stopped.is_set() and runner.status.state == "stopped"
    finally:
        await swarm.stop()
        await runner.stop()
        await hub.close()
