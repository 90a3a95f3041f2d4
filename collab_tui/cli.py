"""``collab-tui``: run a trainer — in the TUI, headless, or as the self-contained demo.

    collab-tui AI_Node_1 networking secret1 --trust-threshold 0.6 --alpha 0.4
    collab-tui AI_Node_1 networking --hub ws://127.0.0.1:6000/ --headless
    collab-tui --demo
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable, NoReturn

from .core import events as ev
from .core.hardened import make_policy
from .core.text import peer_text
from .core.trainer import NetworkedKernelTrainer
from .io.config import (
    POLICIES, ReputationSettings, ConfigError, TrainerConfig, default_config_path, default_state_path, load_config,
    parse_ai_id, parse_hello_name, parse_hold_seconds,
    parse_hub_url, parse_unit_interval, resolve_token,
)
from .io.config_file import ConfigFile
from .io.logs import configure_logging
from .io.paths import check_file_path
from .io.runner import TrainerRunner
from .io.state import StateSaver, StateStore
from .io.subprocesses import run_producer, run_validator

log = logging.getLogger("collab_tui")
#: A headless line carries a few peer fields of at most 1,024 characters each.
MAX_HEADLESS_LINE = 4096

def _flag(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except (ConfigError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


class _Parser(argparse.ArgumentParser):
    """Flag errors on one line, naming the flag once, without the usage block."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        # argparse says "argument --alpha: --alpha must be ..."; keep the flag's name once.
        if message.startswith("argument "):
            head, sep, rest = message.partition(": ")
            flag = head[len("argument "):].split("/")[-1]
            if sep and rest.startswith(flag):
                message = rest
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="collab-tui",
        description="Run a trust-aware collaboration trainer: in the terminal UI, headless, or as a demo.",
        epilog="Examples:  collab-tui --demo    |    collab-tui AI_Node_1 networking secret1 --trust-threshold 0.6")
    p.add_argument("ai_id", nargs="?", type=_flag(parse_ai_id), help="this trainer's id (e.g. AI_Node_1)")
    p.add_argument("specialization", nargs="?", type=_flag(lambda t: parse_hello_name(t, "specialization")),
                   help="this trainer's specialization (default: from config, 'general')")
    p.add_argument("token", nargs="?", help="hub token (default: from config / $COLLAB_HUB_TOKEN)")
    p.add_argument("--hub", type=_flag(parse_hub_url), metavar="URL", help="hub URL, e.g. ws://127.0.0.1:6000/")
    p.add_argument("--trust-threshold", type=_flag(lambda t: parse_unit_interval(t, "--trust-threshold")),
                   metavar="X", help="minimum reputation to accept a request, 0-1 (default 0.5)")
    p.add_argument("--alpha", type=_flag(lambda t: parse_unit_interval(t, "--alpha")), metavar="X",
                   help="reputation smoothing factor, 0-1 (default 0.3)")
    p.add_argument("--policy", choices=POLICIES, metavar="NAME",
                   help=f"acceptance policy: {', '.join(POLICIES)} (default: from config, "
                        f"{ReputationSettings().policy!r}; 'shared' also weighs other trainers' reports)")
    p.add_argument("--hold", type=_flag(lambda t: parse_hold_seconds(t, "--hold")), metavar="S",
                   help="seconds each automatic verdict waits before it is sent (default 0)")
    p.add_argument("--config", type=Path, metavar="FILE", help=f"config file (default {default_config_path()})")
    p.add_argument("--state", type=Path, metavar="FILE", help="reputation state file (default: per id, in the state dir)")
    p.add_argument("--theme", metavar="NAME", help="TUI theme (collab-dark, collab-light, collab-high-contrast, …)")
    p.add_argument("--headless", action="store_true", help="no UI: print one line per event")
    p.add_argument("--demo", action="store_true",
                      help="self-contained demo: embedded hub, simulated peers, and you as one trainer")
    p.add_argument("--demo-seconds", type=_flag(float), default=None, metavar="S",
                   help="with --demo --headless: stop after S seconds")
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="log level for stderr (default %(default)s)")
    return p


@dataclasses.dataclass
class Setup:
    runner: TrainerRunner
    config_file: ConfigFile
    problems: list[str]


