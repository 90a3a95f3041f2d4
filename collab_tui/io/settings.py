"""The trainer's configuration, declared once: msgspec ``Struct``s with their limits.

``TrainerConfig`` is a tree of frozen structs with defaults for everything, so
``TrainerConfig()`` is a valid configuration and
``TrainerConfig(reputation=ReputationSettings(alpha=0.4))`` works in code. Each field's
type carries its limits (``Meta(ge=, le=)``) and, as its ``description``, the words an
error uses; the few rules a type cannot say (URLs, ids, commands, key tables) are small
checks run after the type's. Every struct is checked on construction, on
``config.replace(...)`` and when read from a document, and every failure is one line
naming the dotted key: ``reputation.alpha must be a number between 0 and 1, got 1.7``.
"""
from __future__ import annotations

from typing import Annotated, Any, Callable, ClassVar, Literal, Mapping

import msgspec
from msgspec import Meta

from ..core.policy import POLICY_NAMES
from .urls import URL_WHAT, parse_hub_url
from .values import (
    AI_ID, HELLO_WHAT, MAX_CAPABILITIES, MAX_HOLD_S, UNIT_WHAT, ConfigError, hold_what, parse_hello_name,
)

__all__ = [
    "HISTORY_SIZE_MAX",
    "MAX_TRUSTED_REPORTERS",
    "DecisionsSettings",
    "HubSettings",
    "ProducerSettings",
    "ReputationSettings",
    "TrainerConfig",
    "TrainerSettings",
    "UISettings",
    "ValidatorSettings",
    "config_from_dict",
    "config_to_dict",
]

MAX_TRUSTED_REPORTERS = 64
MAX_TIMEOUT_S = 86400.0
HISTORY_SIZE_MAX = 10_000
MAX_COMPONENT_BYTES_LIMIT = 64 * 1024 * 1024

Check = Callable[[Any, str], Any]

# ---------------------------------------------------------------------------
# Field types: the limits and the words for them.

Unit = Annotated[float, Meta(ge=0.0, le=1.0, description=UNIT_WHAT)]
HoldSeconds = Annotated[float, Meta(ge=0.0, le=MAX_HOLD_S, description=hold_what())]
Timeout = Annotated[float, Meta(gt=0.0, le=MAX_TIMEOUT_S,
                                description=f"a number of seconds greater than 0 and at most {MAX_TIMEOUT_S:g}")]
Text = Annotated[str, Meta(description="a string")]
HelloName = Annotated[str, Meta(description=HELLO_WHAT)]
Strings = Annotated[tuple[str, ...], Meta(description="a list of strings")]
HubUrlText = Annotated[str, Meta(description=URL_WHAT)]
PolicyName = Annotated[Literal[POLICY_NAMES],  # type: ignore[valid-type]
                       Meta(description=f"one of {', '.join(map(repr, POLICY_NAMES))}")]


def _whole(low: int, high: int) -> Any:
    return Annotated[int, Meta(ge=low, le=high, description=f"a whole number between {low} and {high}")]


SessionCount = _whole(1, 1_000_000)
HistorySize = _whole(1, HISTORY_SIZE_MAX)
ComponentBytes = _whole(1, MAX_COMPONENT_BYTES_LIMIT)


# ---------------------------------------------------------------------------
# The checks a type cannot say. Each takes the typed value and the dotted key.


def _check_url(value: str, name: str) -> str:
    return parse_hub_url(value, name)


def _check_capabilities(value: tuple[str, ...], name: str) -> tuple[str, ...]:
    if len(value) > MAX_CAPABILITIES:
        raise ConfigError(f"{name} may have at most {MAX_CAPABILITIES} entries, got {len(value)}")
    return tuple(parse_hello_name(v, f"{name}[{i}]") for i, v in enumerate(value))


def _check_reporters(ids: tuple[str, ...], name: str) -> tuple[str, ...]:
    if len(ids) > MAX_TRUSTED_REPORTERS:
        raise ConfigError(f"{name} may list at most {MAX_TRUSTED_REPORTERS} trainer ids, got {len(ids)}")
    for item in ids:
        if not AI_ID.fullmatch(item):
            raise ConfigError(f"{name}: {item!r} is not a trainer id (1-64 characters of A-Z a-z 0-9 _ . -)")
    return tuple(dict.fromkeys(ids))


def _check_command(argv: tuple[str, ...], name: str) -> tuple[str, ...]:
    if argv and not argv[0]:
        raise ConfigError(f"{name} must start with a program name, got an empty string")
    return argv


