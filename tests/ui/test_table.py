"""FeedTable, our own Line-API table: batch updates by key, trimming, sorting, filtering
(narrowing in place), column layout, and the text it draws."""
from __future__ import annotations

from rich.style import Style
from textual.app import App, ComposeResult

from collab_tui.ui.widgets.cells import (Cell, IdCell, Palette, draw_cell, fit_text, middle_cut, shared,
                                         sparkline, trend)
from collab_tui.ui.widgets.rows import GAP, Column, layout
from collab_tui.ui.widgets.table import FeedTable


class Table(FeedTable):
    COLUMNS = (Column("time", "Time", 6, priority=100), Column("name", "Name", 10, priority=90),
               Column("state", "State", 8, priority=10))
    default_sort = ("time", True)       # newest first
    max_rows = 5
    PLACEHOLDER = "No rows yet — test table"


def cells(t: int, name: str, state: str = "new", style: str = "") -> tuple[Cell, ...]:
    return (Cell(f"{t:04d}", sort_value=float(t)), Cell(name), Cell(state, style))


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Table(id="t")


def shown(table: FeedTable) -> list[tuple[str, str]]:
    """(key, state) of every row, in screen order."""
    return [(key, table.get_cell(key, "state").plain) for key in table.ordered_keys()]


async def test_apply_adds_updates_drops_trims_and_keeps_the_selection():
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(Table)
        table.apply([(f"k{i}", cells(i, f"n{i}")) for i in range(3)])
        assert [k for k, _ in shown(table)] == ["k2", "k1", "k0"]
        table.move_cursor(row=1)
        assert table.selected_key == "k1" and not table.following

        # update in place, drop one, add four: the newest five are kept, newest first
        changed = table.apply([("k1", cells(1, "n1", "done")), ("k0", None)]
                              + [(f"k{i}", cells(i, f"n{i}")) for i in range(3, 7)])
        assert changed == 1 + 1 + 4 + 1        # updated, dropped, added, trimmed (k1, now the oldest)
        assert shown(table) == [("k6", "new"), ("k5", "new"), ("k4", "new"), ("k3", "new"), ("k2", "new")]
        assert table.row_count == 5 and "k1" not in table.rows      # trimmed: the oldest
        assert table.cutoff_age == 2.0

        table.move_cursor(row=1)
        assert table.selected_key == "k5"
        table.apply([(f"k{i}", cells(i, f"n{i}")) for i in (7, 8)])
        assert [k for k, _ in shown(table)] == ["k8", "k7", "k6", "k5", "k4"]
        assert table.selected_key == "k5" and table.cursor_row == 3    # the cursor followed its row
        assert table.newer == 3                  # k6, k7, k8 arrived above it since it left the top
        # an unchanged row is not counted, a row older than all kept is never added
        assert table.apply([("k8", cells(8, "n8")), ("old", cells(0, "old"))]) == 0
        assert "old" not in table.rows

        # sorting by another column, then reversing, orders by that column's sort values
        table.sort_by("name")
        assert [k for k, _ in shown(table)] == ["k4", "k5", "k6", "k7", "k8"]
        table.sort_by("name")
        assert [k for k, _ in shown(table)] == ["k8", "k7", "k6", "k5", "k4"]
        assert table.selected_key == "k5"
        await pilot.pause()


async def test_unknown_sort_column_is_named():
    app = TableApp()
    async with app.run_test():
        table = app.query_one(Table)
        try:
            table.sort_by("nope")
        except KeyError as exc:
            assert "no column 'nope'" in str(exc) and "time, name, state" in str(exc)
        else:
            raise AssertionError("sorting by an unknown column must fail")


async def test_filter_and_rebuild():
    app = TableApp()
    async with app.run_test():
        table = app.query_one(Table)
        table.filter_text = "n1"
        table.rebuild([(f"k{i}", cells(i, f"n{i}")) for i in range(20)])
        assert [k for k, _ in shown(table)] == ["k19", "k18", "k17", "k16", "k15"]
        table.apply([("k19", cells(19, "renamed"))])          # no longer matches: dropped
        assert "k19" not in table.rows


