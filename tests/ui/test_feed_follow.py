"""Follow mode, as in ``tail -f``: driven through Pilot against a real runner fed frames."""
from __future__ import annotations

import pytest

from collab_tui.ui.widgets.cells import clock_time

from .conftest import settle, started
from .scenario import outcome_round, request_from

SIZES = [(80, 24), (160, 48)]


def newest_time(app) -> str:
    t = app.runner.trainer
    return clock_time(max(r.received_at for r in t.incoming.values()))


async def flood(pilot, clock, first: int, count: int) -> list[str]:
    """``count`` requests from AI_Node_3, a second apart; returns their row keys."""
    app = pilot.app
    keys = []
    for n in range(first, first + count):
        clock.advance(1)
        request_from(app.runner, "AI_Node_3", f"req-{n:03d}", "code_review", f"route {n}")
        keys.append(f"in:AI_Node_3/req-{n:03d}")
    await settle(pilot, lambda: not app.main.busy and keys[-1] in app.main.requests.rows)
    await pilot.pause()
    return keys


@pytest.mark.parametrize("size", SIZES)
async def test_follow_mode_keeps_the_newest_in_view_until_the_operator_moves_away(make_app, clock, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await started(pilot, clock)
        table = app.main.requests
        height = len(table.keys_in_view())
        keys = await flood(pilot, clock, 0, 60)
        assert table.row_count > height                      # more rows than fit
        # following: the newest row is selected, at the top of the view, drawn on screen
        assert table.following and table.selected_key == keys[-1] == table.ordered_keys()[0]
        assert table.scroll_y == 0 and table.keys_in_view()[0] == keys[-1]
        assert newest_time(app) in list(table.lines_shown())[1]
        assert "newer" not in str(table.border_subtitle)

        # more rows arrive: still at the top, on the newest
        keys += await flood(pilot, clock, 60, 3)
        assert table.selected_key == keys[-1] and table.keys_in_view()[0] == keys[-1]

        # the operator moves away: the view holds still, the selection stays in view
        table.focus()
        for _ in range(3):
            await pilot.press("down")
        selected = table.selected_key
        assert selected == keys[-4] and not table.following
        view = table.keys_in_view()
        place = view.index(selected)
        await flood(pilot, clock, 63, 5)
        assert table.selected_key == selected
        assert table.keys_in_view() == view                  # nothing moved on screen
        assert table.keys_in_view().index(selected) == place
        assert table.newer == 5 and "↑ 5 newer" in str(table.border_subtitle)

        # home: back to the newest, following again
        await pilot.press("home")
        assert table.following and table.selected_key == table.ordered_keys()[0] == "in:AI_Node_3/req-067"
        assert table.scroll_y == 0 and "newer" not in str(table.border_subtitle)
        await flood(pilot, clock, 68, 2)
        assert table.selected_key == "in:AI_Node_3/req-069" and table.keys_in_view()[0] == table.selected_key

        # end: the oldest row, in view
        await pilot.press("end")
        assert table.selected_key == table.ordered_keys()[-1]
        assert table.keys_in_view()[-1] == table.selected_key and not table.following


async def test_moving_back_to_the_top_row_resumes_following(make_app, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock)
        table = app.main.requests
        table.focus()
        await pilot.press("down")
        await flood(pilot, clock, 0, 4)
        assert table.newer == 4
        await pilot.press("up")               # one row up: still below the newer rows
        assert not table.following and table.newer == 4
        await pilot.press("pageup", "pageup")   # up to the top row
        assert table.following and table.newer == 0
        keys = await flood(pilot, clock, 4, 2)
        assert table.selected_key == keys[-1]


async def test_components_table_follows_too(make_app, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock)
        table = app.main.components
        assert len(table.keys_in_view()) < table.row_count
        newest = table.ordered_keys()[0]
        assert table.following and table.selected_key == newest

        outcome_round(app.runner, clock, "AI_Node_2", True, "nic-driver")
        await settle(pilot, lambda: not app.main.busy and table.ordered_keys()[0] != newest)
        assert table.selected_key == table.ordered_keys()[0] == table.keys_in_view()[0]

        table.focus()
        await pilot.press("down")
        selected, view = table.selected_key, table.keys_in_view()
        outcome_round(app.runner, clock, "AI_Node_2", True, "nic-firmware")
        await settle(pilot, lambda: not app.main.busy and table.newer == 1)
        assert table.selected_key == selected and table.keys_in_view() == view
        assert "↑ 1 newer" in str(table.border_subtitle)
        await pilot.press("home")
        assert table.following and table.selected_key == table.ordered_keys()[0]
