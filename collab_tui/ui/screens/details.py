"""``enter``: the full record behind a row, and the peer's reputation history with reasons."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.markup import escape
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ...core.reputation import PeerRecord
from ...core.text import peer_text
from ..details_text import Details
from ..widgets.cells import clock_time


class DetailsScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", show=False)]

    def __init__(self, title: str, body: Details, peer: str | None, record: PeerRecord | None,
                 score: float | None) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.peer = peer
        self.record = record
        self.score = score
        self._history_width: int | None = None     # the Reason column's width the history was filled at

    def compose(self) -> ComposeResult:
        with Vertical(id="details-box") as box:
            box.border_title = f"{escape(self.title_text)}  (esc to close)"
            with VerticalScroll(id="details-body"):
                yield Static(self.body, markup=False)
            if self.peer is not None:
                summary = f"Reputation history of {peer_text(self.peer, 64)}"
                if self.score is not None:
                    summary += f" — now {self.score:.2f}"
                if self.record is not None:
                    summary += f" ({self.record.successes} ✓ / {self.record.failures} ✗)"
                yield Static(summary, id="history-title", markup=False)
                yield DataTable(id="history", cursor_type="row", zebra_stripes=True)

    #: the history's fixed columns (time, score, outcome); the reason takes the rest of the width
    FIXED = (("Time", 8), ("Score", 13), ("Outcome", 10))
    REASON_MIN = 20

    def on_mount(self) -> None:
        if self.peer is not None:
            self._fill_history()                        # at once (rows to read), then at the laid-out width
            self.call_after_refresh(self._fill_history)

    def on_resize(self) -> None:
        if self.peer is not None:
            self.call_after_refresh(self._fill_history)

    def _reason_width(self, table: DataTable) -> int:
        """What the reason column can have without a horizontal scrollbar: the table's width less
        the fixed columns, each column's padding and the vertical scrollbar."""
        width = table.size.width or self.app.size.width
        used = sum(w for _, w in self.FIXED) + 2 * table.cell_padding * (len(self.FIXED) + 1)
        return max(self.REASON_MIN, width - used - table.styles.scrollbar_size_vertical)

    def _fill_history(self) -> None:
        """The peer's history, newest first. Long reasons wrap inside their column (rows as tall as
        they need), so nothing is cut off and nothing scrolls sideways, at 80 columns too."""
        table = self.query_one("#history", DataTable)
        width = self._reason_width(table)
        if self._history_width == width:
            return
        self._history_width = width
        table.clear(columns=True)
        for label, w in self.FIXED:
            table.add_column(label, width=w)
        table.add_column("Reason", width=width)
        entries = list(self.record.history) if self.record else []
        for change in reversed(entries):
            outcome = {"success": "✓ success", "failure": "✗ failure", "undo": "↺ undo"}[change.outcome]
            reason = peer_text(change.reason, 500) + ("  (undone)" if change.undone else "")
            style = "strike dim" if change.undone else ""
            table.add_row(Text(clock_time(change.time)), Text(f"{change.old:.2f} → {change.new:.2f}", style),
                          Text(outcome, style), Text(reason, style), height=None)
        if not entries:
            table.add_row(Text("—"), Text(""), Text(""), Text("no recorded outcome yet"))
