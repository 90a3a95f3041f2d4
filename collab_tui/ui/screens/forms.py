"""The two small forms: settings (``t``) and a new collaboration request (``n``).

Each field is checked as it is typed; a bad value says why under the field and the
form will not submit until every field is good. ``escape`` cancels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Static

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
    """Threshold, α and hold window; applied at once on submit."""

    def __init__(self, current: Settings) -> None:
        super().__init__()
        self.current = current
        self.checks = {
            "threshold": lambda text: parse_unit_interval(text, "trust threshold"),
            "alpha": lambda text: parse_unit_interval(text, "reputation alpha"),
            "hold": lambda text: parse_hold_seconds(text, "hold window"),
        }

    def compose(self) -> ComposeResult:
        with Vertical(classes="form") as box:
            box.border_title = "Settings  (enter applies · esc cancels)"
            yield from self.field("threshold", "Trust threshold (0–1): requests from peers below it are refused",
                                  f"{self.current.trust_threshold:g}")
            yield from self.field("alpha", "Reputation α (0–1): weight of the newest outcome",
                                  f"{self.current.reputation_alpha:g}")
            yield from self.field("hold", "Hold window (seconds, 0–3600): verdicts wait this long before sending",
                                  f"{self.current.hold_s:g}")
            yield from self.buttons("Apply")

    def submit(self) -> None:
        values = self.check_all()
        if values is not None:
            self.dismiss(Settings(values["threshold"], values["alpha"], values["hold"]))


def _check_type(text: str) -> str:
    text = text.strip()
    if not text:
        raise ConfigError("collaboration type must not be empty")
    if len(text) > 128:
        raise ConfigError("collaboration type must be at most 128 characters")
    return text


def _check_feature(text: str) -> str:
    if len(text) > 1000:
        raise ConfigError("feature must be at most 1000 characters")
    return text.strip()


def _check_deadline(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ConfigError(f"deadline must be a number of seconds, got {text!r}") from None
    if not 0 < value <= MAX_DEADLINE_S:
        raise ConfigError(f"deadline must be more than 0 and at most {MAX_DEADLINE_S:g} seconds, got {text!r}")
    return value


class RequestForm(_Form):
    """A new COLLABORATION_REQUEST: type, feature, deadline, and optionally one recipient."""

    def __init__(self, known_peers: list[str]) -> None:
        super().__init__()
        self.known_peers = known_peers
        self.checks = {"type": _check_type, "feature": _check_feature, "deadline": _check_deadline,
                       "recipient": self._check_recipient}

    def _check_recipient(self, text: str) -> str | None:
        text = text.strip()
        if not text:
            return None
        if text not in self.known_peers:
            raise ConfigError(f"no known peer called {text!r}; leave empty to ask everyone")
        return text

    def compose(self) -> ComposeResult:
        with Vertical(classes="form") as box:
            box.border_title = "New collaboration request  (enter sends · esc cancels)"
            yield from self.field("type", "Collaboration type", "feature_development",
                                  suggester=SuggestFromList(KNOWN_TYPES, case_sensitive=False))
            yield from self.field("feature", "Feature", "", placeholder="what you need built")
            yield from self.field("deadline", "Deadline (seconds)", "30")
            yield from self.field("recipient", "Recipient (empty: everyone)", "", placeholder="peer id",
                                  suggester=SuggestFromList(self.known_peers, case_sensitive=True))
            yield from self.buttons("Send")

    def submit(self) -> None:
        values = self.check_all()
        if values is not None:
            self.dismiss(NewRequest(values["type"], values["feature"], values["deadline"], values["recipient"]))
