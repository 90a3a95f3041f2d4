"""``collab-tui``: run a trainer — in the TUI, headless, or as the self-contained demo.

    collab-tui AI_Node_1 networking secret1 --trust-threshold 0.6 --alpha 0.4
    collab-tui AI_Node_1 networking --hub ws://127.0.0.1:6000/ --headless
    collab-tui --demo
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn

from .io.config import (
    POLICIES, ReputationSettings, ConfigError, default_config_path, default_state_path, load_config,
    parse_ai_id, parse_hello_name, parse_hold_seconds,
    parse_hub_url, parse_unit_interval, resolve_token,
)
from .io.logs import configure_logging
from .io.paths import check_file_path
from .launch import apply_flags, build_trainer, headless_main, log_to_file, report_save_error


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
            code = asyncio.run(headless_main(setup))
        except KeyboardInterrupt:
            code = 130
        return report_save_error(setup, code)
    log_file = log_to_file(state_path.parent / "collab-tui.log",
                           args.log_level)
    from .ui.app import run_tui
    run_tui(setup.runner, config=config, config_path=config_path, theme=args.theme, problems=setup.problems)
    if setup.runner.status.state == "refused":
        print(f"collab-tui: {setup.runner.status.describe(setup.runner.now())} (log: {log_file})", file=sys.stderr)
    return report_save_error(setup, setup.runner.exit_status)


if __name__ == "__main__":
    sys.exit(main())
