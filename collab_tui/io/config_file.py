"""The one owner of the config file while a trainer runs.

The runner (threshold, alpha, hold) and the TUI (theme) both change settings;
both go through one ``ConfigFile`` so neither write undoes the other's.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from .config import TrainerConfig, load_config, save_config

log = logging.getLogger(__name__)


class ConfigFile:
    def __init__(self, config: TrainerConfig, path: Path | None) -> None:
        self.config = config
        self.path = path
        self.last_error: str | None = None

    def update(self, change: Callable[[TrainerConfig], TrainerConfig]) -> TrainerConfig:
        """Apply ``change`` to the config in force and save it (atomically).

        ``change`` may raise ``ConfigError`` for a bad value: nothing is changed then.
        A failed write keeps the new settings in force and records the error.
        """
        base = self.config
        if self.path is not None and self.path.exists():
            # Another writer (the TUI saving a theme) may have changed other keys: keep them.
            loaded = load_config(self.path)
            if not loaded.problems:
                base = loaded.config
        new = change(base)
        self.config = new
        if self.path is not None:
            try:
                save_config(new, self.path)
                self.last_error = None
            except OSError as exc:
                self.last_error = f"could not save {self.path}: {exc.strerror or exc}"
                log.error("%s", self.last_error)
        return new
