"""``FeedTable``: a DataTable kept in step with trainer state by row key.

Rows are updated in place (only changed cells), added in batches, kept sorted by the
column the operator chose (click a header; again to reverse), bounded in number,
and filtered by a search text. The cursor stays on the same record while rows
arrive or re-sort, so a key press acts on what the operator selected.
"""
from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, Callable, Iterable, Sequence

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual._two_way_dict import TwoWayDict
from textual.cache import LRUCache
from textual.renderables.styled import Styled
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets._data_table import Row
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

from .cells import Cell, Palette, cell_sort_key


_EMPTY = Text(no_wrap=True, end="")   # what DataTable draws for an empty cell


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
    #: Rows shown at most: the newest (by ``row_age``) are kept.
    max_rows: int = 1000
    default_sort: tuple[str, bool] | None = None   # (column key, reverse)
    #: The column whose sort value says how recent a row is (see ``row_age``).
    AGE_COLUMN: int = 0

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True,
                         header_height=1)
        self.sort_state: tuple[str, bool] | None = self.default_sort
        self.filter_text = ""
        self._ages: dict[str, Any] = {}     # row key -> age, for every row shown
        # Distinct cells drawn (a screenful is a few hundred): small, since every entry
        # is a handful of objects the garbage collector's full passes must walk.
        self._drawn: LRUCache[tuple, list[list[Segment]]] = LRUCache(1024)
        #: The click metadata of each place (row, column) — one Style per place, reused.
        self._metas: dict[tuple[int, int], Style] = {}
        self._header_drawn: dict[tuple, list[list[Segment]]] = {}
        #: Seconds spent drawing so far (the screen paces its batches by it).
        self.render_cost = 0.0
        self._column_keys = [ColumnKey(col.key) for col in self.COLUMNS]

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
    def matches(self, cells: Sequence[Cell | str]) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.casefold()
        return any(needle in getattr(c, "plain", str(c)).casefold() for c in cells)

    # ---- bulk / incremental updates --------------------------------------
    #
    # DataTable's own add_row/remove_row/sort cost O(rows) each (remove_row rebuilds the
    # row index, add_row re-validates the cursor, idle-time measuring of every new cell),
    # so a batch of a thousand changes would cost a million steps. A batch is applied
    # here in one pass over DataTable's row store instead: changed cells replaced in
    # place, rows added and dropped, the newest ``max_rows`` kept, one sort, one
    # refresh. Column widths are fixed, so nothing needs measuring. (Textual is pinned
    # to 8.x; tests/ui/test_table.py checks the table against DataTable's public view.)

    def build_row(self, key: str, now: float) -> Sequence[Cell] | None:
        """The cells of one row from the trainer's state (``None``: the record is gone)."""
        raise NotImplementedError

    def relevant(self, keys: Iterable[str]) -> list[str]:
        """Of the changed ``keys``, those whose rows are worth building (all, by default)."""
        return list(keys)

    def row_age(self, cells: Sequence[Cell]) -> Any:
        """How recent a row is (the oldest are dropped first beyond ``max_rows``)."""
        return getattr(cells[self.AGE_COLUMN], "sort_value", 0) or 0

    @property
    def cutoff_age(self) -> Any:
        """Rows older than this would be dropped at once (``None`` while there is room)."""
        if len(self.rows) < self.max_rows or not self._ages:
            return None
        return min(self._ages.values())

    def rebuild(self, rows: Iterable[tuple[str, Sequence[Cell]]]) -> None:
        """Replace every row (``rows`` oldest first); keeps the newest ``max_rows`` matching ones."""
        selected = self.selected_key
        kept = [(k, c) for k, c in rows if self.matches(c)][-self.max_rows:]
        self.clear()
        self._ages.clear()
        self._insert(kept)
        self._relocate(list(self._data))
        self.select_key(selected)

    def apply(self, rows: Iterable[tuple[str, Sequence[Cell] | None]], all_rows: Any = None) -> int:
        """Upsert changed rows (``None`` cells = drop the row) in one pass; returns the
        number of rows added, changed or dropped. (``all_rows`` is accepted for callers
        of the old API and not needed.)"""
        data = self._data
        ages = self._ages
        column_keys = self._column_keys
        sort_column = self._sort_column_key()
        adds: dict[str, Sequence[Cell]] = {}
        removes: set[str] = set()
        changed_rows = 0
        resort = False
        for key, cells in rows:
            if cells is None or not self.matches(cells):
                if key in ages:
                    removes.add(key)
                adds.pop(key, None)
                continue
            if key not in ages:
                adds[key] = cells
                continue
            removes.discard(key)
            row = data[RowKey(key)]
            changed = False
            for column_key, value in zip(column_keys, cells):
                current = row.get(column_key)
                if current is value:
                    continue
                if current != value:       # a Cell compares text, style and sort value
                    row[column_key] = value
                    changed = True
                    if column_key == sort_column:
                        resort = True
            if changed:
                changed_rows += 1
                ages[key] = self.row_age(cells)
        # Keep the newest max_rows: drop the oldest of what is there and what arrives.
        new = sorted(adds.items(), key=lambda item: self.row_age(item[1]))
        excess = len(ages) - len(removes) + len(new) - self.max_rows
        if excess > 0:
            candidates = [(age, 1, k) for k, age in ages.items() if k not in removes]
            candidates += [(self.row_age(c), 2, k) for k, c in new]
            dropped = {k for _, _, k in heapq.nsmallest(excess, candidates, key=lambda c: (c[0], c[1]))}
            removes |= dropped & ages.keys()
            new = [(k, c) for k, c in new if k not in dropped]
        if not (new or removes or changed_rows):
            return 0
        selected = self.selected_key
        if new or removes:
            order = None
            if self.sort_state is None:
                order = [k for k in self._keys_in_order() if k.value not in removes]
            for key in removes:
                row_key = RowKey(key)
                del self.rows[row_key]
                del data[row_key]
                del ages[key]
            self._insert(new)
            if order is not None:
                order += [RowKey(k) for k, _ in new]
            self._relocate(order)
        elif resort:
            self._relocate(None)
        else:
            self._changed()
            self.refresh()
        self.select_key(selected)
        return len(new) + len(removes) + changed_rows

    def _insert(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Add rows to the row store (placed by the next ``_relocate``)."""
        column_keys = self._column_keys
        for key, cells in rows:
            row_key = RowKey(key)
            self._data[row_key] = dict(zip_longest(column_keys, cells))
            self.rows[row_key] = Row(row_key, 1)
            self._ages[key] = self.row_age(cells)

    def _changed(self) -> None:
        """Invalidate the renders: DataTable keys its render caches by an update count, so
        after an update they can never be hit again — drop them at once (a flood would
        otherwise keep thousands of dead renders alive until evicted)."""
        self._update_count += 1
        self._clear_caches()

    def _keys_in_order(self) -> list[RowKey]:
        locations = self._row_locations
        return [locations.get_key(i) for i in range(len(self.rows))]

    def _sort_column_key(self) -> ColumnKey | None:
        return ColumnKey(self.sort_state[0]) if self.sort_state is not None else None

    def _relocate(self, order: list | None) -> None:
        """Place the rows: in ``order`` (row keys), or by the sort column; then one refresh."""
        if self.sort_state is not None:
            column_key = self._sort_column_key()
            items = sorted(self._data.items(), key=lambda item: cell_sort_key(item[1].get(column_key)),
                           reverse=self.sort_state[1])
            order = [row_key for row_key, _ in items]
        elif order is None:
            order = list(self._data)
        self._row_locations = TwoWayDict({row_key: index for index, row_key in enumerate(order)})
        self._changed()
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate     # clamped to the rows left
        self.hover_coordinate = self.hover_coordinate
        self.refresh()
        self.check_idle()

    # ---- drawing ------------------------------------------------------------
    #
    # DataTable caches each cell's render by position and update count, so after an update
    # every visible cell is drawn again through rich's full pipeline (~0.1 ms a cell),
    # though under a flood most new cells say the same thing as others (type, verdict,
    # reason, status). Cells are drawn here once per (text, style, width, styles around
    # them) instead; only the row/column metadata (for mouse clicks) is added per place.

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        if row_index == -1 and column_index >= 0:
            # The header: the same few cells every time, but DataTable's cache of them is
            # keyed by the update count, so every batch would draw them again.
            key = (column_index, width, base_style, cursor, hover, self._show_hover_cursor,
                   self._pseudo_class_state, self.ordered_columns[column_index].label.plain)
            lines = self._header_drawn.get(key)
            if lines is None:
                if len(self._header_drawn) >= 256:
                    self._header_drawn.clear()
                lines = self._header_drawn[key] = super()._render_cell(
                    row_index, column_index, base_style, width, cursor, hover)
            return lines
        if row_index < 0 or column_index < 0 or row_index < self.fixed_rows \
                or column_index < self.fixed_columns:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        row = self.rows.get(row_key) if row_key is not None else None
        cell = self._data[row_key].get(self._column_locations.get_key(column_index)) if row else None
        if not isinstance(cell, Cell) or row.height != 1:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        key = (cell.draw_key(), width, base_style, component_style, post_style, self.cell_padding)
        lines = self._drawn.get(key)
        if lines is None:
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            lines = self.app.console.render_lines(
                Styled(Padding(cell if cell else _EMPTY, (0, self.cell_padding)),
                       pre_style=base_style + component_style, post_style=post_style),
                options)
            self._drawn[key] = lines
        place = (row_index, column_index)
        meta = self._metas.get(place)
        if meta is None:
            if len(self._metas) >= 4096:
                self._metas.clear()
            meta = self._metas[place] = Style.from_meta({"row": row_index, "column": column_index})
        return [[Segment(text, style + meta if style else meta, control) for text, style, control in line]
                for line in lines]

    def render_lines(self, crop: Region) -> list[Strip]:
        start = time.perf_counter()
        try:
            return super().render_lines(crop)
        finally:
            self.render_cost += time.perf_counter() - start

    # ---- sorting -----------------------------------------------------------
    def _resort(self) -> None:
        if self.sort_state is None or self.row_count == 0:
            return
        self._relocate(None)

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


class TrainerTable(FeedTable):
    """A feed table over one trainer's state, with the clock and palette it draws with."""

    def __init__(self, trainer: Any, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trainer = trainer
        self.clock = clock
        self.palette = Palette()
