"""``collab-hub`` / ``python -m collab_hub``: run the hub until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import NoReturn, Sequence

from .config import ConfigError, HubConfig, load_config

PROG = "collab-hub"


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Run the collab-tui websocket hub every trainer joins.")
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1, or [hub] host)")
    parser.add_argument("--port", type=_port, help="TCP port, 0 for any free port (default 6000, or [hub] port)")
    parser.add_argument("--config", metavar="HUB_TOML", help="hub.toml with [hub], [auth], [auth.tokens], [limits] and [broker]")
    parser.add_argument("--token", help="shared token (overrides COLLAB_HUB_TOKEN and [auth] shared_token)")
    parser.add_argument("--log-level", metavar="LEVEL", help="DEBUG, INFO, WARNING, ERROR or CRITICAL (default INFO)")
    parser.add_argument(
        "--broker", metavar="URL",
        help="redis://HOST:PORT/DB: serve one network with every hub using that Redis (default: in-process, this hub alone; or [broker] url)",
    )
    return parser


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("collab_hub")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # websockets' own per-connection chatter only when debugging.
    logging.getLogger("collab_hub.websockets").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


async def run(config: HubConfig) -> int:
    from .server import Hub  # imported late so a bad flag answers fast

    try:
        hub = Hub(config)
    except ImportError as exc:  # [broker] url set without the "redis" extra installed
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    try:
        await hub.start()
    except OSError as exc:
        print(f"{PROG}: error: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{PROG}: listening on {hub.url}", flush=True)
    if config.broker.url is not None:
        print(f"{PROG}: broker {hub.broker.describe()}", flush=True)
    if hub.generated_token:
        print(
            f"{PROG}: no token configured; generated shared token for this run: {hub.shared_token}\n"
            f"{PROG}: trainers connect with 'Authorization: Bearer {hub.shared_token}'",
            flush=True,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    logging.getLogger("collab_hub").info("%s received: closing every connection with 1001", received[0])
    await hub.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config, host=args.host, port=args.port, token=args.token, log_level=args.log_level, broker=args.broker)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(config.log_level)
    try:
        return asyncio.run(run(config))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