async def test_narrowing_a_filter_looks_only_at_the_rows_shown():
    app = TableApp()
    async with app.run_test():
        table = app.query_one(Table)
        table.rebuild([(f"k{i}", cells(i, name)) for i, name in enumerate(["alpha", "alps", "beta"])])
        assert table.narrows("al")                  # "" -> "al": only rows shown can match
        assert table.narrow("al") == 1 and sorted(table.rows) == ["k0", "k1"]
        assert table.narrows("alp") and not table.narrows("b")     # "b" is not a narrowing of "al"
        table.narrow("alph")
        assert list(table.rows) == ["k0"]
        # a full table may have left matching rows out: narrowing must rebuild instead
        table.filter_text = ""
        table.rebuild([(f"k{i}", cells(i, f"n{i}")) for i in range(9)])
        assert table.row_count == table.max_rows and not table.narrows("n")


async def test_empty_table_says_so_and_names_the_filter():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(Table)
        await pilot.pause()
        lines = list(table.lines_shown())
        assert lines[0].split() == ["Time", "▼", "Name", "State"]
        assert "No rows yet — test table" in lines[1]
        table.filter_text = "zzz"
        table.rebuild([("k1", cells(1, "n1"))])
        assert "No rows match the filter “zzz”" in list(table.lines_shown())[1]


def test_layout_drops_the_lowest_priority_first_and_gives_the_rest_to_flexible_columns():
    columns = (Column("a", "A", 8, priority=100), Column("b", "B", 10, min_width=6, priority=10),
               Column("c", "C", 20, min_width=10, priority=50, flex=1), Column("d", "D", 5, priority=60))
    wide = layout(columns, 100)
    assert [p.key for p in wide] == ["a", "b", "c", "d"]
    assert wide[-1].x + wide[-1].width == 100                       # the flexible column takes the rest
    assert {p.key: p.width for p in wide} == {"a": 8, "b": 10, "c": 100 - 8 - 10 - 5 - 4 * GAP, "d": 5}
    # at 32 columns the minimums (8+6+10+5 plus gaps = 33) do not fit: "b" (lowest) goes
    narrow = layout(columns, 32)
    assert [p.key for p in narrow] == ["a", "c", "d"]
    assert sum(p.width for p in narrow) + len(narrow) * GAP == 32
    # at 40 all minimums fit (33), but "c" could not reach its preferred 20: "b", fixed and
    # of lower priority than "c", gives way; "d" (higher than "c") stays
    assert [p.key for p in layout(columns, 40)] == ["a", "c", "d"]
    assert [p.key for p in layout(columns, 44)] == ["a", "b", "c", "d"]
    # the columns never overlap and never pass the width
    for width in range(0, 60):
        placed = layout(columns, width)
        assert all(p.x >= q.x + q.width for q, p in zip(placed, placed[1:]))
        assert not placed or placed[-1].x + placed[-1].width <= width


def test_cut_text_ends_with_an_ellipsis_and_ids_are_cut_in_the_middle():
    assert fit_text("reputation 0.46 < threshold 0.50", 20) == "reputation 0.46 < t…"
    assert fit_text("short", 20) == "short"
    assert middle_cut("whitewasher-1.94", 11) == "white…-1.94"
    ids = ["whitewasher-1", "whitewasher-1.94", "whitewasher-1.95", "whitewasher-11.94"]
    assert len({middle_cut(i, 11) for i in ids}) == len(ids)           # look-alikes stay apart
    assert all(len(middle_cut(i, 11)) <= 11 for i in ids)
    cell = IdCell("whitewasher-1.94", prefix="← ")
    assert cell.fitted(13) == "← white…-1.94" and cell.fitted(40) == "← whitewasher-1.94"
    assert middle_cut("漢字漢字漢字漢字", 7) == "漢…字"          # wide characters count two cells


