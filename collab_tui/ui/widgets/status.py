"""The status line: connection, hub, who we are, the live settings, counts, feed state."""
from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual.widgets import Static

from ...core.sessions import ACTIVE, HELD, VALIDATING
from .cells import Palette

SEP = "  │  "


def connection_text(status: Any, now: float, palette: Palette) -> Text:
    state = getattr(status, "state", "?")
    detail = getattr(status, "detail", "") or ""
    if state == "connected":
        return Text("● connected", f"bold {palette.success}")
    if state == "reconnecting":
        retry = getattr(status, "retry_at", None)
        wait = f" in {max(0.0, retry - now):.0f} s" if retry is not None else ""
        return Text(f"↻ reconnecting{wait}" + (f" ({detail})" if detail else ""), f"bold {palette.warning}")
    if state == "refused":
        return Text(f"✗ refused: {detail or 'no reason given'}", f"bold {palette.error}")
    if state == "connecting":
        return Text("◌ connecting…", f"bold {palette.warning}")
    if state == "stopped":
        return Text("■ stopped" + (f" ({detail})" if detail else ""), palette.muted)
    return Text(f"{state}" + (f" ({detail})" if detail else ""))


class StatusLine(Static):
    """Two lines, redrawn on connection/settings events, each batch and every second."""

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
        p = self.palette
        t = self.runner.trainer
        now = self.clock()
        line1 = Text()
        line1.append_text(connection_text(self.runner.status, now, p))
        line1.append(SEP, p.muted)
        line1.append(f"hub {self.runner.url}")
        line1.append(SEP, p.muted)
        line1.append(t.ai_id, "bold")
        line1.append(f" · {t.specialization}")
        line1.append(SEP, p.muted)
        line1.append(f"{len(t.online)} online / {len(t.known_ai_info)} known peers")
        if self.problems:
            line1.append(SEP, p.muted)
            line1.append(f"⚠ {self.problems} bad frame(s) ignored", p.warning)

        line2 = Text()
        line2.append("threshold ", p.muted)
        line2.append(f"{t.trust_threshold:.2f}", "bold")
        line2.append("   α ", p.muted)
        line2.append(f"{t.reputation_alpha:.2f}", "bold")
        line2.append("   hold ", p.muted)
        line2.append(f"{t.hold_s:g} s", "bold")
        incoming = list(t.incoming.values())
        accepted = sum(1 for r in incoming if r.verdict.accept)
        held = sum(1 for r in incoming if r.status == HELD)
        running = sum(1 for s in t.collaboration_sessions.values() if s.status in (ACTIVE, VALIDATING))
        line2.append(SEP, p.muted)
        line2.append(f"in {len(incoming)} (✓ {accepted} ✗ {len(incoming) - accepted}"
                     + (f", {held} held" if held else "") + ")")
        line2.append(f" · out {len(t.outgoing)} · sessions {running} running"
                     f" · components {len(t.shared_knowledge['benchmarks'])}")
        if self.paused_new is not None:
            line2.append(SEP, p.muted)
            line2.append(f"⏸ paused · {self.paused_new} new", f"bold reverse {p.warning}")
        if self.filter_text:
            line2.append(SEP, p.muted)
            line2.append(f"filter: {self.filter_text}", f"bold {p.accent}")
        for line in (line1, line2):
            line.no_wrap = True
            line.overflow = "ellipsis"
            line.truncate(max(20, self.size.width - 2 if self.size.width else 200), overflow="ellipsis")
        return Text("\n").join([line1, line2])

    def redraw(self) -> None:
        text = self.render_status()
        if self._shown is not None and text == self._shown and text.spans == self._shown.spans:
            return
        self._shown = text
        # A fixed two-line box (app.tcss): a new text never changes the layout.
        self.update(text, layout=False)

    def on_resize(self) -> None:
        self.redraw()
