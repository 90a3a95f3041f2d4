"""``FeedTable``: a table widget of our own on Textual's public Line API, kept in step
with trainer state by row key.

The widget is a ``ScrollView`` that draws one line at a time (``render_line``) from a
row store it owns — the way Textual's ``Log`` takes a flood: a batch of changes costs
one pass over the store, one sort and one refresh, and only the lines on screen are
ever drawn.

* Rows are updated in place by key, added and dropped in batches, kept sorted by the
  column the operator chose (click a header; again to reverse), bounded in number and
  filtered by a search text (narrowing a filter only looks at the rows shown).
* **Responsive columns**: each column has a priority, a minimum and a preferred width;
  flexible columns (Reason) share what is left. When the columns do not fit, the
  lowest-priority ones are dropped first. Nothing scrolls horizontally; text that does
  not fit ends in ``…`` (ids are cut in the middle, ``whitew…1.94``, so distinct ids
  stay distinct).
* **Follow mode** (``tail -f``): while the selection is on the first row (the newest, in
  the default order), new rows appear at the top and the selection stays on the first
  row. Once the operator moves away the view holds still — the selected record keeps
  its place on screen — and the subtitle says ``↑ N newer`` (rows that arrived above
  it) until the selection is back on the first row (``home``).
"""
from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .cells import Cell, Palette, cell_sort_key, draw_cell

#: Spaces before each column (the first column gets one too, off the border).
GAP = 1


@dataclass(frozen=True, slots=True)
class Column:
    """One column: ``width`` is what it would like; ``min_width`` the least it is shown
    at (default: ``width``); ``priority``: higher stays longer on narrow screens;
    ``flex``: a share of the width left over once every shown column has its ``width``
    (0 = never wider than ``width``)."""

    key: str
    label: str
    width: int
    min_width: int | None = None
    priority: int = 50
    flex: int = 0

    @property
    def minimum(self) -> int:
        return self.width if self.min_width is None else self.min_width


@dataclass(frozen=True, slots=True)
class Placed:
    """A column as laid out for one width: its index in ``COLUMNS``, x offset and width."""

    index: int
    key: str
    x: int
    width: int


def layout(columns: Sequence[Column], width: int) -> list[Placed]:
    """Which columns fit in ``width`` cells, and how wide each is.

    Columns are dropped lowest priority first (the rightmost of equal priority first)
    until the minimums fit, and fixed columns of lower priority than the first flexible
    one until it can have its preferred width; then each shown column grows towards its
    preferred width —
    the flexible ones (Reason) first, then the others, highest priority first; what is
    left goes to the flexible columns by their share.
    """
    shown = list(range(len(columns)))

    def need(indices: list[int]) -> int:
        return sum(columns[i].minimum + GAP for i in indices)

    while shown and need(shown) > width:
        drop = min(shown, key=lambda i: (columns[i].priority, -i))
        shown.remove(drop)
    # The first flexible column (Reason) then gets its preferred width before fixed
    # columns of lower priority are shown: those give way, lowest first.
    flexible = sorted((i for i in shown if columns[i].flex > 0), key=lambda i: -columns[i].priority)
    if flexible:
        first = columns[flexible[0]]
        for i in sorted((i for i in shown if columns[i].flex == 0 and columns[i].priority < first.priority),
                        key=lambda i: (columns[i].priority, -i)):
            if width - need(shown) >= first.width - first.minimum:
                break
            shown.remove(i)
    widths = {i: columns[i].minimum for i in shown}
    spare = width - need(shown)
    for i in sorted(shown, key=lambda i: (columns[i].flex == 0, -columns[i].priority)):
        grow = min(spare, columns[i].width - widths[i])
        if grow > 0:
            widths[i] += grow
            spare -= grow
    flexible = [i for i in shown if columns[i].flex > 0]
    if spare > 0 and flexible:
        total = sum(columns[i].flex for i in flexible)
        given = 0
        for n, i in enumerate(flexible):
            share = spare - given if n == len(flexible) - 1 else spare * columns[i].flex // total
            widths[i] += share
            given += share
    placed: list[Placed] = []
    x = 0
    for i in shown:
        x += GAP
        placed.append(Placed(i, columns[i].key, x, widths[i]))
        x += widths[i]
    return placed


