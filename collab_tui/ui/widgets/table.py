"""``FeedTable``: a table widget of our own on Textual's public Line API, kept in step
with trainer state by row key.

The widget is a ``ScrollView`` that draws one line at a time (``render_line``) from a
row store it owns — the way Textual's ``Log`` takes a flood: a batch of changes costs
one pass over the store, one sort and one refresh, and only the lines on screen are
ever drawn.

* Rows are updated in place by key, added and dropped in batches, kept sorted by the
  column the operator chose (click a header; again to reverse), bounded in number and
  filtered by a search text (narrowing a filter only looks at the rows shown).
* **Responsive columns** (``rows.layout``): lowest priorities dropped first, nothing
  scrolls horizontally; text that does not fit ends in ``…`` (ids are cut in the middle,
  ``whitew…1.94``, so distinct ids stay distinct). The rows themselves live in a
  ``rows.RowStore``.
* **Follow mode** (``tail -f``): while the selection is on the first row (the newest, in
  the default order), new rows appear at the top and the selection stays on the first
  row. Once the operator moves away the view holds still — the selected record keeps
  its place on screen — and the subtitle says ``↑ N newer`` (rows that arrived above
  it) until the selection is back on the first row (``home``).
"""
from __future__ import annotations

import time
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

from .cells import Cell, Palette
from .rows import GAP, Column, Placed, RowStore, draw_header, draw_row, layout

