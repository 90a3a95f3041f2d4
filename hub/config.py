"""Hub settings, declared once: msgspec Structs whose fields carry their types and
bounds (``Meta(ge=, le=)``), built from keyword arguments (embedded use) or from
hub.toml + environment + command-line flags (``collab-hub``).

Every problem is a ConfigError whose message names the key or flag, e.g.
``hub.toml: limits.rate_per_s: must be a finite number > 0, got -3``: the declared
type and bounds of the field say what it must be.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, Mapping

import msgspec
import msgspec.inspect as mi
from msgspec import Meta

from .protocol import AI_ID_RE, RESERVED_IDS, fold

TOKEN_ENV = "COLLAB_HUB_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6000
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
BROKER_SCHEMES = ("redis", "rediss", "unix")
PREFIX_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

Positive = Annotated[float, Meta(gt=0)]
AtLeastOne = Annotated[int, Meta(ge=1)]
Bytes = Annotated[int, Meta(ge=1024)]
Host = Annotated[str, Meta(min_length=1, description="a non-empty string")]
Port = Annotated[int, Meta(ge=0, le=65535)]


class ConfigError(ValueError):
    """A bad setting. ``str(err)`` is one line naming the key and the problem."""


class _Schema(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A settings table: its fields are checked against their declared types and
    bounds when it is constructed in code as well as when it is read from a file."""

    _section = ""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, msgspec.Struct):
                continue  # checked when it was built
            try:
                msgspec.convert(value, hints[name], strict=True)
            except msgspec.ValidationError:
                raise ConfigError(f"{self._section}.{name}: {_problem(_field_type(type(self), name), value)}") from None
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{self._section}.{name}: {_problem(_field_type(type(self), name), value)}")