def _str_list(value: Any, name: str) -> tuple[str, ...]:
    return _typed(value, Strings, name)


def _check_complements(value: Any, name: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a table, got {value!r}")
    table: dict[str, tuple[str, ...]] = {}
    for key, partners in value.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"{name} has an empty specialization name")
        table[key] = _str_list(partners, f"{name}.{key}")
    return table


def _check_keys(value: Any, name: str) -> dict[str, str]:
    """Binding id -> key(s). A list of keys is stored Textual-style, comma-joined."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be a table, got {value!r}")
    table: dict[str, str] = {}
    for binding, keys in value.items():
        key_name = f"{name}.{binding}"
        if isinstance(keys, (list, tuple)):
            keys = ",".join(_str_list(keys, key_name))
        if not isinstance(keys, str):
            raise ConfigError(f"{key_name} must be a key or a list of keys, got {keys!r}")
        parts = [part.strip() for part in keys.split(",")]
        if not all(parts):
            raise ConfigError(f"{key_name} must name at least one key, got {keys!r}")
        table[binding] = ",".join(parts)
    return table


# ---------------------------------------------------------------------------
# Checking one value against a declared field.


def _describe(tp: Any) -> str:
    for meta in getattr(tp, "__metadata__", ()):
        if isinstance(meta, Meta) and meta.description:
            return meta.description
    return f"a {getattr(tp, '__name__', tp)}"


def _typed(value: Any, tp: Any, name: str) -> Any:
    """*value* as the declared type *tp* (ints become floats, lists tuples) or ConfigError."""
    try:
        return msgspec.convert(value, tp)
    except msgspec.ValidationError:
        raise ConfigError(f"{name} must be {_describe(tp)}, got {value!r}") from None


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A config section: every field checked (type, limits, then its rule) on construction."""

    _name: ClassVar[str] = ""
    _rules: ClassVar[dict[str, Check]] = {}   # raw value -> checked value, instead of the type
    _after: ClassVar[dict[str, Check]] = {}   # typed value -> checked value

    @classmethod
    def check_value(cls, key: str, value: Any, where: str | None = None) -> Any:
        """*value* for field *key*, checked and normalized; ConfigError names ``section.key``."""
        where = where or f"{cls._name}.{key}"
        rule = cls._rules.get(key)
        if rule is not None:
            return rule(value, where)
        value = _typed(value, _types(cls)[key], where)
        after = cls._after.get(key)
        return after(value, where) if after is not None else value

    def __post_init__(self) -> None:
        for key in self.__struct_fields__:
            msgspec.structs.force_setattr(self, key, self.check_value(key, getattr(self, key)))


_TYPES: dict[type, dict[str, Any]] = {}


def _types(cls: type) -> dict[str, Any]:
    types = _TYPES.get(cls)
    if types is None:
        types = _TYPES[cls] = {f.name: f.type for f in msgspec.structs.fields(cls)}
    return types


class TrainerSettings(_Section, frozen=True):
    specialization: HelloName = "general"
    capabilities: Strings = ()

    _name = "trainer"
    _after = {"specialization": parse_hello_name, "capabilities": _check_capabilities}


class HubSettings(_Section, frozen=True):
    url: HubUrlText = "ws://127.0.0.1:6000/"
    token_env: Text = "COLLAB_HUB_TOKEN"  # env var holding the token; "" = unused
    token_file: Text = ""  # file whose first line is the token; "" = unused
    token: Text = ""  # the literal token (discouraged in a file); "" = unused

    _name = "hub"
    _after = {"url": _check_url}


class ReputationSettings(_Section, frozen=True):
    trust_threshold: Unit = 0.5
    alpha: Unit = 0.3
    policy: PolicyName = "shared"
    max_active_sessions: SessionCount = 3
    history_size: HistorySize = 50
    trusted_reporters: Strings = ()   # pinned witnesses (like EigenTrust's pre-trusted peers)

    _name = "reputation"
    _after = {"trusted_reporters": _check_reporters}


class DecisionsSettings(_Section, frozen=True):
    hold_s: HoldSeconds = 0.0

    _name = "decisions"


class ProducerSettings(_Section, frozen=True):
    command: Strings = ()  # () = the built-in producer
    timeout_s: Timeout = 30.0

    _name = "producer"
    _after = {"command": _check_command}


class ValidatorSettings(_Section, frozen=True):
    command: Strings = ()  # () = no external validator
    timeout_s: Timeout = 10.0
    max_component_bytes: ComponentBytes = 262144

    _name = "validator"
    _after = {"command": _check_command}


