"""Hub settings: a typed HubConfig built from keyword arguments (embedded use), or
from collab_hub.toml + environment + command-line flags (``collab-hub``).

Every problem is a ConfigError whose message names the key or flag, e.g.
``hub.toml: limits.rate_per_s: must be a number > 0, got -3``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .protocol import AI_ID_RE, RESERVED_IDS, fold

TOKEN_ENV = "COLLAB_HUB_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6000
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
BROKER_SCHEMES = ("redis", "rediss", "unix")
PREFIX_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class ConfigError(ValueError):
    """A bad setting. ``str(err)`` is one line naming the key and the problem."""


def _check_int(key: str, value: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ConfigError(f"{key}: must be {bound}, got {value}")
    return value


def _check_number(key: str, value: Any, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: must be a number, got {value!r}")
    if not math.isfinite(value) or (positive and value <= 0):
        raise ConfigError(f"{key}: must be a finite number > 0, got {value!r}")
    return float(value)


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


@dataclass(frozen=True)
class Limits:
    """Per-hub limits, each with PROTOCOL.md's default (``[limits]`` in hub.toml)."""

    max_message_bytes: int = 1024 * 1024  # larger incoming message -> close 1009
    rate_per_s: float = 100.0  # token bucket refill, frames per second per connection
    rate_burst: int = 200  # token bucket size
    flood_close_s: float = 5.0  # still flooding this long after the first rate_limited -> 4429
    outbound_queue: int = 1000  # frames queued for one receiver before it is closed 1013
    outbound_queue_bytes: int = 16 * 1024 * 1024  # bytes queued for one receiver before it is closed 1013
    queues_total_bytes: int = 256 * 1024 * 1024  # bytes queued for all receivers together; over it, the largest queue is closed 1013
    max_connections: int = 1000  # further handshakes get HTTP 503
    max_connections_per_credential: int = 32  # per per-id token, or per shared token and IP address; over it HTTP 503
    max_unjoined_per_credential: int = 8  # of those, connections that have not joined yet; over it HTTP 503
    refusal_log_interval_s: float = 10.0  # refused handshakes are logged as one summary line per interval
    hello_timeout_s: float = 10.0  # no accepted HELLO by then -> close 4408
    close_timeout_s: float = 2.0  # how long a closing handshake may take before the TCP connection is dropped
    ping_interval_s: float = 20.0  # websocket keepalive ping interval (0 disables)

    def __post_init__(self) -> None:
        _check_int("limits.max_message_bytes", self.max_message_bytes, 256, 64 * 1024 * 1024)
        _check_number("limits.rate_per_s", self.rate_per_s)
        _check_int("limits.rate_burst", self.rate_burst, 1)
        _check_number("limits.flood_close_s", self.flood_close_s)
        _check_int("limits.outbound_queue", self.outbound_queue, 1)
        _check_int("limits.outbound_queue_bytes", self.outbound_queue_bytes, 1024)
        _check_int("limits.queues_total_bytes", self.queues_total_bytes, 1024)
        if self.queues_total_bytes < self.outbound_queue_bytes:
            raise ConfigError(
                f"limits.queues_total_bytes: must be >= limits.outbound_queue_bytes ({self.outbound_queue_bytes}), "
                f"got {self.queues_total_bytes}"
            )
        _check_int("limits.max_connections", self.max_connections, 1)
        _check_int("limits.max_connections_per_credential", self.max_connections_per_credential, 1)
        _check_int("limits.max_unjoined_per_credential", self.max_unjoined_per_credential, 1)
        if self.max_unjoined_per_credential > self.max_connections_per_credential:
            raise ConfigError(
                "limits.max_unjoined_per_credential: must be <= limits.max_connections_per_credential "
                f"({self.max_connections_per_credential}), got {self.max_unjoined_per_credential}"
            )
        _check_number("limits.refusal_log_interval_s", self.refusal_log_interval_s)
        _check_number("limits.hello_timeout_s", self.hello_timeout_s)
        _check_number("limits.close_timeout_s", self.close_timeout_s)
        v = _check_number("limits.ping_interval_s", self.ping_interval_s, positive=False)
        if v < 0:
            raise ConfigError(f"limits.ping_interval_s: must be >= 0 (0 disables keepalive pings), got {v}")


