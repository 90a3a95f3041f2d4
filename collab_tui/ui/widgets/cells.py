"""Cell rendering shared by the tables: sortable text, verdicts, bars, sparklines, times.

Pure functions of their inputs (no app, no clock): the tables pass the palette colours
and ``now`` in, so rendering is deterministic for tests and snapshots.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text

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


class Cell(Text):
    """Rich ``Text`` carrying the value a column sorts by (numbers sort as numbers)."""

    def __init__(self, text: str = "", style: str = "", sort_value: Any = None, **kwargs: Any) -> None:
        super().__init__(text, style=style, **kwargs)
        self.sort_value = text.casefold() if sort_value is None else sort_value


def cell_sort_key(value: Any) -> tuple:
    """Key for DataTable.sort: by a cell's sort value, any type, None last."""
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


def score_bar(score: float, threshold: float, width: int, palette: Palette) -> Cell:
    """A bar from 0 to 1, ``┃`` at the threshold, coloured by the side it is on.

    Below the threshold the fill is drawn with a different glyph (``▒``) as well as a
    different colour, so the bar reads without colour too.
    """
    score = min(1.0, max(0.0, score))
    threshold = min(1.0, max(0.0, threshold))
    filled = round(score * width)
    mark = min(width - 1, round(threshold * width))
    above = score >= threshold
    colour = palette.success if above else palette.error
    bar = Cell(sort_value=score)
    for i in range(width):
        if i == mark:
            bar.append("┃", f"bold {palette.accent}")
        elif i < filled:
            bar.append("█" if above else "▒", colour)
        else:
            bar.append("·", palette.muted)
    return bar


def sparkline(values: list[float], width: int, palette: Palette | None = None) -> Cell:
    """Last ``width`` scores (absolute 0..1 scale) as block characters."""
    tail = values[-width:]
    chars = "".join(SPARK[min(len(SPARK) - 1, int(max(0.0, min(1.0, v)) * len(SPARK)))] for v in tail)
    return Cell(chars.rjust(width), palette.accent if palette else "", sort_value=tail[-1] if tail else -1.0)


def short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
