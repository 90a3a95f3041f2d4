"""Responsive columns, cut text, look-alike ids, hostile peer text, sort and filter on the
real app (Pilot, real runner fed frames) at the sizes operators use."""
from __future__ import annotations

import pytest
from rich.cells import cell_len

from collab_tui.core.text import is_clean
from collab_tui.ui.screens.details import DetailsScreen

from .conftest import settle, started
from .scenario import join, request_from

ALL_REQUEST_COLUMNS = ["time", "peer", "type", "spec", "score", "verdict", "reason", "next", "hold"]


@pytest.mark.parametrize("size, expected", [
    ((80, 24), ["time", "peer", "score", "verdict", "reason"]),
    ((100, 30), ["time", "peer", "score", "verdict", "reason", "next"]),
    ((160, 48), ALL_REQUEST_COLUMNS),
])
async def test_requests_columns_fit_the_terminal_and_reason_fills(make_app, clock, size, expected):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await started(pilot, clock)
        table = app.main.requests
        assert table.visible_columns() == expected
        # no horizontal scrollbar: every line of the widget's height is a line of the table
        assert not table.show_horizontal_scrollbar
        assert table.scrollable_content_region.height == table.size.height
        # the columns end exactly at the right edge: Reason (flexible) took what was left
        width = table.scrollable_content_region.width       # beside the vertical scrollbar
        last_x, last_w = table.column_span(expected[-1])
        assert last_x + last_w == width
        reason_x, reason_w = table.column_span("reason")
        assert reason_w >= 20
        # every line is exactly as wide as the table, and a reason that does not fit ends in …
        lines = list(table.lines_shown())
        assert all(cell_len(line) == width for line in lines)
        assert lines[0][reason_x:].startswith("Reason")
        for key, line in zip(table.keys_in_view(), lines[1:]):
            full = table.get_cell(key, "reason").plain
            shown = _span(line, reason_x, reason_w)
            if cell_len(full) > reason_w:
                assert shown.endswith("…") and full.startswith(shown[:-1].rstrip())
            else:
                assert shown == full


def _span(line: str, x: int, width: int) -> str:
    return line[x:x + width].rstrip()


async def test_other_tables_drop_low_priority_columns_at_80(make_app, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock)
        assert app.main.components.visible_columns() == ["time", "component", "source", "validation", "mark",
                                                         "reason"]
        assert app.main.reputation.visible_columns() == ["peer", "bar", "score", "sf", "trend", "last"]
        for table in (app.main.requests, app.main.reputation, app.main.components):
            header = list(table.lines_shown())[0]
            assert header.count("Score") <= 1                 # one "Score" header, not two


async def test_look_alike_ids_stay_distinct_and_details_show_them_whole(make_app, clock):
    app = make_app()
    look_alikes = ["whitewasher-1", "whitewasher-1.94", "whitewasher-1.95"]
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock, populated=False)
        join(app.runner, {peer: "general" for peer in look_alikes})
        for n, peer in enumerate(look_alikes):
            clock.advance(1)
            request_from(app.runner, peer, f"req-w{n}")
        table = app.main.requests
        await settle(pilot, lambda: not app.main.busy and table.row_count == 3)
        x, width = table.column_span("peer")
        assert width < len("← whitewasher-1.94")                # too narrow: they are cut...
        drawn = {_span(line, x, width) for line in list(table.lines_shown())[1:4]}
        assert len(drawn) == 3 and all("…" in text for text in drawn)   # ...in the middle, apart
        assert "← white…1.94" in drawn
        reputation = app.main.reputation
        x, width = reputation.column_span("peer")
        assert len({_span(line, x, width) for line in list(reputation.lines_shown())[1:4]}) == 3
        # the details show the id whole
        table.focus()
        table.select_key("in:whitewasher-1.94/req-w1")
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, DetailsScreen))
        assert "whitewasher-1.94" in app.screen.title_text


