"""Value rules shared by the config schema, the command line and the console's forms.

``ConfigError`` is the one error for a value a person gave (a file, a flag, a form
field); its text is one line naming what was wrong. The ``parse_*`` helpers take
text as typed (a flag, a form field) or a value from code.
"""
from __future__ import annotations

import math
from typing import Any

from ..core.sessions import MAX_HOLD_S
from ..core.wire import AI_ID, MAX_CAPABILITIES, RESERVED_IDS

__all__ = [
    "MAX_CAPABILITIES",
    "MAX_HOLD_S",
    "RESERVED_IDS",
    "ConfigError",
    "parse_ai_id",
    "parse_hello_name",
    "parse_hold_seconds",
    "parse_unit_interval",
]

UNIT_WHAT = "a number between 0 and 1"
HELLO_WHAT = "1-64 characters of A-Z a-z 0-9 _ . -"


class ConfigError(ValueError):
    """A configuration value (from a file, a flag or a form) is not acceptable."""


def hold_what() -> str:
    return f"a number of seconds between 0 and {MAX_HOLD_S:g}"


def _number_between(text: str | float, name: str, what: str, low: float, high: float) -> float:
    if isinstance(text, str):
        try:
            number = float(text.strip())
        except ValueError:
            raise ConfigError(f"{name} must be {what}, got {text!r}") from None
    elif isinstance(text, bool) or not isinstance(text, (int, float)):
        raise ConfigError(f"{name} must be {what}, got {text!r}")
    else:
        number = float(text)
    if not math.isfinite(number) or not low <= number <= high:
        raise ConfigError(f"{name} must be {what}, got {text!r}")
    return number


def parse_unit_interval(text: str | float, name: str) -> float:
    """``"0.6"`` -> 0.6; anything outside [0, 1] or not a number -> ConfigError.

    ``parse_unit_interval("1.7", "trust threshold")`` raises
    ``ConfigError("trust threshold must be a number between 0 and 1, got '1.7'")``.
    """
    return _number_between(text, name, UNIT_WHAT, 0.0, 1.0)


def parse_hold_seconds(text: str | float, name: str = "hold time") -> float:
    """Seconds an automatic verdict waits before it is sent: 0 .. 3600."""
    return _number_between(text, name, hold_what(), 0.0, MAX_HOLD_S)


def parse_ai_id(text: str, name: str = "trainer id") -> str:
    """A trainer id as the hub accepts it: 1-64 characters of A-Z a-z 0-9 _ . -, not ``hub``."""
    if not isinstance(text, str) or not AI_ID.fullmatch(text):
        raise ConfigError(f"{name} must be {HELLO_WHAT}, got {text!r}")
    if text.casefold() in RESERVED_IDS:
        raise ConfigError(f"{name} {text!r} is reserved for the hub itself; choose another")
    return text


def parse_hello_name(text: Any, name: str) -> str:
    """A specialization or capability as a HELLO may carry it (PROTOCOL.md, Joining 2)."""
    if not isinstance(text, str) or not AI_ID.fullmatch(text):
        raise ConfigError(f"{name} must be {HELLO_WHAT}, got {text!r}")
    return text