def test_drawn_cells_are_plain_text_at_the_column_width():
    base = Style(bgcolor="black")
    segments = draw_cell(Cell("[bold]not markup[/bold]", "red"), 30, base)
    assert "".join(s.text for s in segments) == "[bold]not markup[/bold]".ljust(30)
    segments = draw_cell(Cell("a long reason that does not fit", "red"), 10, base)
    assert "".join(s.text for s in segments) == "a long re…"


def test_sparkline_is_coloured_by_its_trend():
    palette = Palette()
    assert trend([0.5, 0.6, 0.7]) == "up" and trend([0.7, 0.3]) == "down" and trend([0.5, 0.5]) == "flat"
    assert sparkline([0.5, 0.7], 12, palette).style == palette.success
    assert sparkline([0.7, 0.5], 12, palette).style == palette.error
    assert sparkline([0.5], 12, palette).style == palette.muted


def test_equal_cells_are_shared():
    a, b = Cell("x", "bold", sort_value=1), Cell("x", "bold", sort_value=1)
    assert shared(a) is shared(b) is a
    assert shared(Cell("x", "bold", sort_value=2)) is not a


async def test_a_changed_row_is_drawn_again_and_an_unchanged_one_reused():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(Table)
        table.apply([(f"k{i}", cells(i, f"n{i}")) for i in range(3)])
        await pilot.pause()
        first = list(table.lines_shown())
        assert "n2" in first[1] and "new" in first[1]
        table.apply([("k2", cells(2, "n2", "done"))])
        await pilot.pause()
        second = list(table.lines_shown())
        assert "done" in second[1] and second[2:] == first[2:]
        table.move_cursor(1)                      # the cursor's line is drawn in the cursor style
        assert table.render_line(2).text == second[2]
        assert table.render_line(2) is not table.render_line(3)


async def test_the_cursor_row_is_drawn_in_the_cursor_colours_over_the_cells_own():
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(Table)
        table.focus()
        table.apply([(f"k{i}", cells(i, f"n{i}", "bad", "bold #ff0000")) for i in range(3)])
        await pilot.pause()

        def state_colour(y: int) -> str:
            segment = next(s for s in table.render_line(y) if s.text.startswith("bad"))
            return segment.style.color.name if segment.style.color else ""

        assert table.cursor_row == 0
        assert state_colour(2) == "#ff0000"                      # off the cursor: the cell's colour
        assert state_colour(1) not in ("#ff0000", "")             # on it: the cursor's, readable on its background


def test_row_store_merges_a_batch_keeping_the_newest_and_the_order():
    """The row store alone (no widget): changes in place, adds and drops in one merge,
    bounded to the newest rows, the unsorted order kept with new rows after it."""
    from collab_tui.ui.widgets.rows import RowStore

    store = RowStore([Column("age", "Age", 4), Column("text", "Text", 8)],
                     row_age=lambda cells: cells[0].sort_value)
    store.replace([(k, (Cell(str(n), sort_value=n), Cell(k))) for n, k in enumerate("abc")])
    store.place(None, None)
    assert store.order == ["a", "b", "c"]
    merge = store.merge([("b", (Cell("1", sort_value=1), Cell("B"))), ("c", None),
                         ("d", (Cell("3", sort_value=3), Cell("d"))), ("e", (Cell("4", sort_value=4), Cell("e")))],
                        matches=lambda cells: True, sort_column=None, max_rows=3)
    assert merge.changed == ["b"] and store.cells["b"][1].plain == "B"      # changed in place at once
    assert merge.removes == {"a", "c"}                                      # dropped, and the oldest beyond 3
    assert [k for k, _ in merge.new] == ["d", "e"] and merge.reorders and len(merge) == 5
    store.place(store.commit(merge, keep_order=True), None)
    assert store.order == ["b", "d", "e"] and store.index == {"b": 0, "d": 1, "e": 2}
    store.place(None, ("age", True))
    assert store.order == ["e", "d", "b"]
    assert not store.merge([("e", (Cell("4", sort_value=4), Cell("e")))], lambda c: True, "age", 3)
