"""``?``: every key, generated from the live bindings (so remapped keys show as remapped)."""
from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


#: From this terminal width on, binding ids get a column of their own.
WIDE = 110


@dataclass(frozen=True, slots=True)
class KeyHelp:
    keys: str          # as displayed, e.g. "a" or "ctrl+q"
    description: str
    binding_id: str    # "" when the binding cannot be remapped


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, sections: list[tuple[str, list[KeyHelp]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body") as body:
            body.border_title = "Keys  (esc / q / ? to close)"
            # Narrow terminals: the id joins the description (dim), so a wrapped description
            # never runs under an id column.
            narrow = self.app.size.width < WIDE
            for title, rows in self.sections:
                key_width = min(24, max((len(row.keys) for row in rows), default=8))
                table = Table(title=title, title_justify="left", title_style="bold",
                              show_header=False, box=None, pad_edge=False, expand=True)
                table.add_column("key", style="bold", width=key_width, no_wrap=True)
                table.add_column("what", ratio=1)
                if not narrow:
                    table.add_column("id", style="dim", width=16, no_wrap=True)
                for row in rows:
                    if narrow:
                        what = Text(row.description)
                        if row.binding_id:
                            what.append(f"  id={row.binding_id}", "dim")
                        table.add_row(row.keys, what)
                    else:
                        table.add_row(row.keys, row.description, row.binding_id)
                yield Static(table, classes="help-section")
            yield Static("Remap any key with an id in the config file's [keys] table, "
                         "e.g.  accept = \"A\"", classes="help-note", markup=False)
