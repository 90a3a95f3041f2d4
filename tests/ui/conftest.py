"""UI test fixtures: a real trainer runner fed with fixed frames, a fixed clock, UTC times."""
from __future__ import annotations

import time
from typing import Callable

import pytest

from collab_tui.ui.app import CollabApp

from .scenario import FixedClock, make_runner, populate


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """UTC clock times and a private config home (no user theme or config leaks in)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("COLLAB_TUI_HOME", str(tmp_path / "home"))
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def make_app(clock, tmp_path) -> Callable[..., CollabApp]:
    def build(runner=None, **kwargs) -> CollabApp:
        runner = runner or make_runner(clock)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("theme_dirs", [])
        return CollabApp(runner, **kwargs)
    return build


async def settle(pilot, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until ``predicate()`` holds, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await pilot.pause()


async def started(pilot, clock: FixedClock, populated: bool = True) -> None:
    """Feed the fixed scenario once the app (and so its runner) runs; wait until it is drawn."""
    app = pilot.app
    if populated:
        populate(app.runner, clock)
    await settle(pilot, lambda: not app.main.busy)
