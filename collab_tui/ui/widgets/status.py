"""The status line (connection, who we are, hub, the live settings, counts, feed state) and the key bar."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from rich.cells import cell_len
from rich.text import Text
from textual.markup import escape
from textual.widgets import Static

from ...core.sessions import ACTIVE, HELD, VALIDATING
from ...core.text import peer_text
from ..later import Later
from .cells import Palette

SEP = "  │  "


def short_reason(detail: str) -> str:
    """The human part of a link detail: "hub unreachable: connection refused" -> "hub unreachable",
    "close 1006 (connection lost)" -> "connection lost"."""
    detail = detail.strip()
    if detail.startswith("close ") and "(" in detail:
        detail = detail[detail.index("(") + 1:].rstrip(")")
    return detail.split(":")[0].strip().rstrip("…") or "connection lost"


def connection_text(status: Any, now: float, palette: Palette, compact: bool = False) -> Text:
    """The link's state in a few words: never a raw exception, always when the next try is."""
    state = getattr(status, "state", "?")
    detail = peer_text(getattr(status, "detail", "") or "", 200)
    if state == "connected":
        return Text("● connected", f"bold {palette.success}")
    if state == "reconnecting":
        retry = getattr(status, "retry_at", None)
        if retry is None or detail.startswith("connecting"):
            return Text("↻ reconnecting…", f"bold {palette.warning}")
        reason = short_reason(detail) if compact else detail
        return Text(f"↻ {reason} — retrying in {max(0.0, retry - now):.0f} s", f"bold {palette.warning}")
    if state == "refused":
        reason = (short_reason(detail) if compact else detail) if detail else "no reason given"
        return Text(f"✗ refused: {reason}", f"bold {palette.error}")
    if state == "connecting":
        return Text("◌ connecting…", f"bold {palette.warning}")
    if state == "stopped":
        return Text("■ stopped" + (f" ({detail})" if detail and not compact else ""), palette.muted)
    return Text(f"{state}" + (f" ({detail})" if detail else ""))


