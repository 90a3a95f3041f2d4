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

    def on_mount(self) -> None:
        if self.peer is None:
            return
        table = self.query_one("#history", DataTable)
        table.add_column("Time", width=8)
        table.add_column("Score", width=13)
        table.add_column("Outcome", width=10)
        table.add_column("Reason", width=60)
        entries = list(self.record.history) if self.record else []
        for change in reversed(entries):
            outcome = {"success": "✓ success", "failure": "✗ failure", "undo": "↺ undo"}[change.outcome]
            reason = peer_text(change.reason, 500) + ("  (undone)" if change.undone else "")
            style = "strike dim" if change.undone else ""
            table.add_row(Text(clock_time(change.time)), Text(f"{change.old:.2f} → {change.new:.2f}", style),
                          Text(outcome, style), Text(reason, style))
        if not entries:
            table.add_row(Text("—"), Text(""), Text(""), Text("no recorded outcome yet"))