HOSTILE_SPEC = "\x1b[31mred\x1b[0m\u202eexe.txt"
HOSTILE_TYPE = "\x1b]0;owned\x07review\u2066\x9b2J"


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_hostile_peer_text_never_reaches_the_screen(make_app, clock, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await started(pilot, clock, populated=False)
        join(app.runner, {"Evil_1": HOSTILE_SPEC})
        request_from(app.runner, "Evil_1", "req-e1", HOSTILE_TYPE, "\x1b[2Jwipe\u202e")
        await settle(pilot, lambda: not app.main.busy and app.main.requests.row_count == 1)
        await pilot.pause()
        for table in (app.main.requests, app.main.reputation, app.main.components):
            for line in table.lines_shown():
                assert is_clean(line) and "[31m" not in line and "]0;" not in line
        screen = app.export_screenshot()
        assert "\x1b" not in screen and "\u202e" not in screen and "\u2066" not in screen
        assert "[31m" not in screen and "]0;owned" not in screen
        row = app.main.requests.rows["in:Evil_1/req-e1"]
        assert "review" in " ".join(c.plain for c in row)      # the printable text is still shown


async def test_clicking_a_header_sorts_and_again_reverses(make_app, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock)
        table = app.main.requests
        x, _ = table.column_span("verdict")
        await pilot.click(table, offset=(1 + x, 1))
        assert table.sort_state == ("verdict", False)
        values = [table.get_cell(k, "verdict").sort_value for k in table.ordered_keys()]
        assert values == sorted(values) and values[0] != values[-1]
        assert "Verdict ▲" in list(table.lines_shown())[0]
        await pilot.click(table, offset=(1 + x, 1))
        values = [table.get_cell(k, "verdict").sort_value for k in table.ordered_keys()]
        assert values == sorted(values, reverse=True)
        assert "Verdict ▼" in list(table.lines_shown())[0]


async def test_filter_is_debounced_and_narrowing_searches_only_the_rows_shown(make_app, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock)
        table = app.main.requests
        rebuilds = []
        original = table.rebuild_from_state

        def counting() -> None:
            rebuilds.append(app.main.filter_text)
            original()

        table.rebuild_from_state = counting
        await pilot.press("slash", *"Mal")
        assert table.row_count == 11            # typing: nothing applied yet (debounced)
        await settle(pilot, lambda: app.main.filter_text == "Mal")
        assert table.row_count == 4 and rebuilds == []          # narrowed in place, no rebuild
        await pilot.press(*"lory")
        await settle(pilot, lambda: app.main.filter_text == "Mallory")
        assert table.row_count == 4 and rebuilds == []
        await pilot.press(*["backspace"] * 7)
        await settle(pilot, lambda: app.main.filter_text == "")
        assert rebuilds == [""]                  # wider: rebuilt from the trainer's state, once
        assert table.row_count == 11
        await pilot.press(*"ZZZ")
        await settle(pilot, lambda: app.main.filter_text == "ZZZ")
        assert table.row_count == 0
        assert "No rows match the filter “ZZZ”" in list(table.lines_shown())[1]


async def test_a_score_just_below_the_threshold_never_reads_as_equal(make_app, clock):
    from .scenario import make_runner
    app = make_app(make_runner(clock, threshold=1.0))
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, clock)
        table = app.main.reputation
        app.runner.trainer.reputation["AI_Node_2"] = 0.9996
        app.runner.trainer.reputation["AI_Node_3"] = 1.0
        table.refresh_rows({"AI_Node_2", "AI_Node_3"})
        below, equal = table.get_cell("AI_Node_2", "score"), table.get_cell("AI_Node_3", "score")
        assert below.plain == "0.9996" and table.palette.error in below.style      # not "1.00" in red
        assert equal.plain == "1.00" and table.palette.success in equal.style
        assert "▒" in table.get_cell("AI_Node_2", "bar").plain                        # drawn below the mark
        x, width = table.column_span("score")
        line = next(line for key, line in zip(table.keys_in_view(), list(table.lines_shown())[1:])
                    if key == "AI_Node_2")
        assert line[x:x + width].strip() == "0.9996"
