"""The trainer's config file: where it lives, reading it (bad files set aside), writing it.

The schema is ``settings.TrainerConfig`` (msgspec structs, checked on construction);
this module is about the file. ``load_config`` never raises for a bad file: a file that
cannot be read, is not TOML, or holds an unknown key, a wrong type or an out-of-range
value is reported (file, dotted key, problem), moved aside to
``<name>.bad-<UTC timestamp>`` and the defaults are used. One bad value sets the whole
file aside: a half-applied config is harder to reason about than a clearly announced
fallback. While a trainer runs, ``config_file.ConfigFile`` is the one writer.

The names of the modules it is built from (``values``, ``urls``, ``settings``,
``tokens``) are re-exported here, so ``from collab_tui.io.config import ...`` keeps
working for everything a caller needs.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from platformdirs import user_config_dir, user_state_dir

from ..core.policy import POLICY_NAMES
from . import settings, tokens, urls, values
from .atomic import atomic_write_bytes, move_aside
from .settings import (
    HISTORY_SIZE_MAX, MAX_TRUSTED_REPORTERS, DecisionsSettings, HubSettings, ProducerSettings, ReputationSettings,
    TrainerConfig, TrainerSettings, UISettings, ValidatorSettings, config_from_dict, config_to_dict,
)
from .tokens import resolve_token
from .urls import HubURL, hub_url_parts, parse_hub_url
from .values import (
    MAX_CAPABILITIES, MAX_HOLD_S, RESERVED_IDS, ConfigError, parse_ai_id, parse_hello_name, parse_hold_seconds,
    parse_unit_interval,
)

__all__ = [  # this module's names, then those it re-exports
    "APP_NAME", "HOME_ENV", "POLICIES", "LoadResult", "default_config_path", "default_state_path",
    "load_config", "read_toml_file", "save_config", "set_aside",
    *settings.__all__, *tokens.__all__, *urls.__all__, *values.__all__,
]

APP_NAME = "collab-tui"
HOME_ENV = "COLLAB_TUI_HOME"
POLICIES = POLICY_NAMES


@dataclass(frozen=True)
class LoadResult:
    config: TrainerConfig
    problems: list[str]
    moved_to: Path | None = None  # where a bad file was moved


def _home_override() -> Path | None:
    home = os.environ.get(HOME_ENV, "")
    return Path(home).expanduser() if home else None


def default_config_path() -> Path:
    """``$COLLAB_TUI_HOME/config.toml`` if set, else the user's config dir."""
    home = _home_override()
    base = home if home is not None else Path(user_config_dir(APP_NAME))
    return base / "config.toml"


def default_state_path(ai_id: str) -> Path:
    """``$COLLAB_TUI_HOME/<ai_id>.state.toml`` if set, else the user's state dir."""
    parse_ai_id(ai_id)
    home = _home_override()
    base = home if home is not None else Path(user_state_dir(APP_NAME))
    return base / f"{ai_id}.state.toml"


def set_aside(path: Path, kind: str, problems: list[str], fallback: str) -> tuple[list[str], Path | None]:
    """Prefix *problems* with the file, move the file aside, say what happens next.

    Shared by the config and state loaders. Returns (messages, moved_to).
    """
    messages = [f"{kind} file {path}: {problem}" for problem in problems]
    try:
        moved = move_aside(path)
    except OSError as exc:
        messages.append(
            f"{kind} file {path} could not be moved aside ({exc.strerror or exc}); "
            f"it was left in place; {fallback}"
        )
        return messages, None
    messages.append(f"{kind} file {path} was moved aside to {moved.name}; {fallback}")
    return messages, moved


def read_toml_file(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """``(None, [])`` if missing, ``(doc, [])`` if fine, ``(None, [problem])`` if not."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, []
    except IsADirectoryError:
        return None, ["is a directory, not a file"]
    except OSError as exc:
        return None, [f"cannot be read: {exc.strerror or exc}"]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [f"is not valid UTF-8 (byte {exc.start})"]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        return None, [f"is not valid TOML: {exc}"]


def load_config(path: str | os.PathLike[str] | None = None) -> LoadResult:
    """Read the config at *path* (default: ``default_config_path()``). Never raises.

    Missing file -> defaults, no problems. A bad file -> problems naming the
    file, the dotted key and what is wrong; the file is moved aside (never
    overwritten, never deleted) and the defaults are returned.
    """
    target = Path(path) if path is not None else default_config_path()
    doc, problems = read_toml_file(target)
    if doc is None and not problems:
        return LoadResult(TrainerConfig(), [])
    if doc is not None:
        config, problems = config_from_dict(doc)
        if not problems:
            return LoadResult(config, [])
    if target.is_dir():
        return LoadResult(
            TrainerConfig(), [f"config file {target}: is a directory, not a file; starting with the default config"]
        )
    messages, moved = set_aside(target, "config", problems, "starting with the default config")
    return LoadResult(TrainerConfig(), messages, moved)


_HEADER = b"# collab-tui trainer configuration. Written by collab-tui; comments are not kept.\n\n"


def save_config(config: TrainerConfig, path: str | os.PathLike[str] | None = None) -> Path:
    """Write *config* atomically to *path* (default: ``default_config_path()``).

    While a trainer runs, write through its ``ConfigFile`` instead (the one writer).
    """
    target = Path(path) if path is not None else default_config_path()
    atomic_write_bytes(target, _HEADER + tomli_w.dumps(config_to_dict(config)).encode("utf-8"))
    return target
