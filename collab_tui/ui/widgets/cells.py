"""Cell rendering shared by the tables: sortable text, verdicts, bars, sparklines, times.

Pure functions of their inputs (no app, no clock): the tables pass the palette colours
and ``now`` in, so rendering is deterministic for tests and snapshots.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, get_character_cell_size, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from ...core.numbers import score_text
from ...core.text import peer_text

SPARK = "▁▂▃▄▅▆▇█"
ACCEPT = "✓ ACCEPT"
REJECT = "✗ REJECT"


@dataclass(frozen=True, slots=True)
class Palette:
    """The theme colours cells are drawn with (hex strings)."""

    success: str = "#4fd18b"
    error: str = "#ff5f6d"
    warning: str = "#f2c14e"
    muted: str = "#808080"
    accent: str = "#ffb347"


class Cell:
    """One table cell: its text, style, and the value its column sorts by (numbers sort
    as numbers).

    A table holds thousands of cells and a flood replaces them many times a second, so a
    cell is one small object; the rich ``Text`` it draws as is made only when the cell
    is drawn (the table caches that), i.e. for the rows on screen.
    """

    __slots__ = ("plain", "style", "sort_value")

    def __init__(self, text: str = "", style: str = "", sort_value: Any = None) -> None:
        self.plain = text
        self.style = style
        self.sort_value = text.casefold() if sort_value is None else sort_value

    def __rich__(self) -> Text:
        return Text(self.plain, style=self.style)

    @property
    def cell_len(self) -> int:
        return cell_len(self.plain)

    def __bool__(self) -> bool:
        return bool(self.plain)

    def __str__(self) -> str:
        return self.plain

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.plain!r}, {self.style!r}, sort_value={self.sort_value!r})"

    def _key(self) -> tuple:
        return (self.plain, self.style, self.sort_value)

    def draw_key(self) -> tuple:
        """What the cell looks like (cells that draw alike share one render)."""
        return (self.plain, self.style)

    def fitted(self, width: int) -> str:
        """The text as drawn in ``width`` cells: whole, or cut with ``…`` at the end."""
        return fit_text(self.plain, width)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()   # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


class IdCell(Cell):
    """A cell naming something by id (a peer, a request): cut in the MIDDLE when too long
    (``← whitew…1.94``), so ids that differ only at the end stay distinct on screen.
    ``prefix`` (an arrow, a presence dot) is always kept whole."""

    __slots__ = ("prefix",)

    def __init__(self, ident: str, style: str = "", sort_value: Any = None, prefix: str = "") -> None:
        super().__init__(prefix + ident, style, ident.casefold() if sort_value is None else sort_value)
        self.prefix = prefix

    def fitted(self, width: int) -> str:
        if cell_len(self.plain) <= width:
            return self.plain
        room = width - cell_len(self.prefix)
        if room < 3:
            return fit_text(self.plain, width)
        return self.prefix + middle_cut(self.plain[len(self.prefix):], room)

    def draw_key(self) -> tuple:
        return (self.plain, self.style, len(self.prefix))


class BarCell(Cell):
    """A score bar: several styled runs, so its ``Text`` is assembled when drawn."""

    __slots__ = ("runs",)

    def __init__(self, runs: tuple[tuple[str, str], ...], sort_value: Any, plain: str | None = None) -> None:
        self.plain = "".join(text for text, _ in runs) if plain is None else plain
        self.style = ""
        self.sort_value = sort_value
        self.runs = runs

    def __rich__(self) -> Text:
        text = Text(style=self.style)
        for part, style in self.runs:
            text.append(part, style)
        return text

    def _key(self) -> tuple:
        return (self.runs, self.sort_value)

    def draw_key(self) -> tuple:
        return self.runs


#: Cells that say the same thing share one object: under a flood most new cells repeat
#: others (type, verdict, reason, status), and a table's cells live long enough to be
#: promoted by the garbage collector, so every duplicate kept would make its full
#: collections (the pauses a key press can wait behind) longer and more frequent.
#: Bounded small: the dict lives as long as the process, and its entries are what full
#: collections walk (the keys are tuples of strings and numbers, which the collector
#: stops tracking; the cells are not). Cells unique to one row (times) just cycle out.
_SHARED: dict[tuple, Cell] = {}
_SHARED_MAX = 8192


def shared(cell: Cell) -> Cell:
    """The one cell equal to ``cell`` (``cell`` itself if it is the first)."""
    try:
        key = (type(cell).__name__, cell._key())
        found = _SHARED.get(key)
    except TypeError:           # an unhashable sort value: not shared
        return cell
    if found is not None:
        return found
    if len(_SHARED) >= _SHARED_MAX:
        _SHARED.clear()
    _SHARED[key] = cell
    return cell


def cell_sort_key(value: Any) -> tuple:
    """Sort key of a cell: by its sort value, numbers as numbers, any type, None last."""
    v = getattr(value, "sort_value", None)
    if v is None:
        v = str(value).casefold()
    if isinstance(v, (int, float)):
        return (0, float(v), "")
    return (1, 0.0, str(v))


def clock_time(ts: float | None) -> str:
    if not ts:
        return "—"
    return time.strftime("%H:%M:%S", time.localtime(ts))


def ago(ts: float | None, now: float) -> str:
    """'now', '12 s ago', '4 min ago', '3 h ago'."""
    if not ts:
        return "—"
    d = max(0.0, now - ts)
    if d < 1:
        return "now"
    if d < 60:
        return f"{d:.0f} s ago"
    if d < 3600:
        return f"{d // 60:.0f} min ago"
    return f"{d // 3600:.0f} h ago"


def verdict_cell(accept: bool | None, palette: Palette, overridden: bool = False) -> Cell:
    """The verdict as glyph + word (never colour alone); '(op)' when the operator set it."""
    if accept is None:
        return Cell("… pending", palette.muted, sort_value=1)
    word = ACCEPT if accept else REJECT
    if overridden:
        word += " (op)"
    return Cell(word, f"bold {palette.success if accept else palette.error}", sort_value=2 if accept else 0)


def score_bar(score: float, threshold: float, width: int, palette: Palette) -> BarCell:
    """A bar from 0 to 1, ``┃`` at the threshold, coloured by the side it is on.

    Below the threshold the fill is drawn with a different glyph (``▒``) as well as a
    different colour, so the bar reads without colour too.
    """
    score = min(1.0, max(0.0, score))
    threshold = min(1.0, max(0.0, threshold))
    filled = round(score * width)
    mark = min(width - 1, round(threshold * width))
    above = score >= threshold
    runs, plain = _bar_runs(filled, mark, above, width, palette)
    return BarCell(runs, score, plain)


@functools.lru_cache(maxsize=4096)
def _bar_runs(filled: int, mark: int, above: bool, width: int,
              palette: Palette) -> tuple[tuple[tuple[str, str], ...], str]:
    colour = palette.success if above else palette.error
    runs = tuple(("┃", f"bold {palette.accent}") if i == mark
                 else ("█" if above else "▒", colour) if i < filled
                 else ("·", palette.muted)
                 for i in range(width))
    return runs, "".join(text for text, _ in runs)


#: Cells of the mini bar beside the network's score.
NET_BAR = 4


def network_cell(score: float | None, reporters: int, threshold: float, palette: Palette) -> Cell:
    """What the network says of a peer, beside our own bar: ``▒··· net 0.12 · 5`` (score and
    the reporters that counted) in the bar's colours and glyphs; ``—`` when none counted.
    Sorts by the score (peers nobody reported on first)."""
    if score is None or reporters <= 0:
        return Cell("—", palette.muted, sort_value=-1.0)
    score = min(1.0, max(0.0, score))
    above = score >= threshold
    colour = palette.success if above else palette.error
    filled = round(score * NET_BAR)
    bar = ("█" if above else "▒") * filled + "·" * (NET_BAR - filled)
    cell = BarCell(((bar[:filled], colour), (bar[filled:], palette.muted),
                    (f" net {score_text(score, threshold)} · {reporters}", colour)), score)
    cell.style = colour          # the colour of the text when the cell is cut to fit
    return cell


#: A change smaller than this over the sparkline's window reads as flat.
TREND_EPSILON = 0.005


def trend(values: list[float]) -> str:
    """"up", "down" or "flat": the last value against the first of ``values``."""
    if len(values) < 2 or abs(values[-1] - values[0]) < TREND_EPSILON:
        return "flat"
    return "up" if values[-1] > values[0] else "down"


def sparkline(values: list[float], width: int, palette: Palette | None = None) -> Cell:
    """Last ``width`` scores (absolute 0..1 scale) as block characters, coloured by the
    trend over them: success going up, error going down, muted when flat."""
    tail = values[-width:]
    chars = "".join(SPARK[min(len(SPARK) - 1, int(max(0.0, min(1.0, v)) * len(SPARK)))] for v in tail)
    colour = ""
    if palette is not None:
        colour = {"up": palette.success, "down": palette.error}.get(trend(tail), palette.muted)
    return Cell(chars.rjust(width), colour, sort_value=tail[-1] if tail else -1.0)


#: Longest text a cell keeps (a column is never wider than a terminal; details show all).
CELL_TEXT = 240


def clean(value: object, limit: int = CELL_TEXT) -> str:
    """A string from a peer (or mixed with one) as a cell's text: through ``peer_text``
    (controls, ESC sequences and bidi controls out), runs of spaces made one."""
    return " ".join(peer_text(value, limit).split())


def fit_text(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells: whole, or cut with ``…`` at the end."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1).rstrip().rstrip("…") + "…"


def middle_cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut in the middle (``whitew…1.94``): the start
    and the end of an id are what tell look-alikes apart."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    if width == 1:
        return "…"
    room = width - 1
    tail_room = room // 2
    head_room = room - tail_room
    head, used = [], 0
    for char in text:
        size = get_character_cell_size(char)
        if used + size > head_room:
            break
        head.append(char)
        used += size
    tail, used = [], 0
    for char in reversed(text):
        size = get_character_cell_size(char)
        if used + size > tail_room:
            break
        tail.append(char)
        used += size
    return "".join(head) + "…" + "".join(reversed(tail))


def draw_cell(cell: Cell, width: int, base: Style, post: Style | None = None) -> list[Segment]:
    """The segments of one cell drawn ``width`` cells wide on a row styled ``base``:
    plain text only (nothing in a cell is ever parsed as markup). ``post`` is laid over
    the cell's own style (the cursor row's colours win over a cell's, as in DataTable)."""
    def styled(style: str) -> Style:
        combined = base + Style.parse(style) if style else base
        return combined + post if post is not None else combined

    runs = getattr(cell, "runs", None)
    if runs is not None and cell_len(cell.plain) <= width:
        segments = [Segment(text, styled(style)) for text, style in runs]
        used = cell_len(cell.plain)
    else:
        text = cell.fitted(width) if isinstance(cell, Cell) else fit_text(str(cell), width)
        segments = [Segment(text, styled(getattr(cell, "style", "")))]
        used = cell_len(text)
    if used < width:
        segments.append(Segment(" " * (width - used), base))
    return segments
