"""``CollabApp``: the Textual shell over a ``TrainerRunner``.

The app starts the runner on mount (unless it is already running), subscribes to its
event batches, and stops it (state saved) on quit. Themes come from theme files; the
chosen one and the live settings are written back to the config file.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import signal
from pathlib import Path
from typing import Any, Callable, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ..core import events as ev
from ..io.config import TrainerConfig
from ..io.config_file import ConfigFile
from ..io.exit_watchdog import EXIT_WATCHDOG_S, arm_exit_watchdog
from . import keys
from .main_screen import MainScreen
from .messages import SettingsChanged
from .themes import DEFAULT_THEME, load_themes, user_theme_dir

log = logging.getLogger(__name__)

#: Settings and theme changes are written once they have stopped for this long.
CONFIG_SAVE_DEBOUNCE_S = 0.4


class CollabApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "collab-tui"
    BINDINGS = [
        keys.QUIT,
        # Like htop and k9s: ctrl+c quits (state saved), instead of Textual's "press ctrl+q" hint.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, system=True),
    ]
    #: Signals that end the app the way ``q`` does: state saved, terminal restored, exit 0.
    EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

    def __init__(self, runner: Any, config: TrainerConfig | None = None,
                 config_path: str | Path | None = None, theme: str | None = None,
                 clock: Callable[[], float] | None = None,
                 theme_dirs: Iterable[Path] | None = None, problems: Iterable[str] = (),
                 handle_signals: bool = False, exit_watchdog_s: float | None = None) -> None:
        super().__init__()
        #: True when the app owns the process (``collab-tui``, the demo): SIGTERM, SIGHUP and
        #: SIGINT then quit cleanly. Off under ``run_test``, where the test owns the loop.
        self.handle_signals = handle_signals
        #: the process's own console (not a test's): once the runner has stopped, the process ends within
        #: this many seconds even if the terminal vanished mid-shutdown (``io.exit_watchdog``)
        self.exit_watchdog_s = exit_watchdog_s
        self._signals_installed: list[int] = []
        #: The signal that ended the app, if one did (for the exit message).
        self.exit_signal: str | None = None
        self.runner = runner
        self.config = config or TrainerConfig()
        self.config_path = Path(config_path) if config_path is not None else None
        self.clock = clock or runner.now
        # Problems found before the screen existed (a bad config or state file, moved aside).
        self._startup_notes: list[tuple[str, str]] = [(problem, "error") for problem in problems]
        self._collab_ready = False
        self._runner_stopped = False
        # Themes: shipped files, then the user's; bad files are reported once mounted.
        dirs = list(theme_dirs) if theme_dirs is not None else [user_theme_dir()]
        loaded = load_themes(dirs)
        for t in loaded.themes:
            self.register_theme(t)
        for problem in loaded.problems:
            self._startup_notes.append((f"{problem} — skipped", "error"))
        wanted = theme or self.config.ui.theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            self._startup_notes.append(
                (f"unknown theme {wanted!r} (available: {', '.join(sorted(self._collab_themes()))}); "
                 f"using {DEFAULT_THEME}", "error"))
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self.theme = wanted
        self.keymap: dict[str, str] = {}
        # One owner of the config file: the runner's (the CLI's) when it has one for this path.
        owner = getattr(runner, "config_file", None)
        if owner is not None and (self.config_path is None or owner.path == self.config_path):
            self.config_file: ConfigFile | None = owner
        else:
            self.config_file = ConfigFile(self.config, self.config_path) if self.config_path else None
        if self.config_file is not None:
            self.config_file.debounce_s = CONFIG_SAVE_DEBOUNCE_S
        self._reported_config_error: str | None = None
        self.main = MainScreen(runner, self.clock)

    def _collab_themes(self) -> list[str]:
        return [name for name in self.available_themes if not name.startswith("textual-")]

    def get_default_screen(self) -> Screen:
        return self.main

    # ---- lifecycle -------------------------------------------------------------
    async def on_mount(self) -> None:
        if self.handle_signals:
            self._install_signal_handlers()
        self._apply_keymap(self.config.keys)
        self.set_interval(1.0, self._report_config_error)
        for message, severity in self._startup_notes:
            self.notify(message, severity=severity, timeout=10, markup=False)
        self.runner.subscribe(self._on_runner_events)
        if not getattr(self.runner, "started", False):
            await self.runner.start()
        self._collab_ready = True
        # Everything built so far (modules, widgets, themes) lives as long as the app: move it
        # out of the collector's way, so full collections under a flood stay short.
        gc.collect()
        gc.freeze()

    def _on_runner_events(self, events: list[ev.Event]) -> None:
        self.main.queue(events)

    async def action_quit(self) -> None:
        await self.stop_runner()
        self.exit()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self.EXIT_SIGNALS:
            try:
                loop.add_signal_handler(sig, self._on_exit_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            self._signals_installed.append(sig)

    def _remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._signals_installed:
            loop.remove_signal_handler(sig)
        self._signals_installed.clear()

    def _on_exit_signal(self, sig: int) -> None:
        """SIGTERM / SIGHUP / SIGINT: quit as ``q`` does (runner stopped, state saved, terminal restored)."""
        if self.exit_signal is None:
            self.exit_signal = signal.Signals(sig).name
            log.info("%s received: quitting (state saved)", self.exit_signal)
            self.call_next(self.action_quit)

    async def on_unmount(self) -> None:
        await self.stop_runner()
        self._remove_signal_handlers()
        gc.unfreeze()  # what was frozen at mount can be collected again once the app is gone

    async def stop_runner(self) -> None:
        if self._runner_stopped:
            return
        self._runner_stopped = True
        if self.config_file is not None:
            try:
                await self.config_file.flush()   # settings changed just before quitting are kept
            except Exception:
                log.exception("writing the config file at exit failed")
        try:
            self.runner.unsubscribe(self._on_runner_events)
        except AttributeError:
            pass
        try:
            await self.runner.stop()
        except Exception:  # never lose the exit over a failing shutdown; the log says why
            log.exception("stopping the trainer runner failed")
        if self.exit_watchdog_s is not None:
            arm_exit_watchdog(self.exit_watchdog_s, self.exit_code)

    def exit_code(self) -> int:
        """The process's exit status once the runner has stopped (the exit watchdog's): the
        runner's ``exit_status``, as ``collab-tui`` returns it after a normal exit."""
        return self.runner.exit_status

    # ---- keys ------------------------------------------------------------------
    def binding_ids(self) -> set[str]:
        return keys.binding_ids()

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        known = self.binding_ids()
        unknown = sorted(set(keymap) - known)
        if unknown:
            self.notify(f"config [keys]: unknown binding id(s) {', '.join(unknown)} "
                        f"(known: {', '.join(sorted(known))})", severity="warning", timeout=10, markup=False)
        self.keymap = {k: v for k, v in keymap.items() if k in known}
        if self.keymap:
            self.set_keymap(self.keymap)
        self.main.use_keymap(self.keymap)

    # ---- palette ----------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title != "Keys":      # ours below shows every key, as mapped
                yield command
        main = self.main
        for binding in keys.OPERATOR_BINDINGS:
            if binding.id == "help":
                continue
            yield SystemCommand(binding.tooltip, f"key: {keys.key_display(self, binding, self.keymap)}",
                                lambda action=binding.action: self.call_later(main.run_action, action))
        yield SystemCommand("Save config", "Write theme and settings to the config file, and the state",
                            self.action_save)
        yield SystemCommand("Keys", "Show every key (help)", main.action_help)

    async def action_save(self) -> None:
        path = self.save_config()
        if self.config_file is not None:
            await self.config_file.flush()
            if self.config_file.last_error:
                self.notify(f"config not saved: {self.config_file.last_error}", severity="error", markup=False)
                return
        saver = getattr(self.runner, "state_saver", None)
        if saver is not None and hasattr(saver, "flush"):
            try:
                await saver.flush()
            except Exception as exc:
                self.notify(f"state not saved: {exc}", severity="error", markup=False)
                return
        if path is not None:
            self.notify(f"Saved config to {path}" + ("; state saved" if saver is not None else ""), markup=False)

    # ---- themes and settings -------------------------------------------------------
    def watch_theme(self, name: str) -> None:
        # The screen redraws itself on the theme signal; the app keeps the config in step.
        if not self._collab_ready:
            return
        self.config = self.config.replace(ui=dict(theme=name))
        path = self.save_config()
        if path is not None:
            self.notify(f"Theme {name} (saved to {path})", timeout=3, markup=False)

    def on_settings_changed(self, message: SettingsChanged) -> None:
        """The screen changed the trainer's settings: keep the config in step (the runner's
        hook saves it through the same ``ConfigFile`` when it has one)."""
        t = self.runner.trainer
        self.config = self.config.replace(
            reputation={"trust_threshold": t.trust_threshold, "alpha": t.reputation_alpha},
            decisions={"hold_s": t.hold_s})
        if getattr(self.runner, "on_settings", None) is None:
            self.save_config()

    def save_config(self) -> Path | None:
        """Schedule writing the theme and settings into the config file, keeping what else is in
        it: debounced, and written in a worker thread (``ConfigFile``), never on the event loop."""
        if self.config_file is None:
            return None
        t = self.runner.trainer
        theme, threshold, alpha, hold = self.theme, t.trust_threshold, t.reputation_alpha, t.hold_s
        self.config_file.update(lambda c: c.replace(
            ui={"theme": theme}, reputation={"trust_threshold": threshold, "alpha": alpha},
            decisions={"hold_s": hold}))
        self.config = self.config_file.config
        return self.config_file.path

    def config_error(self) -> str | None:
        """A config write that failed, once."""
        error = self.config_file.last_error if self.config_file is not None else None
        if error == self._reported_config_error:
            return None
        self._reported_config_error = error
        return error

    def _report_config_error(self) -> None:
        error = self.config_error()
        if error:
            self.notify(f"config not saved: {error}", severity="error", timeout=6, markup=False)


def run_tui(runner: Any, config: TrainerConfig | None = None, config_path: str | Path | None = None,
            theme: str | None = None, problems: Iterable[str] = ()) -> None:
    """Run the TUI until the operator quits (the runner is stopped and its state saved)."""
    CollabApp(runner, config=config, config_path=config_path, theme=theme, problems=problems,
              handle_signals=True, exit_watchdog_s=EXIT_WATCHDOG_S).run()
    exiting_soon()


def exiting_soon() -> None:
    """The process ends once the caller has tidied up: move everything out of the collector's
    sight, so the interpreter's last collections do not walk the whole heap (about 0.3 s of
    the time between ``q`` and the shell prompt). Only for a process that is about to exit."""
    gc.freeze()