def check_broker_url(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: must be a non-empty string such as redis://127.0.0.1:6379/0, got {value!r}")
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(f"{key}: must be a redis://HOST:PORT/DB, rediss://... or unix://... URL, got {value!r}")
    return value


@dataclass(frozen=True)
class BrokerConfig:
    """Where presence and routing live (``[broker]`` in hub.toml).

    ``url = None`` (the default) is the in-process broker: one hub, nothing shared.
    A ``redis://HOST:PORT/DB`` URL joins this hub to every other hub using the same
    Redis database and ``prefix``: one network.
    """

    url: str | None = None  # --broker; None = in-process broker
    presence_ttl_s: float = 10.0  # a hub refreshes its trainers' claims every ttl/3; a dead hub's trainers leave after ttl + <= 1 s
    prefix: str = "collab"  # Redis key and channel prefix: hubs sharing a prefix form one network
    retry_max_s: float = 5.0  # longest wait between reconnection attempts (backoff starts at 0.1 s)

    def __post_init__(self) -> None:
        if self.url is not None:
            check_broker_url("broker.url", self.url)
        ttl = _check_number("broker.presence_ttl_s", self.presence_ttl_s)
        if not 0.5 <= ttl <= 3600:
            raise ConfigError(f"broker.presence_ttl_s: must be between 0.5 and 3600, got {ttl:g}")
        if not isinstance(self.prefix, str) or not PREFIX_RE.fullmatch(self.prefix):
            raise ConfigError(f"broker.prefix: must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', ':', '-', got {self.prefix!r}")
        _check_number("broker.retry_max_s", self.retry_max_s)


@dataclass(frozen=True)
class HubConfig:
    """Everything the hub needs. Construct it in code with keyword arguments::

        HubConfig(port=0, shared_token="dev", tokens={"alice": "s3cret"},
                  limits=Limits(hello_timeout_s=1))

    ``port=0`` binds an ephemeral port (read it back from ``Hub.port``). With neither
    ``shared_token`` nor ``tokens``, the hub generates a random shared token at start.
    ``limits`` may also be given as a mapping of Limits fields.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    shared_token: str | None = None
    tokens: Mapping[str, str] = field(default_factory=dict)  # trainer id -> its own token
    limits: Limits = field(default_factory=Limits)
    log_level: str = "INFO"
    broker: BrokerConfig = field(default_factory=BrokerConfig)  # [broker]; url None = in-process

    def __post_init__(self) -> None:
        if isinstance(self.broker, Mapping):
            object.__setattr__(self, "broker", broker_from_mapping(self.broker, "broker"))
        elif not isinstance(self.broker, BrokerConfig):
            raise ConfigError(f"broker: must be a BrokerConfig or a table, got {self.broker!r}")
        if isinstance(self.limits, Mapping):
            object.__setattr__(self, "limits", limits_from_mapping(self.limits, "limits"))
        elif not isinstance(self.limits, Limits):
            raise ConfigError(f"limits: must be a Limits or a table, got {self.limits!r}")
        if not isinstance(self.host, str) or not self.host:
            raise ConfigError(f"hub.host: must be a non-empty string, got {self.host!r}")
        _check_int("hub.port", self.port, 0, 65535)
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
        object.__setattr__(self, "tokens", dict(self.tokens))
        if not isinstance(self.log_level, str) or self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"hub.log_level: must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        object.__setattr__(self, "log_level", self.log_level.upper())

    @property
    def has_tokens(self) -> bool:
        return self.shared_token is not None or bool(self.tokens)

    def replace(self, **changes: Any) -> HubConfig:
        return dataclasses.replace(self, **changes)


_LIMIT_FIELDS = {f.name for f in dataclasses.fields(Limits)}


def limits_from_mapping(table: Mapping[str, Any], prefix: str = "limits") -> Limits:
    for key in table:
        if key not in _LIMIT_FIELDS:
            raise ConfigError(f"{prefix}.{key}: unknown key (known: {', '.join(sorted(_LIMIT_FIELDS))})")
    return Limits(**table)


_BROKER_FIELDS = {f.name for f in dataclasses.fields(BrokerConfig)}


def broker_from_mapping(table: Mapping[str, Any], prefix: str = "broker") -> BrokerConfig:
    for key in table:
        if key not in _BROKER_FIELDS:
            raise ConfigError(f"{prefix}.{key}: unknown key (known: {', '.join(sorted(_BROKER_FIELDS))})")
    return BrokerConfig(**table)


_SECTIONS = {"hub": {"host", "port", "log_level"}, "auth": {"shared_token", "tokens"}, "limits": _LIMIT_FIELDS, "broker": _BROKER_FIELDS}


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


def config_from_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """hub.toml's tables -> HubConfig keyword arguments (validated on construction)."""
    kwargs: dict[str, Any] = {}
    for section, value in table.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{section}: unknown section (known: {', '.join(_SECTIONS)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{section}: must be a table, got {value!r}")
        for key in value:
            if key not in _SECTIONS[section]:
                known = ", ".join(sorted(_SECTIONS[section]))
                raise ConfigError(f"{section}.{key}: unknown key (known: {known})")
    hub = table.get("hub", {})
    for key in ("host", "port", "log_level"):
        if key in hub:
            kwargs[key] = hub[key]
    auth = table.get("auth", {})
    if "shared_token" in auth:
        kwargs["shared_token"] = check_token("auth.shared_token", auth["shared_token"])
    if "tokens" in auth:
        if not isinstance(auth["tokens"], dict):
            raise ConfigError(f"auth.tokens: must be a table of id = \"token\", got {auth['tokens']!r}")
        kwargs["tokens"] = auth["tokens"]
    if "limits" in table:
        kwargs["limits"] = limits_from_mapping(table["limits"])
    if "broker" in table:
        kwargs["broker"] = broker_from_mapping(table["broker"])
    return kwargs


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
        except TypeError as exc:  # defensive: should be unreachable after key checks
            raise ConfigError(f"{Path(path).name}: {exc}") from None
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
        kwargs["broker"] = dataclasses.replace(kwargs.get("broker", BrokerConfig()), url=url)
    return HubConfig(**kwargs)
