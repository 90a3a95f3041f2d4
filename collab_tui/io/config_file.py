"""The one owner of the config file while a trainer runs.

The runner (threshold, alpha, hold) and the TUI (theme) both change settings;
both go through one ``ConfigFile`` so neither write undoes the other's.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Callable

from .config import TrainerConfig, load_config, save_config

log = logging.getLogger(__name__)


class ConfigFile:
    """Changes apply in memory at once; the file is written after them.

    With ``debounce_s`` 0 (the default) each ``update`` writes the file before it returns.
    With ``debounce_s`` > 0 and a running event loop (the TUI), writes wait until changes
    have stopped for that long and then run in a worker thread, never on the event loop:
    fourteen ``+`` presses are one write. ``flush()`` writes what is pending now (on quit).
    """

    def __init__(self, config: TrainerConfig, path: Path | None, debounce_s: float = 0.0) -> None:
        self.config = config
        self.path = path
        self.debounce_s = debounce_s
        self.last_error: str | None = None
        self.writes = 0
        self._pending: list[Callable[[TrainerConfig], TrainerConfig]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._lock = threading.Lock()       # one write at a time, whichever thread runs it
        self._flushing: asyncio.Task | None = None

    def update(self, change: Callable[[TrainerConfig], TrainerConfig]) -> TrainerConfig:
        """Apply ``change`` to the config in force and save it (atomically, maybe a little later).

        ``change`` may raise ``ConfigError`` for a bad value: nothing is changed then.
        A failed write keeps the new settings in force and records the error.
        """
        new = change(self.config)
        self.config = new
        if self.path is None:
            return new
        self._pending.append(change)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self.debounce_s <= 0:
            self._write(self._take())
            return new
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(self.debounce_s, self._write_soon)
        return new

    @property
    def pending(self) -> bool:
        return bool(self._pending) or self._flushing is not None

    def _take(self) -> list[Callable[[TrainerConfig], TrainerConfig]]:
        changes, self._pending = self._pending, []
        return changes

    def _write_soon(self) -> None:
        self._timer = None
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush_in_thread())

    async def _flush_in_thread(self) -> None:
        try:
            while self._pending:
                await asyncio.to_thread(self._write, self._take())
        finally:
            self._flushing = None

    async def flush(self) -> None:
        """Write every pending change now (off the event loop); returns once it is on disk."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing is not None:
            await asyncio.shield(self._flushing)
        if self._pending:
            self._flushing = asyncio.ensure_future(self._flush_in_thread())
            await asyncio.shield(self._flushing)

    def _write(self, changes: list[Callable[[TrainerConfig], TrainerConfig]]) -> None:
        if not changes or self.path is None:
            return
        with self._lock:
            base = self.config
            if self.path.exists():
                # Another writer (the TUI saving a theme) may have changed other keys: keep them.
                loaded = load_config(self.path)
                if not loaded.problems:
                    base = loaded.config
                    for change in changes:
                        base = change(base)
            try:
                save_config(base, self.path)
                self.last_error = None
                self.writes += 1
            except OSError as exc:
                self.last_error = f"could not save {self.path}: {exc.strerror or exc}"
                log.error("%s", self.last_error)