def build_trainer(ai_id: str, config: TrainerConfig, config_path: Path | None, *, url: str, token: str | None,
                  state_path: Path | None, clock: Callable[[], float] = time.time) -> Setup:
    """``config_path`` None: settings changes are not saved (the demo's throwaway trainer)."""
    """A trainer and its runner from a config: the TUI, headless mode and the demo share this."""
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
        config_file.update(lambda c: c.with_reputation(trust_threshold=change.trust_threshold,
                                                       alpha=change.reputation_alpha)
                           .with_decisions(hold_s=change.hold_s))

    runner = TrainerRunner(trainer, url=url, token=token, producer=producer, validator=validator,
                           state_saver=StateSaver(store), on_settings=on_settings, clock=clock)
    runner.config_file = config_file
    return Setup(runner, config_file, problems)


def apply_flags(config: TrainerConfig, args: argparse.Namespace) -> TrainerConfig:
    if args.specialization:
        config = config.with_trainer(specialization=args.specialization)
    if args.hub:
        config = config.with_hub(url=args.hub)
    rep: dict[str, Any] = {}
    if getattr(args, "policy", None) is not None:
        rep["policy"] = args.policy
    if args.trust_threshold is not None:
        rep["trust_threshold"] = args.trust_threshold
    if args.alpha is not None:
        rep["alpha"] = args.alpha
    if rep:
        config = config.with_reputation(**rep)
    if args.hold is not None:
        config = config.with_decisions(hold_s=args.hold)
    if args.theme:
        config = config.with_ui(theme=args.theme)
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
    incoming = list(trainer.incoming.values())
    accepted = sum(1 for r in incoming if r.verdict.accept)
    components = list(trainer.shared_knowledge["benchmarks"].values())
    failed = sum(1 for c in components if c["validation"] == "failed")
    lines = [f"summary: {len(incoming)} request(s) received (✓ {accepted} ✗ {len(incoming) - accepted}), "
             f"{len(trainer.outgoing)} sent, {len(components)} component(s) received "
             f"({len(components) - failed} passed, {failed} failed)"]
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


def _install_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass


async def _headless_main(setup: Setup) -> int:
    stop = asyncio.Event()
    _install_signals(stop)
    return await run_headless(setup, stop)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level, stream=sys.stderr)
    if args.demo:
        from .demo import main as demo_main
        return demo_main(args)
    if not args.ai_id:
        parser.error("give this trainer's id (e.g. collab-tui AI_Node_1 networking TOKEN), or use --demo")
    config_path = args.config or default_config_path()
    state_path = args.state or default_state_path(args.ai_id)
    try:
        check_file_path(config_path, "--config" if args.config else "config file")
        check_file_path(state_path, "--state" if args.state else "state file")
    except ConfigError as exc:
        print(f"collab-tui: {exc}", file=sys.stderr)
        return 2
    loaded = load_config(config_path)
    for problem in loaded.problems:
        print(f"collab-tui: {problem}", file=sys.stderr)
    try:
        config = apply_flags(loaded.config, args)
        token = resolve_token(config, args.token)
    except ConfigError as exc:
        print(f"collab-tui: {exc}", file=sys.stderr)
        return 2
    if not token:
        print("collab-tui: no hub token: pass it as the third argument, or set $COLLAB_HUB_TOKEN "
              "(or hub.token_env / hub.token_file in the config)", file=sys.stderr)
        return 2
    try:
        setup = build_trainer(args.ai_id, config, config_path, url=config.hub.url, token=token,
                              state_path=state_path)
    except (ConfigError, ValueError) as exc:
        print(f"collab-tui: {exc}", file=sys.stderr)
        return 2
    for problem in setup.problems:
        print(f"collab-tui: {problem}", file=sys.stderr)
    setup.problems = [*loaded.problems, *setup.problems]
    if args.headless:
        try:
            code = asyncio.run(_headless_main(setup))
        except KeyboardInterrupt:
            code = 130
        return _report_save_error(setup, code)
    log_file = log_to_file(state_path.parent / "collab-tui.log",
                           args.log_level)
    from .ui.app import run_tui
    run_tui(setup.runner, config=config, config_path=config_path, theme=args.theme, problems=setup.problems)
    if setup.runner.status.state == "refused":
        print(f"collab-tui: {setup.runner.status.describe(setup.runner.now())} (log: {log_file})", file=sys.stderr)
        return _report_save_error(setup, 1)
    return _report_save_error(setup, 0)


def _report_save_error(setup: Setup, code: int) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