class StatusLine(Static):
    """Two lines, redrawn on connection/settings events, each batch and every second.

    Our id comes right after the connection, so it is never pushed off the line; when the
    full form does not fit the width, a compact form is drawn (hub URL dropped, shorter
    words), and only then is anything cut (with an ellipsis).
    """

    def __init__(self, runner: Any, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.runner = runner
        self.clock = clock
        self.palette = Palette()
        self.paused_new: int | None = None
        self.filter_text = ""
        self.problems = 0
        self._shown: Text | None = None

    def render_status(self) -> Text:
        width = max(20, self.size.width - 2) if self.size.width else 200
        lines = self._lines(compact=False)
        if any(line.cell_len > width for line in lines):
            # each line on its own: the compact form only where the full one does not fit
            lines = [full if full.cell_len <= width else compact
                     for full, compact in zip(lines, self._lines(compact=True))]
        for line in lines:
            line.no_wrap = True
            line.overflow = "ellipsis"
            line.truncate(width, overflow="ellipsis")
        return Text("\n").join(lines)

    def _lines(self, compact: bool) -> list[Text]:
        p = self.palette
        t = self.runner.trainer
        now = self.clock()
        sep = " │ " if compact else SEP
        line1 = Text()
        line1.append_text(connection_text(self.runner.status, now, p, compact))
        line1.append(sep, p.muted)
        line1.append(peer_text(t.ai_id, 64), "bold")
        line1.append(f" · {peer_text(t.specialization, 64)}")
        if not compact:
            line1.append(sep, p.muted)
            line1.append(f"hub {self.runner.url}")
        line1.append(sep, p.muted)
        online = len(t.online)
        known = len(t.known_ai_info)
        line1.append(f"{online}/{known} peers online" if compact else f"{online} online / {known} known peers",
                     p.muted if not t.joined else "")
        if self.problems:
            line1.append(sep, p.muted)
            line1.append(f"⚠ {self.problems} bad" if compact else f"⚠ {self.problems} bad frame(s) ignored",
                         p.warning)

        line2 = Text()
        gap = " " if compact else "   "
        line2.append("thr " if compact else "threshold ", p.muted)
        line2.append(f"{t.trust_threshold:.2f}", "bold")
        line2.append(f"{gap}α ", p.muted)
        line2.append(f"{t.reputation_alpha:.2f}", "bold")
        line2.append(f"{gap}hold ", p.muted)
        line2.append(f"{t.hold_s:g} s", "bold")
        received, accepted, sent = t.requests_received, t.requests_accepted, t.requests_sent
        held = sum(1 for r in t.incoming.values() if r.status == HELD)
        running = sum(1 for s in t.collaboration_sessions.values() if s.status in (ACTIVE, VALIDATING))
        in_use = t.active_session_count()
        line2.append(sep, p.muted)
        if compact:
            line2.append(f"in {received} ✓{accepted} ✗{received - accepted}"
                         + (f" ⏳{held}" if held else "")
                         + f" · out {sent} · run {running} · cap {in_use}/{t.max_active_sessions}")
        else:
            line2.append(f"in {received} (✓ {accepted} ✗ {received - accepted}"
                         + (f", {held} held" if held else "") + ")")
            line2.append(f" · out {sent} · sessions {running} running"
                         f" · capacity {in_use} of {t.max_active_sessions}"
                         f" · components {t.components.received()}")
        if self.paused_new is not None:
            line2.append(sep, p.muted)
            line2.append(f"⏸ paused · {self.paused_new} new", f"bold reverse {p.warning}")
        if self.filter_text:
            line2.append(sep, p.muted)
            line2.append(f"filter: {self.filter_text}", f"bold {p.accent}")
        return [line1, line2]

    def redraw(self) -> None:
        text = self.render_status()
        if self._shown is not None and text == self._shown and text.spans == self._shown.spans:
            return
        self._shown = text
        # A fixed two-line box (app.tcss): a new text never changes the layout.
        self.update(text, layout=False)

    def on_resize(self) -> None:
        self.redraw()


@dataclass(frozen=True, slots=True)
class KeyEntry:
    binding_id: str
    key: str            # as displayed ("a", "?", "⏎")
    label: str
    action: str         # e.g. "screen.accept", "app.quit"
    priority: int       # lower survives longer when the width is short


class KeyBar(Static):
    """The footer: the operator's keys, as mapped, fitted to the width.

    When not every key fits, the lowest-priority ones drop first; ``?`` Help and ``q`` Quit
    have the highest priority and always stay. Shown in the order given. Each key can be
    clicked.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[KeyEntry] = []
        self._drawn: tuple | None = None

    def set_entries(self, entries: list[KeyEntry]) -> None:
        self.entries = list(entries)
        self._drawn = None
        self.redraw()

    def fitted(self, width: int) -> list[KeyEntry]:
        """The entries that fit ``width`` cells, keeping the highest priorities."""
        chosen: set[int] = set()
        used = 0
        for i in sorted(range(len(self.entries)), key=lambda i: self.entries[i].priority):
            cost = _entry_width(self.entries[i]) + (2 if chosen else 1)
            if used + cost <= width:
                chosen.add(i)
                used += cost
        return [e for i, e in enumerate(self.entries) if i in chosen]

    def redraw(self) -> None:
        width = self.size.width or 200
        shown = self.fitted(width)
        key = (width, tuple(shown))
        if key == self._drawn:
            return
        self._drawn = key
        parts = [f"[@click={e.action}][b $accent]{escape(e.key)}[/] {escape(e.label)}[/]" for e in shown]
        self.update(" " + "  ".join(parts))

    def on_resize(self) -> None:
        self.redraw()


def _entry_width(entry: KeyEntry) -> int:
    return cell_len(entry.key) + cell_len(entry.label) + 1


class SettingToast(Static):
    """One line per setting just changed (``+ - [ ]``), updated in place: fourteen ``+``
    presses are one line that ends at the last value, not fourteen notifications.
    Each line goes away ``timeout`` seconds after its last change."""

    def __init__(self, *, id: str | None = None, timeout: float = 2.5) -> None:
        super().__init__(id=id, markup=False)
        self.timeout = timeout
        self.shown: dict[str, str] = {}
        self._expiry: dict[str, Any] = {}

    def show(self, setting: str, text: str) -> None:
        self.shown[setting] = text
        timer = self._expiry.pop(setting, None)
        if timer is not None:
            timer.stop()
        self._expiry[setting] = Later(self, self.timeout, lambda: self._expire(setting))
        self._draw()

    def _expire(self, setting: str) -> None:
        self.shown.pop(setting, None)
        self._expiry.pop(setting, None)
        self._draw()

    def _draw(self) -> None:
        self.update("\n".join(self.shown.values()))
        self.display = bool(self.shown)