class FeedTable(ScrollView, can_focus=True):
    """A table of rows kept by key, drawn line by line (see the module docstring)."""

    DEFAULT_CSS = """
    FeedTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        &:focus {
            background-tint: $foreground 5%;
            & > .feed-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .feed-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .feed-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .feed-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .feed-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .feed-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .feed-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .feed-table--placeholder {
            color: $foreground-muted;
            text-style: italic;
        }
    }
    """
    COMPONENT_CLASSES = {
        "feed-table--header", "feed-table--even-row", "feed-table--cursor", "feed-table--placeholder",
    }

    BINDINGS = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "Newest row", show=False),
        Binding("end,ctrl+end", "last", "Oldest row", show=False),
    ]

    COLUMNS: Sequence[Column] = ()
    #: Rows shown at most: the newest (by ``row_age``) are kept.
    max_rows: int = 1000
    default_sort: tuple[str, bool] | None = None   # (column key, reverse)
    #: The column whose sort value says how recent a row is (see ``row_age``).
    AGE_COLUMN: int = 0
    #: What an empty table says.
    PLACEHOLDER = "Nothing here yet."

    #: The row the selection is on (an index in the current order).
    cursor_row: reactive[int] = reactive(0, layout=False, repaint=False, init=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.sort_state: tuple[str, bool] | None = self.default_sort
        self.filter_text = ""
        self._cells: dict[str, tuple[Cell, ...]] = {}   # row key -> cells
        self._ages: dict[str, Any] = {}                  # row key -> age, for every row shown
        self._order: list[str] = []                      # row keys, in screen order
        self._index: dict[str, int] = {}                 # row key -> position in _order
        self._column_index = {col.key: n for n, col in enumerate(self.COLUMNS)}
        #: Follow mode: the selection stays on the first row as rows arrive.
        self.following = True
        #: Rows that arrived above the selection since it left the first row.
        self._unseen: set[str] = set()
        self._subtitle = ""
        self._layout: list[Placed] = []
        self._layout_width = -1
        # Distinct cells drawn (a screenful is a few hundred): small, since every entry
        # is a handful of objects the garbage collector's full passes must walk.
        self._drawn: LRUCache[tuple, list[Segment]] = LRUCache(2048)
        self._header: tuple[tuple, Strip] | None = None
        #: Lines drawn, by (row key, row style, width), with the cells they show: a line
        #: is drawn again only when its row's cells were replaced.
        self._lines: LRUCache[tuple, tuple[tuple[Cell, ...], Strip]] = LRUCache(256)
        self._pass: tuple | None = None
        #: Seconds spent drawing so far (the screen paces its batches by it).
        self.render_cost = 0.0

    # ---- the row store, read side ---------------------------------------------
    @property
    def rows(self) -> Mapping[str, tuple[Cell, ...]]:
        """Row key -> cells, for every row shown (in no particular order)."""
        return self._cells

    @property
    def row_count(self) -> int:
        return len(self._order)

    def ordered_keys(self) -> list[str]:
        """Row keys in screen order."""
        return list(self._order)

    def get_row_index(self, key: str) -> int:
        """Where the row ``key`` is in the current order (KeyError if it is not shown)."""
        return self._index[key]

    def get_cell(self, key: str, column: str) -> Cell:
        """The cell of row ``key`` in column ``column`` (KeyError if either is unknown)."""
        return self._cells[key][self._column_index[column]]

    def visible_columns(self) -> list[str]:
        """Keys of the columns shown at the current width."""
        return [p.key for p in self._placed()]

    def keys_in_view(self) -> list[str]:
        """Keys of the rows on screen now, top to bottom."""
        top = round(self.scroll_y)
        return self._order[top:top + self._view_height()]

    def column_span(self, column: str) -> tuple[int, int] | None:
        """(x, width) of a column within the table's content, or ``None`` when it is not
        shown at the current width."""
        for p in self._placed():
            if p.key == column:
                return p.x, p.width
        return None

    @property
    def newer(self) -> int:
        """Rows that arrived above the selection since it left the first row."""
        return len(self._unseen)

    # ---- selection --------------------------------------------------------
    @property
    def selected_key(self) -> str | None:
        if not self._order:
            return None
        return self._order[min(self.cursor_row, len(self._order) - 1)]

    def select_key(self, key: str | None) -> None:
        """Put the selection on row ``key`` (if shown), scrolled into view."""
        if key is None or key not in self._index:
            return
        self.move_cursor(row=self._index[key])

    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        """Move the selection to ``row`` (clamped); the first row resumes follow mode."""
        if not self._order:
            self.cursor_row = 0
            self._set_following(True)
            return
        row = max(0, min(row, len(self._order) - 1))
        previous = self.cursor_row
        self.cursor_row = row
        self._set_following(row == 0)
        if scroll:
            self._scroll_to_cursor()
        if row != previous:
            self._refresh_rows(previous, row)

    def _set_following(self, following: bool) -> None:
        changed = following != self.following or (following and self._unseen)
        self.following = following
        if following:
            self._unseen.clear()
        if changed:
            self._show_subtitle()

    def _view_height(self) -> int:
        """Rows that fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        top = round(self.scroll_y)
        height = self._view_height()
        if self.cursor_row < top:
            top = self.cursor_row
        elif self.cursor_row >= top + height:
            top = self.cursor_row - height + 1
        self._scroll_top_to(top)

    def _scroll_top_to(self, top: int) -> None:
        top = max(0, min(top, len(self._order) + 1 - self.scrollable_content_region.height))
        if top != round(self.scroll_y):
            self.scroll_to(y=top, animate=False, immediate=True)

    def _refresh_rows(self, *rows: int) -> None:
        top = round(self.scroll_y)
        for row in rows:
            y = row - top + 1
            if 1 <= y < self.scrollable_content_region.height:
                self.refresh_line(y + top)   # ScrollView.refresh_line takes a virtual line

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - max(1, self._view_height() - 1))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + max(1, self._view_height() - 1))

    def action_first(self) -> None:
        """To the first row (the newest, in the default order): follow mode again."""
        self.move_cursor(0)

    def action_last(self) -> None:
        """To the last row (the oldest, in the default order)."""
        self.move_cursor(len(self._order) - 1)

    # ---- the subtitle -----------------------------------------------------------
    def set_subtitle(self, text: str) -> None:
        """The table's own subtitle (counts); ``↑ N newer`` is put before it when needed."""
        self._subtitle = text
        self._show_subtitle()

    def _show_subtitle(self) -> None:
        newer = len(self._unseen)
        text = f"↑ {newer} newer (home) · {self._subtitle}" if newer else self._subtitle
        if self.border_subtitle != text:
            self.border_subtitle = text

    # ---- filtering --------------------------------------------------------
    def matches(self, cells: Sequence[Cell | str]) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.casefold()
        return any(needle in getattr(c, "plain", str(c)).casefold() for c in cells)

    def narrows(self, text: str) -> bool:
        """True when filtering by ``text`` can only remove rows shown now: it contains the
        current filter, and nothing beyond the rows shown could match (the table is not
        full, so no older record was left out)."""
        return (text.casefold().startswith(self.filter_text.casefold()) or
                self.filter_text.casefold() in text.casefold()) \
            and len(self._order) < self.max_rows

    def narrow(self, text: str) -> int:
        """Filter by ``text``, a narrowing of the current filter, looking only at the rows
        shown (see ``narrows``); returns the number of rows dropped."""
        self.filter_text = text
        gone = [key for key, cells in self._cells.items() if not self.matches(cells)]
        if gone:
            self.apply([(key, None) for key in gone])
        return len(gone)

    # ---- bulk / incremental updates --------------------------------------
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
        if len(self._cells) < self.max_rows or not self._ages:
            return None
        return min(self._ages.values())

    def rebuild(self, rows: Iterable[tuple[str, Sequence[Cell]]]) -> None:
        """Replace every row (``rows`` oldest first); keeps the newest ``max_rows`` matching ones."""
        selected = None if self.following else self.selected_key
        kept = [(k, tuple(c)) for k, c in rows if self.matches(c)][-self.max_rows:]
        self._cells.clear()
        self._ages.clear()
        self._unseen.clear()
        for key, cells in kept:
            self._cells[key] = cells
            self._ages[key] = self.row_age(cells)
        self._relocate([k for k, _ in kept])
        if selected is not None and selected in self._index:
            self.move_cursor(self._index[selected])
        else:
            self.move_cursor(0)
        self._show_subtitle()

    def apply(self, rows: Iterable[tuple[str, Sequence[Cell] | None]], all_rows: Any = None) -> int:
        """Upsert changed rows (``None`` cells = drop the row) in one pass; returns the
        number of rows added, changed or dropped. (``all_rows`` is accepted for callers
        of the old API and not needed.)"""
        store = self._cells
        ages = self._ages
        sort_index = self._column_index.get(self.sort_state[0]) if self.sort_state else None
        adds: dict[str, tuple[Cell, ...]] = {}
        removes: set[str] = set()
        changed_rows = 0
        resort = False
        changed_keys: list[str] = []
        for key, cells in rows:
            if cells is None or not self.matches(cells):
                if key in ages:
                    removes.add(key)
                adds.pop(key, None)
                continue
            if key not in ages:
                adds[key] = tuple(cells)
                continue
            removes.discard(key)
            current = store[key]
            if len(current) == len(cells) and all(a is b or a == b for a, b in zip(current, cells)):
                continue
            if sort_index is not None and not _same(current, cells, sort_index):
                resort = True
            store[key] = tuple(cells)
            ages[key] = self.row_age(cells)
            changed_rows += 1
            changed_keys.append(key)
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
        if new or removes or resort:
            selected = self.selected_key
            offset = self._index.get(selected, 0) - round(self.scroll_y) if selected else 0
            order = None
            if self.sort_state is None:
                order = [k for k in self._order if k not in removes]
            for key in removes:
                del store[key]
                del ages[key]
            self._unseen.difference_update(removes)
            for key, cells in new:
                store[key] = cells
                ages[key] = self.row_age(cells)
            if order is not None:
                order += [k for k, _ in new]
            self._relocate(order)
            self._place_selection(selected, offset, [k for k, _ in new])
        else:
            self._refresh_rows(*(self._index[key] for key in changed_keys))
        return len(new) + len(removes) + changed_rows

    def _place_selection(self, selected: str | None, offset: int, added: list[str]) -> None:
        """After the order changed: in follow mode, the selection goes to the first row and
        the view to the top; otherwise the selected record keeps its place on screen (rows
        that arrived above it are counted as ``↑ N newer``)."""
        if self.following or not self._order:
            self.cursor_row = 0
            self._unseen.clear()
            self._scroll_top_to(0)
            self._show_subtitle()
            return
        if selected in self._index:
            row = self._index[selected]
        else:   # the selected row went (trimmed, filtered): stay at the same place
            row = min(self.cursor_row, len(self._order) - 1)
        self.cursor_row = row
        for key in added:
            if self._index[key] < row:
                self._unseen.add(key)
        if row == 0:
            self.following = True
            self._unseen.clear()
        self._scroll_top_to(row - offset)
        self._scroll_to_cursor()
        self._show_subtitle()

    def _relocate(self, order: list[str] | None) -> None:
        """Place the rows: in ``order`` (row keys), or by the sort column; then one refresh."""
        if self.sort_state is not None:
            column = self._column_index.get(self.sort_state[0], 0)
            cells = self._cells
            order = sorted(cells, key=lambda k: cell_sort_key(cells[k][column]), reverse=self.sort_state[1])
        elif order is None:
            order = list(self._cells)
        self._order = order
        self._index = {key: n for n, key in enumerate(order)}
        self.virtual_size = Size(0, len(order) + 1)      # never wider than the view
        self.refresh()

    # ---- sorting -----------------------------------------------------------
    def sort_by(self, column: str) -> None:
        """Sort by a column; the same column again reverses the order. The selection
        stays on its record (on the first row, in follow mode)."""
        if column not in self._column_index:
            raise KeyError(f"no column {column!r} in {type(self).__name__} "
                           f"(columns: {', '.join(self._column_index)})")
        selected = self.selected_key
        if self.sort_state and self.sort_state[0] == column:
            self.sort_state = (column, not self.sort_state[1])
        else:
            self.sort_state = (column, False)
        self._header = None
        self._relocate(None)
        if self.following or selected is None:
            self.move_cursor(0)
        else:
            self.move_cursor(self._index[selected])

    # ---- mouse -------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            for placed in self._placed():
                if placed.x - GAP <= offset.x < placed.x + placed.width:
                    self.sort_by(placed.key)
                    return
            return
        row = round(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self._order):
            self.move_cursor(row)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        # Scrolling the view away from the top leaves follow mode: the view stays put.
        if self.following and self._order:
            self.following = False

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self._order) + 1)
        if self._order:
            if self.following:
                self._scroll_top_to(0)
            else:
                self._scroll_to_cursor()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn.clear()
        self._lines.clear()
        self._header = None

    # ---- drawing -----------------------------------------------------------
    def _placed(self, width: int | None = None) -> list[Placed]:
        if width is None:
            width = self.scrollable_content_region.width
        if width != self._layout_width:
            self._layout = layout(self.COLUMNS, width)
            self._layout_width = width
            self._header = None
        return self._layout

    def render_lines(self, crop):  # type: ignore[override]
        start = time.perf_counter()
        # What every line of this pass shares, looked up once (the widget's styles are
        # costly to resolve, and a pass draws a screenful of lines).
        self._pass = self._shared_styles()
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None
            self.render_cost += time.perf_counter() - start

    def _shared_styles(self) -> tuple[int, Style, Style, Style]:
        """(width, row style, cursor style laid over cells, even-row style) of this pass."""
        base = self.rich_style
        return (self.scrollable_content_region.width, base,
                self.get_component_rich_style("feed-table--cursor"),
                base + self.get_component_rich_style("feed-table--even-row"))

    def render_line(self, y: int) -> Strip:
        width, base, cursor, even_style = self._pass or self._shared_styles()
        placed = self._placed(width)
        if y == 0:
            return self._header_strip(placed, width)
        row = round(self.scroll_y) + y - 1
        if row >= len(self._order):
            if y == 1 and not self._order:
                style = base + self.get_component_rich_style("feed-table--placeholder")
                text = self.placeholder()
                return Strip([Segment(" " * GAP, base), Segment(text, style)]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        key = self._order[row]
        on_cursor = row == self.cursor_row
        style = base + cursor if on_cursor else even_style if row % 2 else base
        post = cursor if on_cursor else None
        cells = self._cells[key]
        line_key = (key, style, width)
        cached = self._lines.get(line_key)
        if cached is not None and cached[0] is cells:
            return cached[1]
        segments: list[Segment] = []
        x = 0
        drawn = self._drawn
        for p in placed:
            if p.x > x:
                segments.append(Segment(" " * (p.x - x), style))
            cell = cells[p.index] if p.index < len(cells) else None
            if cell is None or not cell.plain:
                segments.append(Segment(" " * p.width, style))
            else:
                cache_key = (cell.draw_key(), p.width, style)
                drawn_cell = drawn.get(cache_key)
                if drawn_cell is None:
                    drawn_cell = drawn[cache_key] = draw_cell(cell, p.width, style, post)
                segments.extend(drawn_cell)
            x = p.x + p.width
        if x < width:
            segments.append(Segment(" " * (width - x), style))
        strip = Strip(segments, max(width, x)).crop(0, width) if x > width else Strip(segments, width)
        self._lines[line_key] = (cells, strip)
        return strip

    def placeholder(self) -> str:
        """What an empty table says (the filter, when one hides every row)."""
        if self.filter_text:
            return f"No rows match the filter “{self.filter_text}” (esc clears it)"
        return self.PLACEHOLDER

    def _header_strip(self, placed: list[Placed], width: int) -> Strip:
        style = self.rich_style + self.get_component_rich_style("feed-table--header")
        key = (width, style, self.sort_state)
        if self._header is not None and self._header[0] == key:
            return self._header[1]
        segments: list[Segment] = []
        x = 0
        for p in placed:
            label = self.COLUMNS[p.index].label
            if self.sort_state and self.sort_state[0] == p.key:
                label += " ▼" if self.sort_state[1] else " ▲"
            segments.append(Segment(" " * (p.x - x), style))
            segments.extend(draw_cell(Cell(label), p.width, style))
            x = p.x + p.width
        segments.append(Segment(" " * max(0, width - x), style))
        strip = Strip(segments).crop(0, width)
        self._header = (key, strip)
        return strip

    # ---- text of what is shown (for tests and checks) -----------------------------
    def lines_shown(self) -> Iterator[str]:
        """The text of each line on screen, header first, as drawn now."""
        for y in range(self.scrollable_content_region.height):
            yield self.render_line(y).text


def _same(a: Sequence[Cell], b: Sequence[Cell], index: int) -> bool:
    x = a[index] if index < len(a) else None
    y = b[index] if index < len(b) else None
    return x is y or cell_sort_key(x) == cell_sort_key(y)


class TrainerTable(FeedTable):
    """A feed table over one trainer's state, with the clock and palette it draws with."""

    def __init__(self, trainer: Any, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trainer = trainer
        self.clock = clock
        self.palette = Palette()
