"""Hub URLs: ``ws://`` / ``wss://`` with a host, normalized; nothing else."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .values import ConfigError

__all__ = ["HubURL", "hub_url_parts", "parse_hub_url"]

URL_WHAT = "a ws:// or wss:// URL with a host, like ws://127.0.0.1:6000/"


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
    what = URL_WHAT
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