class Limits(_Schema, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-hub limits, each with PROTOCOL.md's default (``[limits]`` in hub.toml)."""

    _section = "limits"

    max_message_bytes: Annotated[int, Meta(ge=256, le=64 * 1024 * 1024)] = 1024 * 1024  # larger incoming message -> close 1009
    rate_per_s: Positive = 100.0  # token bucket refill, frames per second per connection
    rate_burst: AtLeastOne = 200  # token bucket size
    flood_close_s: Positive = 5.0  # still flooding this long after the first rate_limited -> 4429
    outbound_queue: AtLeastOne = 1000  # frames queued for one receiver before it is closed 1013
    outbound_queue_bytes: Bytes = 16 * 1024 * 1024  # bytes queued for one receiver before it is closed 1013
    queues_total_bytes: Bytes = 256 * 1024 * 1024  # bytes queued for all receivers together; over it, the largest queue is closed 1013
    max_connections: AtLeastOne = 1000  # further handshakes get HTTP 503
    max_connections_per_credential: AtLeastOne = 32  # per per-id token, or per shared token and IP address; over it HTTP 503
    max_unjoined_per_credential: AtLeastOne = 8  # of those, connections that have not joined yet; over it HTTP 503
    refusal_log_interval_s: Positive = 10.0  # refused handshakes are logged as one summary line per interval
    hello_timeout_s: Positive = 10.0  # no accepted HELLO by then -> close 4408
    close_timeout_s: Positive = 2.0  # how long a closing handshake may take before the TCP connection is dropped
    ping_interval_s: Annotated[float, Meta(ge=0, description="0 disables keepalive pings")] = 20.0  # websocket keepalive ping interval

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.queues_total_bytes < self.outbound_queue_bytes:
            raise ConfigError(
                f"limits.queues_total_bytes: must be >= limits.outbound_queue_bytes ({self.outbound_queue_bytes}), "
                f"got {self.queues_total_bytes}"
            )
        if self.max_unjoined_per_credential > self.max_connections_per_credential:
            raise ConfigError(
                "limits.max_unjoined_per_credential: must be <= limits.max_connections_per_credential "
                f"({self.max_connections_per_credential}), got {self.max_unjoined_per_credential}"
            )


def check_broker_url(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: must be a non-empty string such as redis://127.0.0.1:6379/0, got {value!r}")
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(f"{key}: must be a redis://HOST:PORT/DB, rediss://... or unix://... URL, got {value!r}")
    return value


class BrokerConfig(_Schema, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where presence and routing live (``[broker]`` in hub.toml).

    ``url = None`` (the default) is the in-process broker: one hub, nothing shared.
    A ``redis://HOST:PORT/DB`` URL joins this hub to every other hub using the same
    Redis database and ``prefix``: one network.
    """

    _section = "broker"

    url: Annotated[str, Meta(description="a non-empty string such as redis://127.0.0.1:6379/0")] | None = None  # --broker; None = in-process broker
    presence_ttl_s: Annotated[float, Meta(ge=0.5, le=3600)] = 10.0  # a hub refreshes its trainers' claims every ttl/3; a dead hub's trainers leave after ttl + <= 1 s
    prefix: Annotated[str, Meta(pattern=PREFIX_RE.pattern.join("^$"), description="1-64 characters of A-Z, a-z, 0-9, '_', '.', ':', '-'")] = "collab"  # Redis key and channel prefix: hubs sharing a prefix form one network
    retry_max_s: Positive = 5.0  # longest wait between reconnection attempts (backoff starts at 0.1 s)

    def __post_init__(self) -> None:
        if self.url is not None:
            check_broker_url("broker.url", self.url)
        super().__post_init__()


def check_token(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: must be a string, got {value!r}")
    if not value:
        raise ConfigError(f"{key}: must not be empty")
    if len(value) > 4096:
        raise ConfigError(f"{key}: must be at most 4096 characters")
    if any(not (0x21 <= ord(c) <= 0x7E) for c in value):
        raise ConfigError(f"{key}: must be printable ASCII without spaces (it travels in an HTTP header)")
    return value


class HubConfig(_Schema, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the hub needs. Construct it in code with keyword arguments::

        HubConfig(port=0, shared_token="dev", tokens={"alice": "s3cret"},
                  limits=Limits(hello_timeout_s=1))

    ``port=0`` binds an ephemeral port (read it back from ``Hub.port``). With neither
    ``shared_token`` nor ``tokens``, the hub generates a random shared token at start.
    ``limits`` and ``broker`` may also be given as mappings of their fields.
    """

    _section = "hub"

    host: Host = DEFAULT_HOST
    port: Port = DEFAULT_PORT
    shared_token: str | None = None
    tokens: dict[str, str] = msgspec.field(default_factory=dict)  # trainer id -> its own token
    limits: Limits = msgspec.field(default_factory=Limits)
    log_level: str = "INFO"
    broker: BrokerConfig = msgspec.field(default_factory=BrokerConfig)  # [broker]; url None = in-process

    def __post_init__(self) -> None:
        for name, schema in (("broker", BrokerConfig), ("limits", Limits)):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                msgspec.structs.force_setattr(self, name, _convert(dict(value), schema, name))
            elif not isinstance(value, schema):
                raise ConfigError(f"{name}: must be a {schema.__name__} or a table, got {value!r}")
        if self.shared_token is not None:
            check_token("auth.shared_token", self.shared_token)
        if not isinstance(self.tokens, Mapping):
            raise ConfigError(f"auth.tokens: must be a table of id = token, got {self.tokens!r}")
        seen: dict[str, str] = {}
        for ai_id, token in self.tokens.items():
            if not isinstance(ai_id, str) or not AI_ID_RE.fullmatch(ai_id):
                raise ConfigError(f"auth.tokens.{ai_id}: the id must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'")
            if fold(ai_id) in RESERVED_IDS:
                raise ConfigError(f"auth.tokens.{ai_id}: the id is reserved (ids are compared case-insensitively)")
            if fold(ai_id) in seen:
                raise ConfigError(f"auth.tokens.{ai_id}: the same id as auth.tokens.{seen[fold(ai_id)]} (ids are compared case-insensitively)")
            seen[fold(ai_id)] = ai_id
            check_token(f"auth.tokens.{ai_id}", token)
        msgspec.structs.force_setattr(self, "tokens", dict(self.tokens))
        super().__post_init__()
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"hub.log_level: must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        msgspec.structs.force_setattr(self, "log_level", self.log_level.upper())

    @property
    def has_tokens(self) -> bool:
        return self.shared_token is not None or bool(self.tokens)

    def replace(self, **changes: Any) -> HubConfig:
        return msgspec.structs.replace(self, **changes)


# hub.toml's shape: [hub], [auth] (+ [auth.tokens]), [limits], [broker].
class _HubTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    host: Host | msgspec.UnsetType = msgspec.UNSET
    port: Port | msgspec.UnsetType = msgspec.UNSET
    log_level: str | msgspec.UnsetType = msgspec.UNSET


class _AuthTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    shared_token: str | msgspec.UnsetType = msgspec.UNSET
    tokens: dict[str, str] | msgspec.UnsetType = msgspec.UNSET


class HubFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    hub: _HubTable = msgspec.field(default_factory=_HubTable)
    auth: _AuthTable = msgspec.field(default_factory=_AuthTable)
    limits: Limits | msgspec.UnsetType = msgspec.UNSET
    broker: BrokerConfig | msgspec.UnsetType = msgspec.UNSET


def config_from_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """hub.toml's tables -> HubConfig keyword arguments (validated on construction)."""
    auth = table.get("auth")
    if isinstance(auth, dict):  # tokens: the same checks (and messages) as for the flag and the variable
        if "shared_token" in auth:
            check_token("auth.shared_token", auth["shared_token"])
        if isinstance(auth.get("tokens"), dict):
            for ai_id, token in auth["tokens"].items():
                check_token(f"auth.tokens.{ai_id}", token)
    doc = _convert(dict(table), HubFile, "")
    kwargs: dict[str, Any] = {}
    for part in (doc.hub, doc.auth, doc):
        for name in part.__struct_fields__:
            value = getattr(part, name)
            if value is not msgspec.UNSET and not isinstance(value, (_HubTable, _AuthTable)):
                kwargs[name] = value
    return kwargs


def limits_from_mapping(table: Mapping[str, Any], prefix: str = "limits") -> Limits:
    return _convert(dict(table), Limits, prefix)


def broker_from_mapping(table: Mapping[str, Any], prefix: str = "broker") -> BrokerConfig:
    return _convert(dict(table), BrokerConfig, prefix)


# -- msgspec's errors as one line naming the dotted key ----------------------------------

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>[^`]*)`")


def _convert(data: dict[str, Any], schema: type, where: str) -> Any:
    try:
        return msgspec.convert(data, schema, strict=True)
    except msgspec.ValidationError as exc:
        m = _AT.match(str(exc))
        assert m is not None
        msg, path = m["msg"], [part for part in (m["path"] or "").split(".") if part]
        keys = ([where] if where else []) + path
        unknown = _UNKNOWN.fullmatch(msg)
        if unknown is not None:
            known = [f.name for f in _struct_at(schema, path).fields]
            what = "section" if not keys else "key"
            raise ConfigError(f"{'.'.join([*keys, unknown['key']])}: unknown {what} (known: {', '.join(sorted(known) if keys else known)})") from None
        if not msg.startswith("Expected "):
            raise ConfigError(msg) from None  # raised by a __post_init__: already names its key
        value: Any = data
        try:
            for part in path:
                value = value[part]
        except (KeyError, TypeError):  # a path msgspec does not spell out (a map's key)
            raise ConfigError(f"{'.'.join(keys)}: {msg}") from None
        raise ConfigError(f"{'.'.join(keys)}: {_problem(_type_at(schema, path), value)}") from None


@functools.cache
def _hints(schema: type) -> dict[str, Any]:
    return typing.get_type_hints(schema, include_extras=True)


@functools.cache
def _field_type(schema: type, name: str) -> mi.Type:
    return next(f.type for f in mi.type_info(schema).fields if f.name == name)


def _unwrap(t: mi.Type) -> tuple[mi.Type, str | None]:
    """The type without None/UNSET alternatives, and its description if declared."""
    if isinstance(t, mi.UnionType):
        t = next(x for x in t.types if not isinstance(x, mi.NoneType))
    if isinstance(t, mi.Metadata):
        return t.type, (t.extra_json_schema or {}).get("description")
    return t, None


def _struct_at(schema: type, path: list[str]) -> mi.StructType:
    t = _unwrap(_type_at(schema, path))[0]
    assert isinstance(t, mi.StructType)
    return t


def _type_at(schema: type, path: list[str]) -> mi.Type:
    t: mi.Type = mi.type_info(schema)
    for part in path:
        t = _unwrap(t)[0]
        t = next(f.type for f in t.fields if f.name == part) if isinstance(t, mi.StructType) else t.value_type
    return t


def _problem(declared: mi.Type, value: Any) -> str:
    """What a value of ``declared`` must be, and what it was."""
    t, description = _unwrap(declared)
    if isinstance(t, (mi.StructType, mi.DictType)):
        return f"must be a table, got {value!r}"
    if isinstance(t, mi.StrType):
        if description:
            return f"must be {description}, got {value!r}"
        return f"must be a string, got {value!r}"
    if isinstance(t, mi.IntType):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, got {value!r}"
        return f"must be {_bounds(t, description)}, got {value}"
    if isinstance(t, mi.FloatType):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, got {value!r}"
        if t.gt == 0 and t.le is None:
            return f"must be a finite number > 0, got {value!r}"
        return f"must be {_bounds(t, description)}, got {_num(value)}"
    return f"must be a {type(t).__name__.removesuffix('Type').lower()}, got {value!r}"


def _bounds(t: mi.IntType | mi.FloatType, description: str | None) -> str:
    note = f" ({description})" if description else ""
    if t.ge is not None and t.le is not None:
        return f"between {_num(t.ge)} and {_num(t.le)}{note}"
    if t.ge is not None:
        return f">= {_num(t.ge)}{note}"
    return f"> {_num(t.gt)}{note}"


def _num(x: float) -> str:
    return str(int(x)) if math.isfinite(x) and float(x).is_integer() else f"{x:g}"


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"cannot read config file {str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"cannot read config file {str(path)!r}: it is a directory") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {str(path)!r} is not valid UTF-8 TOML") from None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
    log_level: str | None = None,
    broker: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> HubConfig:
    """Defaults < hub.toml < environment (COLLAB_HUB_TOKEN) < flags.

    ``broker`` (``--broker``) overrides ``[broker] url``.

    ``token`` (``--token``) and ``COLLAB_HUB_TOKEN`` set the shared token; per-id
    tokens come only from ``[auth.tokens]``. Errors from the file are prefixed with
    its name.
    """
    environ = os.environ if environ is None else environ
    kwargs: dict[str, Any] = {}
    if path is not None:
        try:
            kwargs = config_from_table(read_toml(path))
            HubConfig(**kwargs)
        except ConfigError as exc:
            msg = str(exc)
            raise ConfigError(msg if msg.startswith(("cannot read", "config file")) else f"{Path(path).name}: {msg}") from None
    env_token = environ.get(TOKEN_ENV)
    if env_token is not None and env_token != "":
        kwargs["shared_token"] = check_token(TOKEN_ENV, env_token)
    if token is not None:
        kwargs["shared_token"] = check_token("--token", token)
    if host is not None:
        if not host:
            raise ConfigError("--host: must not be empty")
        kwargs["host"] = host
    if port is not None:
        if not 0 <= port <= 65535:
            raise ConfigError(f"--port: must be between 0 and 65535, got {port}")
        kwargs["port"] = port
    if log_level is not None:
        if log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"--log-level: must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
        kwargs["log_level"] = log_level
    if broker is not None:
        url = check_broker_url("--broker", broker)
        kwargs["broker"] = msgspec.structs.replace(kwargs.get("broker", BrokerConfig()), url=url)
    return HubConfig(**kwargs)
