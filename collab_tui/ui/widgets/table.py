"""``FeedTable``: a DataTable kept in step with trainer state by row key.

Rows are updated in place (only changed cells), added in batches, kept sorted by the
column the operator chose (click a header; again to reverse), bounded in number,
and filtered by a search text. The cursor stays on the same record while rows
arrive or re-sort, so a key press acts on what the operator selected.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowKey

from .cells import cell_sort_key


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int


class FeedTable(DataTable, inherit_bindings=False):
    """DataTable without its own ``enter`` binding (the screen's "details" owns it)."""

    BINDINGS = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("right", "cursor_right", "Cursor right", show=False),
        Binding("left", "cursor_left", "Cursor left", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "scroll_top", "Top", show=False),
        Binding("ctrl+end", "scroll_bottom", "Bottom", show=False),
        Binding("home", "scroll_home", "Home", show=False),
        Binding("end", "scroll_end", "End", show=False),
    ]

    COLUMNS: Sequence[Column] = ()
    #: Rows shown at most; beyond ``max_rows * 1.25`` the table is rebuilt down to ``max_rows``.
    max_rows: int = 1000
    default_sort: tuple[str, bool] | None = None   # (column key, reverse)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True,
                         header_height=1)
        self.sort_state: tuple[str, bool] | None = self.default_sort
        self.filter_text = ""

    def on_mount(self) -> None:
        for col in self.COLUMNS:
            self.add_column(col.label, width=col.width, key=col.key)

    # ---- selection ------------------------------------------------------
    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    def select_key(self, key: str | None) -> None:
        if key is None or key not in self.rows:
            return
        index = self.get_row_index(key)
        if index != self.cursor_row:
            self.move_cursor(row=index, scroll=False)

    # ---- filtering --------------------------------------------------------
    def matches(self, cells: Sequence[Text | str]) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.casefold()
        return any(needle in (c.plain if isinstance(c, Text) else str(c)).casefold() for c in cells)

    # ---- bulk / incremental updates --------------------------------------
    def rebuild(self, rows: Iterable[tuple[str, Sequence[Text]]]) -> None:
        """Replace every row (``rows`` oldest first); keeps the newest ``max_rows`` matching ones."""
        selected = self.selected_key
        kept = [(k, c) for k, c in rows if self.matches(c)][-self.max_rows:]
        self.clear()
        for key, cells in kept:
            self.add_row(*cells, key=key)
        self._resort()
        self.select_key(selected)

    def apply(self, rows: Iterable[tuple[str, Sequence[Text] | None]],
              all_rows: "callable | None" = None) -> None:
        """Upsert changed rows (``None`` cells = drop the row); re-sort if rows were added."""
        selected = self.selected_key
        added = False
        for key, cells in rows:
            if cells is None or not self.matches(cells):
                if key in self.rows:
                    self.remove_row(key)
                continue
            if key in self.rows:
                for col, value in zip(self.COLUMNS, cells):
                    try:
                        current = self.get_cell(key, col.key)
                    except CellDoesNotExist:
                        current = None
                    if current != value or getattr(current, "style", None) != getattr(value, "style", None):
                        self.update_cell(key, col.key, value)
            else:
                self.add_row(*cells, key=key)
                added = True
        if added and self.row_count > self.max_rows * 1.25 and all_rows is not None:
            self.rebuild(all_rows())
            self.select_key(selected)
            return
        if added:
            self._resort()
        self.select_key(selected)

    # ---- sorting -----------------------------------------------------------
    def _resort(self) -> None:
        if self.sort_state is None or self.row_count == 0:
            return
        column, reverse = self.sort_state
        self.sort(column, key=cell_sort_key, reverse=reverse)

    def sort_by(self, column: str) -> None:
        """Sort by a column; the same column again reverses the order."""
        selected = self.selected_key
        if self.sort_state and self.sort_state[0] == column:
            self.sort_state = (column, not self.sort_state[1])
        else:
            self.sort_state = (column, False)
        self._resort()
        self.select_key(selected)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(event.column_key.value)

    def row_key_of(self, key: RowKey) -> str:
        return key.value
