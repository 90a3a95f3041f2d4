"""Snapshots of the main screen in every shipped theme: fixed clock, fixed data, UTC."""
from __future__ import annotations

import itertools
from typing import Callable

import pytest

from collab_tui.core import wire

from collab_tui.ui.app import CollabApp

from .conftest import settle
from .scenario import FixedClock, make_runner, populate

SHIPPED = ["collab-dark", "collab-light", "collab-high-contrast"]


def build(theme: str) -> tuple[CollabApp, FixedClock]:
    clock = FixedClock()
    app = CollabApp(make_runner(clock, hold_s=0.0), theme=theme, clock=clock, theme_dirs=[])
    return app, clock


def populated(app: CollabApp, clock: FixedClock, then: Callable[[], None] | None = None):
    """A ``run_before``: the fixed scenario (then ``then``), drawn, relative times current."""
    async def run_before(pilot) -> None:
        populate(app.runner, clock)
        if then is not None:
            then()
        await settle(pilot, lambda: not app.main.busy and app.main.requests.row_count == 11)
        app.main.tick()
        await pilot.pause()
    return run_before


@pytest.fixture(autouse=True)
def _fixed_ids(monkeypatch):
    """Request ids are uuids in real life; fixed here so the screen is the same every run."""
    counter = itertools.count(1)
    monkeypatch.setattr(wire, "new_id", lambda: f"{next(counter):08d}cafe{'0' * 20}")


@pytest.mark.parametrize("theme", SHIPPED)
def test_main_screen(snap_compare, theme):
    app, clock = build(theme)

    assert snap_compare(app, terminal_size=(160, 48), run_before=populated(app, clock))


def test_main_screen_at_80x24(snap_compare):
    """The smallest terminal we support: the tables drop low-priority columns, Reason stays."""
    app, clock = build("collab-dark")

    assert snap_compare(app, terminal_size=(80, 24), run_before=populated(app, clock))


def test_help_screen(snap_compare):
    app, clock = build("collab-dark")

    async def run_before(pilot) -> None:
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_request_form_80x24(snap_compare):
    """The n form on a small terminal: its fields scroll, Send and Cancel stay visible."""
    app, clock = build("collab-dark")

    async def run_before(pilot) -> None:
        populate(app.runner, clock)
        await settle(pilot, lambda: not app.main.busy)
        await pilot.press("n")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_help_screen_80x24(snap_compare):
    """Help on a narrow terminal: ids join the description instead of a column of their own."""
    app, clock = build("collab-dark")

    async def run_before(pilot) -> None:
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_reputation_with_what_the_network_says(snap_compare):
    """Reports from two pinned reporters: the Network says column beside the bars, in their
    colours and glyphs (red ▒ below the threshold, green █ above, — where nobody counted)."""
    from collab_tui.core import reports as rp
    from collab_tui.core.engines import make_policy

    from .scenario import frame

    clock = FixedClock()
    runner = make_runner(clock, trainer_kwargs={"policy": make_policy("shared"),
                                                "trusted_reporters": ["AI_Node_2", "AI_Node_3"]})
    app = CollabApp(runner, theme="collab-dark", clock=clock, theme_dirs=[])

    def report(reporter: str, observations: list[tuple[str, int, int]]) -> None:
        runner.feed(frame(rp.REPUTATION_REPORT, reporter, {"query_id": None, "observations": [
            {"subject": s, "successes": ok, "failures": bad, "last_outcome_at": 1.0} for s, ok, bad in observations]}))

    def reports() -> None:
        report("AI_Node_2", [("Mallory", 0, 9), ("Flaky_7", 6, 1)])
        report("AI_Node_3", [("Mallory", 0, 4), ("AI_Node_2", 8, 0)])

    assert snap_compare(app, terminal_size=(160, 30), run_before=populated(app, clock, then=reports))
