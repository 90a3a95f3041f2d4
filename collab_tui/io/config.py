"""The trainer's typed configuration and its TOML file.

``TrainerConfig`` is a tree of frozen dataclasses with defaults for everything,
so ``TrainerConfig()`` is a valid configuration and
``TrainerConfig(reputation=ReputationSettings(alpha=0.4))`` works in code.
Every value is checked on construction (``ConfigError`` names the dotted key).

``load_config`` never raises for a bad file: a file that cannot be read, is not
TOML, or holds an unknown key, a wrong type or an out-of-range value is reported
(file, dotted key, problem), moved aside to ``<name>.bad-<UTC timestamp>`` and
the defaults are used. One bad value sets the whole file aside: a half-applied
config is harder to reason about than a clearly announced fallback.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import tomli_w
from platformdirs import user_config_dir, user_state_dir

from .atomic import atomic_write_bytes, move_aside

__all__ = [
    "APP_NAME",
    "HOME_ENV",
    "ConfigError",
    "DecisionsSettings",
    "HubSettings",
    "HubURL",
    "LoadResult",
    "ProducerSettings",
    "ReputationSettings",
    "TrainerConfig",
    "TrainerSettings",
    "UISettings",
    "ValidatorSettings",
    "config_to_dict",
    "config_from_dict",
    "default_config_path",
    "default_state_path",
    "hub_url_parts",
    "load_config",
    "parse_hold_seconds",
    "parse_ai_id",
    "parse_hub_url",
    "parse_unit_interval",
    "read_toml_file",
    "resolve_token",
    "save_config",
    "set_aside",
]

APP_NAME = "collab-tui"
HOME_ENV = "COLLAB_TUI_HOME"
POLICIES = ("seed", "hardened", "shared")
MAX_TRUSTED_REPORTERS = 64
MAX_HOLD_S = 3600.0
MAX_TIMEOUT_S = 86400.0
HISTORY_SIZE_MAX = 10_000
MAX_COMPONENT_BYTES_LIMIT = 64 * 1024 * 1024
_AI_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: Ids no trainer may claim (compared case-insensitively), and HELLO's capability limit.
RESERVED_IDS = frozenset({"hub"})
MAX_CAPABILITIES = 32


class ConfigError(ValueError):
    """A configuration value (from a file, a flag or a form) is not acceptable."""


# ---------------------------------------------------------------------------
# Value checks. Strict ones take typed values (as they come from TOML or code);
# the parse_* helpers take text from a CLI flag or a form field.


def _show(value: Any) -> str:
    return repr(value)


def _number(value: Any, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be {what}, got {_show(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be {what}, got {_show(value)}")
    return number


def _check_unit_interval(value: Any, name: str) -> float:
    what = "a number between 0 and 1"
    number = _number(value, name, what)
    if not 0.0 <= number <= 1.0:
        raise ConfigError(f"{name} must be {what}, got {_show(value)}")
    return number


def _check_hold(value: Any, name: str) -> float:
    what = f"a number of seconds between 0 and {MAX_HOLD_S:g}"
    number = _number(value, name, what)
    if not 0.0 <= number <= MAX_HOLD_S:
        raise ConfigError(f"{name} must be {what}, got {_show(value)}")
    return number


def _check_timeout(value: Any, name: str) -> float:
    what = f"a number of seconds greater than 0 and at most {MAX_TIMEOUT_S:g}"
    number = _number(value, name, what)
    if not 0.0 < number <= MAX_TIMEOUT_S:
        raise ConfigError(f"{name} must be {what}, got {_show(value)}")
    return number


def _int_between(low: int, high: int) -> Callable[[Any, str], int]:
    def check(value: Any, name: str) -> int:
        what = f"a whole number between {low} and {high}"
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{name} must be {what}, got {_show(value)}")
        return value

    return check


def _check_str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {_show(value)}")
    return value


def _check_str_list(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name} must be a list of strings, got {_show(value)}")
    return tuple(value)


def _check_reporters(value: Any, name: str) -> tuple[str, ...]:
    ids = _check_str_list(value, name)
    if len(ids) > MAX_TRUSTED_REPORTERS:
        raise ConfigError(f"{name} may list at most {MAX_TRUSTED_REPORTERS} trainer ids, got {len(ids)}")
    for item in ids:
        if not _AI_ID.fullmatch(item):
            raise ConfigError(f"{name}: {item!r} is not a trainer id (1-64 characters of A-Z a-z 0-9 _ . -)")
    return tuple(dict.fromkeys(ids))


def _check_command(value: Any, name: str) -> tuple[str, ...]:
    argv = _check_str_list(value, name)
    if argv and not argv[0]:
        raise ConfigError(f"{name} must start with a program name, got an empty string")
    return argv


def _check_policy(value: Any, name: str) -> str:
    if value not in POLICIES:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, POLICIES))}, got {_show(value)}")
    return value


def _check_url(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {_show(value)}")
    return parse_hub_url(value, name)


def _check_complements(value: Any, name: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a table, got {_show(value)}")
    table: dict[str, tuple[str, ...]] = {}
    for key, partners in value.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"{name} has an empty specialization name")
        table[key] = _check_str_list(partners, f"{name}.{key}")
    return table


def _check_keys(value: Any, name: str) -> dict[str, str]:
    """Binding id -> key(s). A list of keys is stored Textual-style, comma-joined."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a table, got {_show(value)}")
    table: dict[str, str] = {}
    for binding, keys in value.items():
        key_name = f"{name}.{binding}"
        if isinstance(keys, (list, tuple)):
            keys = ",".join(_check_str_list(keys, key_name))
        if not isinstance(keys, str):
            raise ConfigError(f"{key_name} must be a key or a list of keys, got {_show(keys)}")
        parts = [part.strip() for part in keys.split(",")]
        if not all(parts):
            raise ConfigError(f"{key_name} must name at least one key, got {_show(keys)}")
        table[binding] = ",".join(parts)
    return table


