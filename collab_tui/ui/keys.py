"""Every key of the TUI, declared once as Textual ``Binding``\\ s with ids.

The main screen binds :data:`OPERATOR_BINDINGS`, the app :data:`QUIT`; the help screen
(:func:`key_help`), the command palette and the key bar are built from the same list, so a
key remapped in the config's ``[keys]`` table shows as remapped everywhere. A binding's
``description`` is its short label (the key bar's), its ``tooltip`` the full sentence (help,
palette).
"""
from __future__ import annotations

from typing import Any, Callable

from textual.binding import Binding

from .screens.help import KeyHelp


def _key(key: str, action: str, label: str, binding_id: str, sentence: str) -> Binding:
    return Binding(key, action, label, show=False, id=binding_id, tooltip=sentence)


#: The operator's keys (the main screen's bindings), in the order help and the key bar show them.
OPERATOR_BINDINGS: list[Binding] = [
    _key("a", "accept", "Accept", "accept", "Override the selected received request's verdict to ✓ ACCEPT"),
    _key("r", "reject", "Reject", "reject", "Override the selected received request's verdict to ✗ REJECT"),
    _key("g", "mark_good", "Good", "mark_good",
         "Mark the selected component good (on our request: pick the delivery)"),
    _key("b", "mark_bad", "Bad", "mark_bad", "Mark the selected component bad (on our request: pick the delivery)"),
    _key("u", "unmark", "Undo the selected component's mark", "unmark", "Undo the selected component's mark"),
    _key("t", "settings", "Settings", "settings", "Edit threshold, α and hold window"),
    _key("plus", "threshold(0.05)", "Raise the trust threshold by 0.05", "threshold_up",
         "Raise the trust threshold by 0.05"),
    _key("minus", "threshold(-0.05)", "Lower the trust threshold by 0.05", "threshold_down",
         "Lower the trust threshold by 0.05"),
    _key("left_square_bracket", "alpha(-0.05)", "Lower reputation α by 0.05", "alpha_down",
         "Lower reputation α by 0.05"),
    _key("right_square_bracket", "alpha(0.05)", "Raise reputation α by 0.05", "alpha_up",
         "Raise reputation α by 0.05"),
    _key("ctrl+r", "reconnect", "Retry", "reconnect", "Retry the hub now (while disconnected)"),
    _key("n", "new_request", "New", "new_request", "Send a new collaboration request"),
    _key("enter", "details", "Details", "details", "Details of the selected row, with the peer's history"),
    _key("p", "pause", "Pause", "pause", "Pause / resume the feed (events queue meanwhile)"),
    _key("slash", "filter", "Filter", "filter", "Filter rows by text (enter keeps it, esc clears)"),
    _key("question_mark", "help", "Help", "help", "This help"),
]

#: The app's quit key (``ctrl+c`` and ``ctrl+q`` quit too, and cannot be remapped).
QUIT = Binding("q", "quit", "Quit", id="quit", tooltip="Quit (state saved)")

#: The keys in the key bar, and which it keeps when the terminal is narrow: lower survives
#: longer. ``?`` and ``q`` always stay; Retry is shown only while the hub link is down.
KEY_BAR_PRIORITY = {"help": 0, "quit": 1, "reconnect": 2, "accept": 3, "reject": 4, "mark_good": 5, "mark_bad": 6,
                    "details": 7, "new_request": 8, "settings": 9, "filter": 10, "pause": 11}

#: Keys that cannot be remapped, as the help screen lists them.
GENERAL_KEYS = [
    KeyHelp("ctrl+q", "Quit (state saved)", ""),
    KeyHelp("ctrl+p", "Command palette: themes, save, every action", ""),
    KeyHelp("tab / shift+tab", "Move between the Requests, Reputation and Components tables", ""),
    KeyHelp("↑ ↓ pgup pgdn", "Move the selection (the view then holds still)", ""),
    KeyHelp("home / end", "Newest row (follow new rows again) / oldest row", ""),
    KeyHelp("mouse", "Click a row to select it; click a column header to sort (again: reverse)", ""),
    KeyHelp("esc", "Close a dialog; clear the filter", ""),
]


def binding_ids() -> set[str]:
    """The ids a config's ``[keys]`` table may remap."""
    return {b.id for b in OPERATOR_BINDINGS if b.id} | {"quit"}


def keys_of(binding: Binding, keymap: dict[str, str]) -> str:
    """The binding's keys as remapped (Textual's names, comma-separated)."""
    return keymap.get(binding.id or "", binding.key)


def key_display(app: Any, binding: Binding, keymap: dict[str, str]) -> str:
    """A binding's keys as mapped, as people read them (``[`` not ``left_square_bracket``)."""
    return ", ".join(app.get_key_display(Binding(k.strip(), "")) for k in keys_of(binding, keymap).split(","))


def key_help(display: Callable[[Binding], str]) -> list[tuple[str, list[KeyHelp]]]:
    """The help screen's sections; ``display`` shows a binding's keys as mapped and as people
    read them (``[`` not ``left_square_bracket``)."""
    operator = [KeyHelp(display(b), b.tooltip, b.id or "") for b in [*OPERATOR_BINDINGS, QUIT]]
    return [("Operator", operator), ("Everywhere", list(GENERAL_KEYS))]