__all__ = ["GAP", "Column", "FeedTable", "TrainerTable", "layout"]


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
        self.store = RowStore(self.COLUMNS, self.row_age)
        self._column_index = self.store.column_index
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
        return self.store.cells

    @property
    def row_count(self) -> int:
        return len(self.store.order)

    def ordered_keys(self) -> list[str]:
        """Row keys in screen order."""
        return list(self.store.order)

    def get_row_index(self, key: str) -> int:
        """Where the row ``key`` is in the current order (KeyError if it is not shown)."""
        return self.store.index[key]

    def get_cell(self, key: str, column: str) -> Cell:
        """The cell of row ``key`` in column ``column`` (KeyError if either is unknown)."""
        return self.store.cells[key][self._column_index[column]]

    def visible_columns(self) -> list[str]:
        """Keys of the columns shown at the current width."""
        return [p.key for p in self._placed()]

    def keys_in_view(self) -> list[str]:
        """Keys of the rows on screen now, top to bottom."""
        top = round(self.scroll_y)
        return self.store.order[top:top + self._view_height()]

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
        if not self.store.order:
            return None
        return self.store.order[min(self.cursor_row, len(self.store.order) - 1)]

    def select_key(self, key: str | None) -> None:
        """Put the selection on row ``key`` (if shown), scrolled into view."""
        if key is None or key not in self.store.index:
            return
        self.move_cursor(row=self.store.index[key])

    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        """Move the selection to ``row`` (clamped); the first row resumes follow mode."""
        if not self.store.order:
            self.cursor_row = 0
            self._set_following(True)
            return
        row = max(0, min(row, len(self.store.order) - 1))
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
        top = max(0, min(top, len(self.store.order) + 1 - self.scrollable_content_region.height))
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
        self.move_cursor(len(self.store.order) - 1)

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
            and len(self.store.order) < self.max_rows

    def narrow(self, text: str) -> int:
        """Filter by ``text``, a narrowing of the current filter, looking only at the rows
        shown (see ``narrows``); returns the number of rows dropped."""
        self.filter_text = text
        gone = [key for key, cells in self.store.cells.items() if not self.matches(cells)]
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
        if len(self.store.cells) < self.max_rows or not self.store.ages:
            return None
        return min(self.store.ages.values())

    def rebuild(self, rows: Iterable[tuple[str, Sequence[Cell]]]) -> None:
        """Replace every row (``rows`` oldest first); keeps the newest ``max_rows`` matching ones."""
        selected = None if self.following else self.selected_key
        kept = [(k, tuple(c)) for k, c in rows if self.matches(c)][-self.max_rows:]
        self.store.replace(kept)
        self._unseen.clear()
        self._relocate([k for k, _ in kept])
        if selected is not None and selected in self.store.index:
            self.move_cursor(self.store.index[selected])
        else:
            self.move_cursor(0)
        self._show_subtitle()

    def apply(self, rows: Iterable[tuple[str, Sequence[Cell] | None]], all_rows: Any = None) -> int:
        """Upsert changed rows (``None`` cells = drop the row) in one pass; returns the
        number of rows added, changed or dropped. (``all_rows`` is accepted for callers
        of the old API and not needed.)"""
        merge = self.store.merge(rows, self.matches, self.sort_state[0] if self.sort_state else None,
                                 self.max_rows)
        if not merge:
            return 0
        if merge.reorders:
            selected = self.selected_key
            offset = self.store.index.get(selected, 0) - round(self.scroll_y) if selected else 0
            order = self.store.commit(merge, keep_order=self.sort_state is None)
            self._unseen.difference_update(merge.removes)
            self._relocate(order)
            self._place_selection(selected, offset, [k for k, _ in merge.new])
        else:
            self._refresh_rows(*(self.store.index[key] for key in merge.changed))
        return len(merge)

    def _place_selection(self, selected: str | None, offset: int, added: list[str]) -> None:
        """After the order changed: in follow mode, the selection goes to the first row and
        the view to the top; otherwise the selected record keeps its place on screen (rows
        that arrived above it are counted as ``↑ N newer``)."""
        if self.following or not self.store.order:
            self.cursor_row = 0
            self._unseen.clear()
            self._scroll_top_to(0)
            self._show_subtitle()
            return
        if selected in self.store.index:
            row = self.store.index[selected]
        else:   # the selected row went (trimmed, filtered): stay at the same place
            row = min(self.cursor_row, len(self.store.order) - 1)
        self.cursor_row = row
        for key in added:
            if self.store.index[key] < row:
                self._unseen.add(key)
        if row == 0:
            self.following = True
            self._unseen.clear()
        self._scroll_top_to(row - offset)
        self._scroll_to_cursor()
        self._show_subtitle()

    def _relocate(self, order: list[str] | None) -> None:
        """Place the rows: in ``order`` (row keys), or by the sort column; then one refresh."""
        self.store.place(order, self.sort_state)
        self.virtual_size = Size(0, len(self.store.order) + 1)      # never wider than the view
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
            self.move_cursor(self.store.index[selected])

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
        if 0 <= row < len(self.store.order):
            self.move_cursor(row)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        # Scrolling the view away from the top leaves follow mode: the view stays put.
        if self.following and self.store.order:
            self.following = False

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self.store.order) + 1)
        if self.store.order:
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
        if row >= len(self.store.order):
            if y == 1 and not self.store.order:
                style = base + self.get_component_rich_style("feed-table--placeholder")
                text = self.placeholder()
                return Strip([Segment(" " * GAP, base), Segment(text, style)]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        key = self.store.order[row]
        on_cursor = row == self.cursor_row
        style = base + cursor if on_cursor else even_style if row % 2 else base
        post = cursor if on_cursor else None
        cells = self.store.cells[key]
        line_key = (key, style, width)
        cached = self._lines.get(line_key)
        if cached is not None and cached[0] is cells:
            return cached[1]
        strip = draw_row(cells, placed, width, style, post, self._drawn)
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
        strip = draw_header(self.COLUMNS, placed, width, style, self.sort_state)
        self._header = (key, strip)
        return strip

    # ---- text of what is shown (for tests and checks) -----------------------------
    def lines_shown(self) -> Iterator[str]:
        """The text of each line on screen, header first, as drawn now."""
        for y in range(self.scrollable_content_region.height):
            yield self.render_line(y).text


class TrainerTable(FeedTable):
    """A feed table over one trainer's state, with the clock and palette it draws with."""

    def __init__(self, trainer: Any, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trainer = trainer
        self.clock = clock
        self.palette = Palette()