def parse_unit_interval(text: str | float, name: str) -> float:
    """``"0.6"`` -> 0.6; anything outside [0, 1] or not a number -> ConfigError.

    ``parse_unit_interval("1.7", "trust threshold")`` raises
    ``ConfigError("trust threshold must be a number between 0 and 1, got '1.7'")``.
    """
    if isinstance(text, str):
        what = "a number between 0 and 1"
        number = _text_to_number(text, name, what)
        if not 0.0 <= number <= 1.0:
            raise ConfigError(f"{name} must be {what}, got {text!r}")
        return number
    return _check_unit_interval(text, name)


def parse_hold_seconds(text: str | float, name: str = "hold time") -> float:
    """Seconds an automatic verdict waits before it is sent: 0 .. 3600."""
    if isinstance(text, str):
        what = f"a number of seconds between 0 and {MAX_HOLD_S:g}"
        number = _text_to_number(text, name, what)
        if not 0.0 <= number <= MAX_HOLD_S:
            raise ConfigError(f"{name} must be {what}, got {text!r}")
        return number
    return _check_hold(text, name)


def _text_to_number(text: str, name: str, what: str) -> float:
    try:
        number = float(text.strip())
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {text!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be {what}, got {text!r}")
    return number


@dataclass(frozen=True)
class HubURL:
    scheme: str  # "ws" | "wss"
    host: str  # without IPv6 brackets
    port: int
    path: str

    @property
    def secure(self) -> bool:
        return self.scheme == "wss"


def _split_hub_url(text: str, name: str) -> tuple[HubURL, str]:
    what = "a ws:// or wss:// URL with a host, like ws://127.0.0.1:6000/"
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{name} must be {what}, got {text!r}")
    raw = text.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{name} must be {what}, got {text!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("ws", "wss"):
        raise ConfigError(f"{name} must be {what}; {text!r} does not start with ws:// or wss://")
    if not parts.hostname:
        raise ConfigError(f"{name} must be {what}; {text!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{name} must not contain a user name or password (give the token separately)")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must not have a query or fragment, got {text!r}")
    if port == 0:
        raise ConfigError(f"{name} has port 0, which cannot be connected to")
    path = parts.path or "/"
    host = parts.hostname
    explicit_port = port if port is not None else (443 if scheme == "wss" else 80)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    normalized = urlunsplit((scheme, netloc, path, "", ""))
    return HubURL(scheme, host, explicit_port, path), normalized


def parse_hub_url(text: str, name: str = "hub URL") -> str:
    """Accept ``ws://`` / ``wss://`` URLs with a host; return it normalized.

    The port is optional (80 / 443 implied), the path defaults to "/". Other
    schemes, a missing host, credentials, a query or a fragment -> ConfigError.
    """
    return _split_hub_url(text, name)[1]


def hub_url_parts(url: str) -> HubURL:
    """Scheme, host, port (default 80/443) and path of a hub URL."""
    return _split_hub_url(url, "hub URL")[0]


# ---------------------------------------------------------------------------
# The config tree. ``_checks`` maps each field name to its check; __post_init__
# runs them so every TrainerConfig in the program is valid and normalized.


class _Section:
    _section_name = ""
    _checks: dict[str, Callable[[Any, str], Any]] = {}

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            check = self._checks.get(f.name)
            if check is not None:
                value = check(getattr(self, f.name), f"{self._section_name}.{f.name}")
                object.__setattr__(self, f.name, value)


@dataclass(frozen=True)
class TrainerSettings(_Section):
    specialization: str = "general"
    capabilities: tuple[str, ...] = ()

    _section_name = "trainer"
    _checks = {"specialization": lambda v, n: parse_hello_name(v, n), "capabilities": lambda v, n: _check_capabilities(v, n)}


@dataclass(frozen=True)
class HubSettings(_Section):
    url: str = "ws://127.0.0.1:6000/"
    token_env: str = "COLLAB_HUB_TOKEN"  # env var holding the token; "" = unused
    token_file: str = ""  # file whose first line is the token; "" = unused
    token: str = ""  # the literal token (discouraged in a file); "" = unused

    _section_name = "hub"
    _checks = {"url": _check_url, "token_env": _check_str, "token_file": _check_str, "token": _check_str}


@dataclass(frozen=True)
class ReputationSettings(_Section):
    trust_threshold: float = 0.5
    alpha: float = 0.3
    policy: str = "seed"
    max_active_sessions: int = 3
    history_size: int = 50
    trusted_reporters: tuple[str, ...] = ()   # pinned witnesses (like EigenTrust's pre-trusted peers)

    _section_name = "reputation"
    _checks = {
        "trust_threshold": _check_unit_interval,
        "alpha": _check_unit_interval,
        "policy": _check_policy,
        "max_active_sessions": _int_between(1, 1_000_000),
        "history_size": _int_between(1, HISTORY_SIZE_MAX),
        "trusted_reporters": _check_reporters,
    }


@dataclass(frozen=True)
class DecisionsSettings(_Section):
    hold_s: float = 0.0

    _section_name = "decisions"
    _checks = {"hold_s": _check_hold}


@dataclass(frozen=True)
class ProducerSettings(_Section):
    command: tuple[str, ...] = ()  # () = the built-in producer
    timeout_s: float = 30.0

    _section_name = "producer"
    _checks = {"command": _check_command, "timeout_s": _check_timeout}


@dataclass(frozen=True)
class ValidatorSettings(_Section):
    command: tuple[str, ...] = ()  # () = no external validator
    timeout_s: float = 10.0
    max_component_bytes: int = 262144

    _section_name = "validator"
    _checks = {
        "command": _check_command,
        "timeout_s": _check_timeout,
        "max_component_bytes": _int_between(1, MAX_COMPONENT_BYTES_LIMIT),
    }


@dataclass(frozen=True)
class UISettings(_Section):
    theme: str = "collab-dark"

    _section_name = "ui"
    _checks = {"theme": _check_str}


_SECTIONS: dict[str, type] = {
    "trainer": TrainerSettings,
    "hub": HubSettings,
    "reputation": ReputationSettings,
    "decisions": DecisionsSettings,
    "producer": ProducerSettings,
    "validator": ValidatorSettings,
    "ui": UISettings,
}
_TABLES: dict[str, Callable[[Any, str], Any]] = {"complements": _check_complements, "keys": _check_keys}


@dataclass(frozen=True)
class TrainerConfig:
    trainer: TrainerSettings = field(default_factory=TrainerSettings)
    hub: HubSettings = field(default_factory=HubSettings)
    reputation: ReputationSettings = field(default_factory=ReputationSettings)
    decisions: DecisionsSettings = field(default_factory=DecisionsSettings)
    # specialization -> the specializations it complements. Missing entries fall
    # back to the core's default rule (different ones complement; "general" all).
    complements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    producer: ProducerSettings = field(default_factory=ProducerSettings)
    validator: ValidatorSettings = field(default_factory=ValidatorSettings)
    ui: UISettings = field(default_factory=UISettings)
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> "key[,key...]"

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __post_init__(self) -> None:
        for name, cls in _SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"{name} must be a {cls.__name__}, got {getattr(self, name)!r}")
        for name, check in _TABLES.items():
            object.__setattr__(self, name, check(getattr(self, name), name))

    def with_section(self, section: str, **changes: Any) -> "TrainerConfig":
        """A copy with fields of one section changed (checked like everything else)."""
        if section in _TABLES:
            raise ConfigError(f"{section} is a table; use dataclasses.replace(config, {section}=...)")
        if section not in _SECTIONS:
            raise ConfigError(f"unknown config section {section!r}")
        current = getattr(self, section)
        unknown = set(changes) - {f.name for f in dataclasses.fields(current)}
        if unknown:
            raise ConfigError(f"unknown key {section}.{sorted(unknown)[0]}")
        return dataclasses.replace(self, **{section: dataclasses.replace(current, **changes)})

    def with_trainer(self, **changes: Any) -> "TrainerConfig":
        return self.with_section("trainer", **changes)

    def with_hub(self, **changes: Any) -> "TrainerConfig":
        return self.with_section("hub", **changes)

    def with_reputation(self, **changes: Any) -> "TrainerConfig":
        return self.with_section("reputation", **changes)

    def with_decisions(self, **changes: Any) -> "TrainerConfig":
        return self.with_section("decisions", **changes)

    def with_producer(self, **changes: Any) -> "TrainerConfig":
        return self.with_section("producer", **changes)

    def with_validator(self, **changes: Any) -> "TrainerConfig":
        return self.with_section("validator", **changes)

    def with_ui(self, **changes: Any) -> "TrainerConfig":
        return self.with_section("ui", **changes)


# ---------------------------------------------------------------------------
# dict <-> config


def config_to_dict(config: TrainerConfig) -> dict[str, Any]:
    """The TOML document for *config* (all keys; ``hub.token`` only if set)."""
    doc: dict[str, Any] = {}
    for name in ("trainer", "hub", "reputation", "decisions", "complements", "producer", "validator", "ui", "keys"):
        value = getattr(config, name)
        if name == "complements":
            doc[name] = {spec: list(partners) for spec, partners in value.items()}
        elif name == "keys":
            doc[name] = dict(value)
        else:
            section = {}
            for f in dataclasses.fields(value):
                item = getattr(value, f.name)
                section[f.name] = list(item) if isinstance(item, tuple) else item
            if name == "hub" and not section["token"]:
                del section["token"]
            doc[name] = section
    return doc


def config_from_dict(doc: Mapping[str, Any]) -> tuple[TrainerConfig, list[str]]:
    """Build a config from a parsed TOML document.

    Returns ``(config, problems)``; each problem names its dotted key. With any
    problem the returned config is the default one.
    """
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    for name, value in doc.items():
        if name in _TABLES:
            try:
                kwargs[name] = _TABLES[name](value, name)
            except ConfigError as exc:
                problems.append(str(exc))
            continue
        cls = _SECTIONS.get(name)
        if cls is None:
            problems.append(f"{name}: unknown section (known: {', '.join([*_SECTIONS, *_TABLES])})")
            continue
        if not isinstance(value, Mapping):
            problems.append(f"{name} must be a table, got {_show(value)}")
            continue
        known = {f.name: f for f in dataclasses.fields(cls)}
        checks = cls._checks
        values: dict[str, Any] = {}
        for key, item in value.items():
            if key not in known:
                problems.append(f"{name}.{key}: unknown key (known: {', '.join(known)})")
                continue
            try:
                values[key] = checks[key](item, f"{name}.{key}")
            except ConfigError as exc:
                problems.append(str(exc))
        if not problems:
            kwargs[name] = cls(**values)
    if problems:
        return TrainerConfig(), problems
    return TrainerConfig(**kwargs), []


# ---------------------------------------------------------------------------
# Files


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


def parse_ai_id(text: str, name: str = "trainer id") -> str:
    """A trainer id as the hub accepts it: 1-64 characters of A-Z a-z 0-9 _ . -, not ``hub``."""
    if not isinstance(text, str) or not _AI_ID.fullmatch(text):
        raise ConfigError(f"{name} must be 1-64 characters of A-Z a-z 0-9 _ . -, got {text!r}")
    if text.casefold() in RESERVED_IDS:
        raise ConfigError(f"{name} {text!r} is reserved for the hub itself; choose another")
    return text


def parse_hello_name(text: Any, name: str) -> str:
    """A specialization or capability as a HELLO may carry it (PROTOCOL.md, Joining 2)."""
    if not isinstance(text, str) or not _AI_ID.fullmatch(text):
        raise ConfigError(f"{name} must be 1-64 characters of A-Z a-z 0-9 _ . -, got {_show(text)}")
    return text


def _check_capabilities(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name} must be a list of strings, got {_show(value)}")
    if len(value) > MAX_CAPABILITIES:
        raise ConfigError(f"{name} may have at most {MAX_CAPABILITIES} entries, got {len(value)}")
    return tuple(parse_hello_name(v, f"{name}[{i}]") for i, v in enumerate(value))


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
    """Write *config* atomically to *path* (default: ``default_config_path()``)."""
    target = Path(path) if path is not None else default_config_path()
    atomic_write_bytes(target, _HEADER + tomli_w.dumps(config_to_dict(config)).encode("utf-8"))
    return target


def resolve_token(
    config: TrainerConfig, cli_token: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str | None:
    """The hub token: the CLI's, else ``hub.token``, else ``$<hub.token_env>``, else
    the first line of ``hub.token_file``; None if none is set.

    Raises ConfigError if ``hub.token_file`` is needed but unreadable or empty.
    """
    if cli_token:
        return cli_token
    hub = config.hub
    if hub.token:
        return hub.token
    env = os.environ if environ is None else environ
    if hub.token_env and env.get(hub.token_env):
        return env[hub.token_env]
    if hub.token_file:
        token_path = Path(hub.token_file).expanduser()
        try:
            with token_path.open("r", encoding="utf-8") as handle:
                first = handle.readline().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(f"hub.token_file: cannot read {token_path}: {reason}") from None
        if not first:
            raise ConfigError(f"hub.token_file: {token_path} is empty (the token is its first line)")
        return first
    return None
