"""Integration fixtures: a real hub on an ephemeral loopback port, real trainers."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import pytest

from collab_tui import NetworkedKernelTrainer
from collab_tui.io.runner import TrainerRunner
from collab_hub.config import HubConfig
from collab_hub.server import Hub

TOKEN = "integration-token"


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


async def read_lines_until(stream: asyncio.StreamReader, lines: list[str], needle: str,
                           timeout: float = 20.0) -> None:
    """Read a child's output line by line into ``lines`` until one holds ``needle``."""
    while not any(needle in line for line in lines):
        line = await asyncio.wait_for(stream.readline(), timeout)
        assert line, f"output ended before {needle!r}: {lines}"
        lines.append(line.decode())


async def start_hub(port: int = 0, **kw: Any) -> Hub:
    hub = Hub(HubConfig(host="127.0.0.1", port=port, shared_token=TOKEN, log_level="WARNING", **kw))
    await hub.start()
    return hub


@pytest.fixture
async def hub():
    h = await start_hub()
    yield h
    await h.close()


class Recorder:
    """Collects every event a runner emits."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, events: list[Any]) -> None:
        self.events.extend(events)

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if type(e).__name__ == kind]


@pytest.fixture
async def make_runner():
    runners: list[TrainerRunner] = []

    async def make(ai_id: str, specialization: str = "general", *, url: str, token: str = TOKEN,
                   start: bool = True, **kw: Any) -> tuple[TrainerRunner, Recorder]:
        runner_kw = {k: kw.pop(k) for k in ("producer", "validator", "state_saver") if k in kw}
        trainer = NetworkedKernelTrainer(ai_id, specialization, auth_token=token, **kw)
        runner = TrainerRunner(trainer, url=url, token=token, **runner_kw)
        rec = Recorder()
        runner.subscribe(rec)
        runners.append(runner)
        if start:
            await runner.start()
            await wait_until(lambda: trainer.joined or runner.status.state == "refused", what=f"{ai_id} to join")
        return runner, rec

    yield make
    for r in runners:
        await r.stop()
