"""Launching a trainer: what ``collab-tui`` and ``collab-tui --demo`` share.

Building the trainer and its runner from a config (:func:`build_trainer`), the command-line
flags laid over the config (:func:`apply_flags`), headless mode (:class:`HeadlessPrinter`,
:func:`run_headless`), signal handling, logging to a file while the TUI owns the terminal and
the one-line report of a state save that failed. ``cli`` keeps the parser and the dispatch.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .core import events as ev
from .core.engines import make_policy
from .core.text import peer_text
from .core.trainer import NetworkedKernelTrainer
from .io.config import TrainerConfig, default_state_path
from .io.config_file import ConfigFile
from .io.logs import configure_logging
from .io.runner import TrainerRunner
from .io.state import StateSaver, StateStore
from .io.subprocesses import run_producer, run_validator

#: A headless line carries a few peer fields of at most 1,024 characters each.
MAX_HEADLESS_LINE = 4096


@dataclasses.dataclass
class Setup:
    runner: TrainerRunner
    config_file: ConfigFile
    problems: list[str]


def build_trainer(ai_id: str, config: TrainerConfig, config_path: Path | None, *, url: str, token: str | None,
                  state_path: Path | None, clock: Callable[[], float] = time.time) -> Setup:
    """A trainer and its runner from a config: the TUI, headless mode and the demo share this.

    ``config_path`` None: settings changes are not saved (the demo's throwaway trainer).
    """
    problems: list[str] = []
    rep = config.reputation
    complements = dict(config.complements)
    trainer = NetworkedKernelTrainer(
        ai_id, config.trainer.specialization, auth_token=token,
        policy=make_policy(rep.policy, complements),
        trust_threshold=rep.trust_threshold, reputation_alpha=rep.alpha,
        capabilities=config.trainer.capabilities, complements=complements,
        max_active_sessions=rep.max_active_sessions, hold_s=config.decisions.hold_s,
        max_component_bytes=config.validator.max_component_bytes, history_size=rep.history_size,
        trusted_reporters=rep.trusted_reporters)
    store = StateStore(state_path or default_state_path(ai_id), history_size=rep.history_size)
    loaded = store.load()
    problems += loaded.problems
    trainer.import_state(loaded.state)

    producer = None
    if config.producer.command:
        command, timeout = list(config.producer.command), config.producer.timeout_s

        async def producer(request: dict) -> Any:
            return await run_producer(command, request, timeout)
    validator = None
    if config.validator.command:
        vcommand, vtimeout = list(config.validator.command), config.validator.timeout_s

        async def validator(component: dict) -> Any:
            return await run_validator(vcommand, component, vtimeout)

    config_file = ConfigFile(config, config_path)

    def on_settings(change: ev.SettingsChanged) -> None:
        config_file.update(lambda c: c.replace(
            reputation={"trust_threshold": change.trust_threshold, "alpha": change.reputation_alpha},
            decisions={"hold_s": change.hold_s}))

    runner = TrainerRunner(trainer, url=url, token=token, producer=producer, validator=validator,
                           state_saver=StateSaver(store), on_settings=on_settings, clock=clock)
    runner.config_file = config_file
    return Setup(runner, config_file, problems)


def apply_flags(config: TrainerConfig, args: argparse.Namespace) -> TrainerConfig:
    if args.specialization:
        config = config.replace(trainer=dict(specialization=args.specialization))
    if args.hub:
        config = config.replace(hub=dict(url=args.hub))
    rep: dict[str, Any] = {}
    if getattr(args, "policy", None) is not None:
        rep["policy"] = args.policy
    if args.trust_threshold is not None:
        rep["trust_threshold"] = args.trust_threshold
    if args.alpha is not None:
        rep["alpha"] = args.alpha
    if rep:
        config = config.replace(reputation=rep)
    if args.hold is not None:
        config = config.replace(decisions=dict(hold_s=args.hold))
    if args.theme:
        config = config.replace(ui=dict(theme=args.theme))
    return config


class HeadlessPrinter:
    """One line per request, decision (with its reason), outcome and reputation change.

    A bad delivery is one line: the component, why it failed and what it cost its sender
    (the session's failure and the reputation change it caused are folded into it).
    Every peer string goes through ``peer_text``.
    """

    def __init__(self, stream: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.stream = stream or sys.stdout
        self.clock = clock

    def __call__(self, events: list[ev.Event]) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        for line in headless_lines(events):
            print(f"{stamp} {line}", file=self.stream, flush=True)


def headless_lines(events: list[ev.Event]) -> list[str]:
    """The lines a batch of events prints: one per event, one per bad delivery."""
    failed = {e.key: e for e in events
              if isinstance(e, ev.ComponentReceived) and e.record.get("validation") == "failed"}
    folded: dict[str, str] = {}     # peer -> the failed component line its reputation change joins
    lines: list[str | None] = []
    where: dict[str, int] = {}
    for event in events:
        if isinstance(event, ev.SessionChanged) and event.session.component_key in failed:
            continue                # said by the component's own line
        if isinstance(event, ev.ComponentReceived) and event.key in failed:
            where[event.record["source"]] = len(lines)
            folded[event.record["source"]] = event.key
        if isinstance(event, ev.ReputationChanged) and event.change.peer in folded \
                and not event.change.reason.startswith("marked"):
            i = where[event.change.peer]
            c = event.change
            lines[i] = f"{lines[i]} · reputation of {peer_text(c.peer)}: {c.old:.2f} → {c.new:.2f}"
            del folded[event.change.peer]
            continue
        line = event.describe()
        # describe() already cleans each peer field; the whole line once more, so
        # that no event type can ever bring a control sequence to the terminal.
        lines.append(peer_text(line, MAX_HEADLESS_LINE) if line else None)
    return [line for line in lines if line]


def headless_summary(trainer: NetworkedKernelTrainer) -> list[str]:
    """What a headless run did, printed once at exit."""
    received, accepted = trainer.requests_received, trainer.requests_accepted
    components, failed = trainer.components.totals()
    lines = [f"summary: {received} request(s) received (✓ {accepted} ✗ {received - accepted}), "
             f"{trainer.requests_sent} sent, {components} component(s) received "
             f"({components - failed} passed, {failed} failed)"]
    book = trainer.book
    peers = sorted(book.known(), key=lambda p: -book.score(p))
    if peers:
        lines.append("reputation: " + ", ".join(f"{peer_text(p)} {book.score(p):.2f}" for p in peers))
    return lines


async def run_headless(setup: Setup, stop: asyncio.Event, printer: HeadlessPrinter | None = None) -> int:
    runner = setup.runner
    runner.subscribe(printer or HeadlessPrinter())
    await runner.start()
    waiter = asyncio.create_task(stop.wait())
    ended = asyncio.create_task(runner.stopped.wait())
    await asyncio.wait([waiter, ended], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    ended.cancel()
    refused = runner.status.state == "refused"
    await runner.stop()
    out = getattr(printer, "stream", None) or sys.stdout
    for line in headless_summary(runner.trainer):
        print(line, file=out, flush=True)
    if refused:
        print(f"collab-tui: {runner.status.describe(runner.now())}", file=sys.stderr)
        return 1
    return 0


def install_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass


async def headless_main(setup: Setup) -> int:
    stop = asyncio.Event()
    install_signals(stop)
    return await run_headless(setup, stop)


def report_save_error(setup: Setup, code: int) -> int:
    """A state save that failed at exit: one line, exit 1 (the previous file was kept)."""
    if setup.runner.save_error:
        print(f"collab-tui: {setup.runner.save_error}", file=sys.stderr)
        return code or 1
    return code


def log_to_file(path: Path, level: str) -> Path:
    """While the TUI owns the terminal, log lines go to a file instead of the screen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    configure_logging(level, path=path)
    return path
