"""What a feed table holds, how its columns are laid out and how a line is drawn — no widget.

* :class:`RowStore`: rows kept by key (cells, age, screen order). A batch of changes is
  merged in one pass (:meth:`RowStore.merge`), bounded to the newest ``max_rows`` and
  filtered, then committed and placed in one sort.
* :func:`draw_row`, :func:`draw_header`: one line of the table from its cells and layout.
* :func:`layout`: **responsive columns**. Each column has a priority, a minimum and a
  preferred width; flexible columns (Reason) share what is left. When the columns do not
  fit, the lowest-priority ones are dropped first. Nothing scrolls horizontally.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip

from .cells import Cell, cell_sort_key, draw_cell

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


@dataclass(slots=True)
class Merge:
    """What a batch of rows changes: rows to add (oldest first), to drop, changed in place."""

    new: list[tuple[str, tuple[Cell, ...]]] = field(default_factory=list)
    removes: set[str] = field(default_factory=set)
    changed: list[str] = field(default_factory=list)
    #: A changed row moved in the sort column: the order must be placed again.
    resort: bool = False

    def __len__(self) -> int:
        return len(self.new) + len(self.removes) + len(self.changed)

    @property
    def reorders(self) -> bool:
        return bool(self.new or self.removes or self.resort)


class RowStore:
    """Rows by key: their cells, how recent each is (``row_age``) and the screen order."""

    def __init__(self, columns: Sequence[Column], row_age: Callable[[Sequence[Cell]], Any]) -> None:
        self.cells: dict[str, tuple[Cell, ...]] = {}   # row key -> cells
        self.ages: dict[str, Any] = {}                  # row key -> age, for every row shown
        self.order: list[str] = []                      # row keys, in screen order
        self.index: dict[str, int] = {}                 # row key -> position in order
        self.column_index = {col.key: n for n, col in enumerate(columns)}
        self.row_age = row_age

    def replace(self, rows: Iterable[tuple[str, tuple[Cell, ...]]]) -> None:
        """Every row anew (the order is placed by the caller)."""
        self.cells.clear()
        self.ages.clear()
        for key, cells in rows:
            self.cells[key] = cells
            self.ages[key] = self.row_age(cells)

    def merge(self, rows: Iterable[tuple[str, Sequence[Cell] | None]], matches: Callable[[Sequence[Cell]], bool],
              sort_column: str | None, max_rows: int) -> Merge:
        """Changed rows are replaced in place at once; added and dropped ones (``None`` cells,
        or not matching the filter) are returned for :meth:`commit`, keeping the newest
        ``max_rows`` of what is there and what arrives."""
        store, ages, row_age = self.cells, self.ages, self.row_age
        sort_index = self.column_index.get(sort_column) if sort_column else None
        adds: dict[str, tuple[Cell, ...]] = {}
        merge = Merge()
        removes = merge.removes
        for key, cells in rows:
            if cells is None or not matches(cells):
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
                merge.resort = True
            store[key] = tuple(cells)
            ages[key] = row_age(cells)
            merge.changed.append(key)
        new = sorted(adds.items(), key=lambda item: row_age(item[1]))
        excess = len(ages) - len(removes) + len(new) - max_rows
        if excess > 0:
            candidates = [(age, 1, k) for k, age in ages.items() if k not in removes]
            candidates += [(row_age(c), 2, k) for k, c in new]
            dropped = {k for _, _, k in heapq.nsmallest(excess, candidates, key=lambda c: (c[0], c[1]))}
            removes |= dropped & ages.keys()
            new = [(k, c) for k, c in new if k not in dropped]
        merge.new = new
        return merge

    def commit(self, merge: Merge, keep_order: bool) -> list[str] | None:
        """Drop and add what ``merge`` says; with ``keep_order`` (no sort column) the order
        to place: the rows kept in their places, the new ones after them."""
        order = [k for k in self.order if k not in merge.removes] if keep_order else None
        for key in merge.removes:
            del self.cells[key]
            del self.ages[key]
        for key, cells in merge.new:
            self.cells[key] = cells
            self.ages[key] = self.row_age(cells)
        if order is not None:
            order += [k for k, _ in merge.new]
        return order

    def place(self, order: list[str] | None, sort_state: tuple[str, bool] | None) -> None:
        """The screen order: ``order`` (row keys), or by the sort column."""
        if sort_state is not None:
            column = self.column_index.get(sort_state[0], 0)
            cells = self.cells
            order = sorted(cells, key=lambda k: cell_sort_key(cells[k][column]), reverse=sort_state[1])
        elif order is None:
            order = list(self.cells)
        self.order = order
        self.index = {key: n for n, key in enumerate(order)}


def _same(a: Sequence[Cell], b: Sequence[Cell], index: int) -> bool:
    x = a[index] if index < len(a) else None
    y = b[index] if index < len(b) else None
    return x is y or cell_sort_key(x) == cell_sort_key(y)


def draw_row(cells: Sequence[Cell], placed: Sequence[Placed], width: int, style: Style, post: Style | None,
             drawn: LRUCache[tuple, list[Segment]]) -> Strip:
    """One row's line: each placed column's cell at its width (``drawn`` caches drawn cells)."""
    segments: list[Segment] = []
    x = 0
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
    return Strip(segments, max(width, x)).crop(0, width) if x > width else Strip(segments, width)


def draw_header(columns: Sequence[Column], placed: Sequence[Placed], width: int, style: Style,
                sort_state: tuple[str, bool] | None) -> Strip:
    """The header line: each placed column's label, the sort column marked ``▲`` / ``▼``."""
    segments: list[Segment] = []
    x = 0
    for p in placed:
        label = columns[p.index].label
        if sort_state and sort_state[0] == p.key:
            label += " ▼" if sort_state[1] else " ▲"
        segments.append(Segment(" " * (p.x - x), style))
        segments.extend(draw_cell(Cell(label), p.width, style))
        x = p.x + p.width
    segments.append(Segment(" " * max(0, width - x), style))
    return Strip(segments).crop(0, width)