class UISettings(_Section, frozen=True):
    theme: Text = "collab-dark"

    _name = "ui"


class TrainerConfig(_Section, frozen=True):
    """The whole configuration: sections (structs) and two free-form tables."""

    trainer: TrainerSettings = msgspec.field(default_factory=TrainerSettings)
    hub: HubSettings = msgspec.field(default_factory=HubSettings)
    reputation: ReputationSettings = msgspec.field(default_factory=ReputationSettings)
    decisions: DecisionsSettings = msgspec.field(default_factory=DecisionsSettings)
    # specialization -> the specializations it complements. Missing entries fall
    # back to the core's default rule (different ones complement; "general" all).
    complements: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    producer: ProducerSettings = msgspec.field(default_factory=ProducerSettings)
    validator: ValidatorSettings = msgspec.field(default_factory=ValidatorSettings)
    ui: UISettings = msgspec.field(default_factory=UISettings)
    keys: dict[str, str] = msgspec.field(default_factory=dict)  # binding id -> "key[,key...]"

    _rules = {"complements": _check_complements, "keys": _check_keys}

    @classmethod
    def check_value(cls, key: str, value: Any, where: str | None = None) -> Any:
        section = SECTIONS.get(key)
        if section is not None and not isinstance(value, section):
            raise ConfigError(f"{key} must be a {section.__name__}, got {value!r}")
        return value if section is not None else super().check_value(key, value, where or key)

    def replace(self, **changes: Any) -> "TrainerConfig":
        """A copy with some settings changed, checked like everything else.

        Each keyword names a section and gives a mapping of its fields to change
        (``config.replace(reputation={"alpha": 0.4}, decisions={"hold_s": 2})``), or a
        whole section struct, or a table's new value (``complements``, ``keys``).
        """
        new: dict[str, Any] = {}
        for name, change in changes.items():
            section = SECTIONS.get(name)
            if section is None and name not in self._rules:
                raise ConfigError(f"unknown config section {name!r}")
            if section is None or isinstance(change, section):
                new[name] = change
                continue
            if not isinstance(change, Mapping):
                raise ConfigError(f"{name} changes must be a mapping of its keys, got {change!r}")
            unknown = set(change) - set(section.__struct_fields__)
            if unknown:
                raise ConfigError(f"unknown key {name}.{sorted(unknown)[0]}")
            new[name] = msgspec.structs.replace(getattr(self, name), **change)
        return msgspec.structs.replace(self, **new)


SECTIONS: dict[str, type[_Section]] = {
    "trainer": TrainerSettings,
    "hub": HubSettings,
    "reputation": ReputationSettings,
    "decisions": DecisionsSettings,
    "producer": ProducerSettings,
    "validator": ValidatorSettings,
    "ui": UISettings,
}
TABLES = tuple(TrainerConfig._rules)


# ---------------------------------------------------------------------------
# dict <-> config


def config_to_dict(config: TrainerConfig) -> dict[str, Any]:
    """The TOML document for *config* (all keys; ``hub.token`` only if set)."""
    doc: dict[str, Any] = msgspec.to_builtins(config)
    if not doc["hub"]["token"]:
        del doc["hub"]["token"]
    return doc


def config_from_dict(doc: Mapping[str, Any]) -> tuple[TrainerConfig, list[str]]:
    """Build a config from a parsed TOML document.

    Returns ``(config, problems)``; each problem names its dotted key, every bad key is
    named. With any problem the returned config is the default one.
    """
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    for name, value in doc.items():
        if name in TABLES:
            try:
                kwargs[name] = TrainerConfig.check_value(name, value)
            except ConfigError as exc:
                problems.append(str(exc))
            continue
        cls = SECTIONS.get(name)
        if cls is None:
            problems.append(f"{name}: unknown section (known: {', '.join([*SECTIONS, *TABLES])})")
            continue
        if not isinstance(value, Mapping):
            problems.append(f"{name} must be a table, got {value!r}")
            continue
        values: dict[str, Any] = {}
        for key, item in value.items():
            if key not in cls.__struct_fields__:
                problems.append(f"{name}.{key}: unknown key (known: {', '.join(cls.__struct_fields__)})")
                continue
            try:
                values[key] = cls.check_value(key, item)
            except ConfigError as exc:
                problems.append(str(exc))
        if not problems:
            kwargs[name] = msgspec.convert(values, cls)
    if problems:
        return TrainerConfig(), problems
    return TrainerConfig(**kwargs), []
