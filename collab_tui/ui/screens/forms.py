"""The two small forms: settings (``t``) and a new collaboration request (``n``).

Each field is checked as it is typed; a bad value says why under the field and the
form will not submit until every field is good. ``escape`` cancels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static

from ...core.sessions import MAX_HOLD_S, hold_warning
from ...core.text import peer_text
from ...io.config import ConfigError, parse_hold_seconds, parse_unit_interval

MAX_DEADLINE_S = 86_400.0
KNOWN_TYPES = ["feature_development", "cross_specialization", "code_review", "benchmarking", "general"]


@dataclass(frozen=True, slots=True)
class Settings:
    trust_threshold: float
    reputation_alpha: float
    hold_s: float


@dataclass(frozen=True, slots=True)
class NewRequest:
    collaboration_type: str
    feature: str
    deadline_s: float
    recipient: str | None


class _Form(ModalScreen):
    """Fields with per-field checks: ``self.checks[input_id] -> parse(text)`` raising ConfigError."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]
    checks: dict[str, Callable[[str], object]]

    def field(self, input_id: str, label: str, value: str, placeholder: str = "", **kw) -> ComposeResult:
        yield Label(label, classes="form-label")
        yield Input(value=value, placeholder=placeholder, id=input_id, **kw)
        yield Static("", id=f"{input_id}-error", classes="form-error", markup=False)

    def check(self, input_id: str) -> tuple[bool, object]:
        value = self.query_one(f"#{input_id}", Input).value
        error = self.query_one(f"#{input_id}-error", Static)
        try:
            parsed = self.checks[input_id](value)
        except ConfigError as exc:
            error.update(f"✗ {exc}")
            error.add_class("shown")
            return False, None
        error.update("")
        error.remove_class("shown")
        return True, parsed

    def check_all(self) -> dict[str, object] | None:
        values, ok = {}, True
        for input_id in self.checks:
            good, values[input_id] = self.check(input_id)
            ok = ok and good
        return values if ok else None

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in self.checks:
            self.check(event.input.id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "submit":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def buttons(self, label: str) -> ComposeResult:
        with Horizontal(classes="form-buttons"):
            yield Button(label, id="submit", variant="primary")
            yield Button("Cancel", id="cancel")


class SettingsForm(_Form):
    """Threshold, α and hold window; applied at once on submit.

    ``deadlines_s`` are the deadlines of recent requests: a hold window at least as long
    as some of them is warned about (those requests would lapse while held).
    """

    def __init__(self, current: Settings, deadlines_s: list[float] | None = None) -> None:
        super().__init__()
        self.current = current
        self.deadlines_s = list(deadlines_s or [])
        self.checks = {
            "threshold": lambda text: parse_unit_interval(text, "trust threshold"),
            "alpha": lambda text: parse_unit_interval(text, "reputation alpha"),
            "hold": lambda text: parse_hold_seconds(text, "hold window"),
        }

    def compose(self) -> ComposeResult:
        with Vertical(classes="form") as box:
            box.border_title = "Settings  (enter applies · esc cancels)"
            with VerticalScroll(classes="form-fields", can_focus=False):
                yield from self._settings_fields()
            yield from self.buttons("Apply")

    def _settings_fields(self) -> ComposeResult:
        yield from self.field("threshold", "Trust threshold (0–1): requests from peers below it are refused",
                              f"{self.current.trust_threshold:g}")
        yield from self.field("alpha", "Reputation α (0–1): weight of the newest outcome",
                              f"{self.current.reputation_alpha:g}")
        yield from self.field("hold", f"Hold window (seconds, 0–{MAX_HOLD_S:g}): verdicts wait this long before sending",
                              f"{self.current.hold_s:g}")
        yield Static("", id="hold-warning", classes="form-warning", markup=False)

    def on_mount(self) -> None:
        self._warn_hold()

    def check(self, input_id: str) -> tuple[bool, object]:
        ok, value = super().check(input_id)
        if input_id == "hold":
            self._warn_hold(value if ok else None)
        return ok, value

    def _warn_hold(self, hold_s: float | None = None) -> None:
        if hold_s is None:
            try:
                hold_s = parse_hold_seconds(self.query_one("#hold", Input).value, "hold window")
            except ConfigError:
                hold_s = 0.0
        warning = hold_warning(hold_s, self.deadlines_s)
        box = self.query_one("#hold-warning", Static)
        box.update(f"⚠ {warning}" if warning else "")
        box.set_class(warning is not None, "shown")

    def submit(self) -> None:
        values = self.check_all()
        if values is not None:
            self.dismiss(Settings(values["threshold"], values["alpha"], values["hold"]))


OTHER_TYPE = "other"


def _check_type(text: str) -> str:
    text = text.strip()
    if not text:
        raise ConfigError("collaboration type must not be empty")
    if len(text) > 128:
        raise ConfigError("collaboration type must be at most 128 characters")
    return text


def _check_feature(text: str) -> str:
    text = text.strip()
    if not text:
        raise ConfigError("say what you need built: the feature must not be empty")
    if len(text) > 1000:
        raise ConfigError("feature must be at most 1000 characters")
    return text


def _check_deadline(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ConfigError(f"deadline must be a number of seconds, got {text!r}") from None
    if not 0 < value <= MAX_DEADLINE_S:
        raise ConfigError(f"deadline must be more than 0 and at most {MAX_DEADLINE_S:g} seconds, got {text!r}")
    return value


class RequestForm(_Form):
    """A new COLLABORATION_REQUEST: type, feature, deadline, and optionally one recipient.

    ``enter`` moves to the next field; in the last field (or on Send) it sends. The type is
    a choice of the known types, or "other" with a name of your own.
    """

    def __init__(self, known_peers: list[str], online: set[str] | None = None) -> None:
        super().__init__()
        self.known_peers = known_peers
        self.online = set(known_peers) if online is None else set(online)
        self.checks = {"feature": _check_feature, "deadline": _check_deadline,
                       "recipient": self._check_recipient, "type-other": _check_type}

    def _check_recipient(self, text: str) -> str | None:
        text = text.strip()
        if not text:
            return None
        if text not in self.known_peers:
            raise ConfigError(f"no known peer called {peer_text(text, 64)!r}; leave empty to ask everyone")
        return text

    def compose(self) -> ComposeResult:
        with Vertical(classes="form") as box:
            box.border_title = "New collaboration request  (enter: next field · esc cancels)"
            with VerticalScroll(classes="form-fields", can_focus=False):
                yield Label("Collaboration type", classes="form-label")
                yield Select([(t, t) for t in KNOWN_TYPES] + [("other…", OTHER_TYPE)],
                             value=KNOWN_TYPES[0], allow_blank=False, id="type")
                yield Input(placeholder="your own type", id="type-other", classes="type-other")
                yield Static("", id="type-other-error", classes="form-error", markup=False)
                yield from self.field("feature", "Feature", "", placeholder="what you need built")
                yield from self.field("deadline", "Deadline (seconds)", "30")
                yield from self.field("recipient", "Recipient (empty: everyone)", "", placeholder="peer id",
                                      suggester=SuggestFromList(self.known_peers, case_sensitive=True))
                yield Static("", id="recipient-note", classes="form-note", markup=False)
            yield from self.buttons("Send")

    def on_mount(self) -> None:
        self.query_one("#type-other").display = False

    def on_select_changed(self, event: Select.Changed) -> None:
        other = event.value == OTHER_TYPE
        self.query_one("#type-other").display = other
        if not other:
            error = self.query_one("#type-other-error", Static)
            error.update("")
            error.remove_class("shown")

    def check(self, input_id: str) -> tuple[bool, object]:
        if input_id == "type-other" and self.query_one("#type", Select).value != OTHER_TYPE:
            return True, None
        ok, value = super().check(input_id)
        if input_id == "recipient":
            note = self.query_one("#recipient-note", Static)
            offline = ok and value is not None and value not in self.online
            note.update(f"{peer_text(value)} is offline: the request waits until it is back" if offline else "")
            note.set_class(offline, "shown")
        return ok, value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves on to the next field; in the last one it sends."""
        event.stop()
        event.prevent_default()   # not the base form's "enter submits"
        if event.input.id == "recipient":
            self.submit()
        else:
            self.focus_next()

    def submit(self) -> None:
        values = self.check_all()
        if values is None:
            return
        chosen = self.query_one("#type", Select).value
        ctype = values["type-other"] if chosen == OTHER_TYPE else str(chosen)
        self.dismiss(NewRequest(ctype, values["feature"], values["deadline"], values["recipient"]))
