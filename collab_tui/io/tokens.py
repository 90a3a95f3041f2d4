"""Where the hub token comes from: the command line, the config, the environment or a file."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from .settings import TrainerConfig
from .values import ConfigError

__all__ = ["resolve_token"]


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
