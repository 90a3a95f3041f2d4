"""FeedTable's batch updates work on DataTable's row store directly: check them against
DataTable's public view (order, cells, cursor) and its own cell drawing."""
from __future__ import annotations

from textual.app import App, ComposeResult

from collab_tui.ui.widgets.cells import Cell, shared
from collab_tui.ui.widgets.table import Column, FeedTable
from textual.widgets import DataTable


class Table(FeedTable):
    COLUMNS = (Column("time", "Time", 6), Column("name", "Name", 10), Column("state", "State", 8))
    default_sort = ("time", True)       # newest first
    max_rows = 5


def cells(t: int, name: str, state: str = "new", style: str = "") -> tuple[Cell, ...]:
    return (Cell(f"{t:04d}", sort_value=float(t)), Cell(name), Cell(state, style))


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Table(id="t")


def shown(table: FeedTable) -> list[tuple[str, str]]:
    """(key, state) of every row, in screen order, through DataTable's public API."""
    out = []
    for i in range(table.row_count):
        key = table.coordinate_to_cell_key((i, 0)).row_key.value
        out.append((key, table.get_row_at(i)[2].plain))
    return out


async def test_apply_adds_updates_drops_trims_and_keeps_the_selection():
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(Table)
        table.apply([(f"k{i}", cells(i, f"n{i}")) for i in range(3)])
        assert [k for k, _ in shown(table)] == ["k2", "k1", "k0"]
        table.move_cursor(row=1)
        assert table.selected_key == "k1"

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


async def test_filter_and_rebuild():
    app = TableApp()
    async with app.run_test():
        table = app.query_one(Table)
        table.filter_text = "n1"
        table.rebuild([(f"k{i}", cells(i, f"n{i}")) for i in range(20)])
        assert [k for k, _ in shown(table)] == ["k19", "k18", "k17", "k16", "k15"]
        table.apply([("k19", cells(19, "renamed"))])          # no longer matches: dropped
        assert "k19" not in table.rows


async def test_fast_cell_drawing_matches_datatable():
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(Table)
        table.apply([(f"k{i}", cells(i, f"name {i}", "ok" if i % 2 else "", "bold red")) for i in range(4)])
        await pilot.pause()
        for row in range(table.row_count):
            for column in range(3):
                for cursor in (False, True):
                    style = table._get_row_style(row, table.rich_style)
                    ours = table._render_cell(row, column, style, 8, cursor=cursor)
                    theirs = DataTable._render_cell(table, row, column, style, 8, cursor=cursor)
                    assert ours == theirs


def test_equal_cells_are_shared():
    a, b = Cell("x", "bold", sort_value=1), Cell("x", "bold", sort_value=1)
    assert shared(a) is shared(b) is a
    assert shared(Cell("x", "bold", sort_value=2)) is not a
