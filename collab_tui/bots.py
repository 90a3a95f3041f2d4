"""``collab-bots``: simulated peers of known behaviour, for the demo, tests and benchmarks.

- honest: the seed's policy; delivers a valid component well before the deadline.
- flaky: like honest, but fails to deliver (misses the deadline) with probability ``flaky_fail``.
- malicious: accepts every request and delivers a component whose sha256 does not match.
- whitewasher: malicious, and when a trainer refuses it for its reputation it leaves and
  rejoins under a new id (possible only with the shared token: per-id tokens stop it).
All of them also initiate requests of their own at a steady pace.

Reputation reports (PROTOCOL.md): every bot answers ``REPUTATION_QUERY``; honest and flaky
bots answer and broadcast their own first-hand records; malicious bots lie as ``--liars``
says (``collude``: praise their own kind, badmouth everyone else; ``badmouth``: only the
latter; ``ballot``: only the former; ``camouflage``: the truth 60% of the time; ``none``:
the truth).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import random
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

from .core import wire
from .core.events import ResponseReceived
from .core.reports import MAX_ENTRIES
from .core.policy import Decision, RequestContext
from .core.trainer import NetworkedKernelTrainer
from .io.connection import REFUSED
from .io.logs import configure_logging
from .io.runner import TrainerRunner
from .sim.behaviours import ALWAYS_FAIL, LIARS, claim

log = logging.getLogger(__name__)

BEHAVIOURS = ("honest", "flaky", "malicious", "whitewasher")
SPECIALIZATIONS = ("networking", "storage", "scheduling", "security", "general", "graphics")
FEATURES = ("tcp offload", "page cache", "io scheduler", "sandbox", "driver shim", "fs journal",
            "irq balancer", "tls stack", "memory allocator", "vfs layer")
COLLAB_TYPES = ("cross_specialization", "feature_development", "code_review", "benchmarking")


class AcceptEverything:
    """The malicious bots' policy: say yes to everyone, to get a chance to deliver garbage."""

    name = "accept-everything"

    def decide(self, ctx: RequestContext) -> Decision:
        return Decision(True, "malicious", "accepts everything", ctx.score, ctx.threshold)


class LyingTrainer(NetworkedKernelTrainer):
    """A malicious bot's trainer: what it reports of others is made up as ``liars`` says."""

    def __init__(self, *args: Any, liars: str = "collude", accomplice=lambda peer: False,
                 rng: random.Random | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if liars not in LIARS:
            raise ValueError(f"liars must be one of {', '.join(LIARS)}, got {liars!r}")
        self.liars = liars
        self.accomplice = accomplice
        self.rng = rng or random.Random()

    def own_observations(self, subjects, exclude=()) -> list[dict[str, Any]]:
        truth = {o["subject"]: o for o in super().own_observations(subjects, exclude)}
        if self.liars == "none":
            return list(truth.values())
        skip = set(exclude) | {self.ai_id}
        pool = subjects if subjects is not None else sorted(set(self.known_ai_info) | self.online)
        out = []
        for subject in pool:
            if subject in skip:
                continue
            seen = truth.get(subject)
            told = (seen["successes"], seen["failures"]) if seen is not None else None
            friend = self.accomplice(subject)
            # the simulation's own table of lies (``sim.behaviours.claim``): bots and sim lie alike
            said = claim(self.liars, ALWAYS_FAIL, friend, self.rng, told, self.ai_id)
            if said is None:
                continue
            if said is told:
                out.append(seen)                  # camouflage: the truth, as seen
            else:
                out.append({"subject": subject, "successes": int(said[0]), "failures": int(said[1]),
                            "last_outcome_at": self.now})
        return out[:MAX_ENTRIES]


class BotRunner(TrainerRunner):
    def __init__(self, trainer: NetworkedKernelTrainer, behaviour: str, rng: random.Random,
                 flaky_fail: float, **kwargs: Any) -> None:
        super().__init__(trainer, **kwargs)
        self.behaviour = behaviour
        self.rng = rng
        self.flaky_fail = flaky_fail
        self.refused_for_reputation = asyncio.Event()
        if behaviour == "whitewasher":
            self.subscribe(self._notice_refusal)

    def encode_outgoing(self, message: wire.NetworkMessage) -> str | None:
        if message.type == wire.OS_COMPONENT_SHARE:
            if self.behaviour == "flaky" and self.rng.random() < self.flaky_fail:
                return None  # goes silent: the initiator's deadline will pass
            if self.behaviour in ("malicious", "whitewasher"):
                component = dict(message.payload["component"])
                component["content"] += "\n# tampered after hashing\n"
                message.payload = {**message.payload, "component": component}
        return message.encode()

    def _notice_refusal(self, events: list) -> None:
        """The whitewasher's trigger: a trainer refused it for its reputation."""
        for event in events:
            if isinstance(event, ResponseReceived) and not event.accepted \
                    and event.reason.startswith("reputation"):
                self.refused_for_reputation.set()


@dataclass
class BotSpec:
    honest: int = 3
    flaky: int = 1
    malicious: int = 1
    whitewasher: int = 0

    def expand(self) -> list[str]:
        return (["honest"] * self.honest + ["flaky"] * self.flaky + ["malicious"] * self.malicious
                + ["whitewasher"] * self.whitewasher)


@dataclass
class Bot:
    ai_id: str
    behaviour: str
    specialization: str
    runner: BotRunner | None = None
    identities: list[str] = field(default_factory=list)


class BotSwarm:
    """Runs a set of bots in the current event loop until ``stop()``."""

    def __init__(self, url: str, token: str | None, spec: BotSpec, *, pace_s: float = 3.0,
                 deadline_s: float = 5.0, flaky_fail: float = 0.5, seed: int | None = None,
                 prefix: str = "", initiate: bool = True, liars: str = "collude") -> None:
        self.url, self.token, self.spec = url, token, spec
        self.pace_s, self.deadline_s, self.flaky_fail = pace_s, deadline_s, flaky_fail
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.initiate = initiate
        if liars not in LIARS:
            raise ValueError(f"liars must be one of {', '.join(LIARS)}, got {liars!r}")
        self.liars = liars
        self.bots: list[Bot] = []
        self._tasks: list[asyncio.Task] = []
        counts: dict[str, int] = {}
        for behaviour in spec.expand():
            counts[behaviour] = counts.get(behaviour, 0) + 1
            ai_id = f"{prefix}{behaviour}-{counts[behaviour]}"
            spec_name = SPECIALIZATIONS[(len(self.bots)) % len(SPECIALIZATIONS)]
            self.bots.append(Bot(ai_id, behaviour, spec_name))

    def _make_runner(self, bot: Bot, ai_id: str) -> BotRunner:
        if bot.behaviour in ("malicious", "whitewasher"):
            bad = (f"{self.prefix}malicious-", f"{self.prefix}whitewasher-")
            trainer = LyingTrainer(ai_id, bot.specialization, auth_token=self.token, capabilities=[bot.behaviour],
                                   liars=self.liars, accomplice=lambda peer: peer.startswith(bad),
                                   rng=random.Random(self.rng.random()), share_reports=True)
            trainer.policy = AcceptEverything()
        else:
            trainer = NetworkedKernelTrainer(ai_id, bot.specialization, auth_token=self.token,
                                             capabilities=[bot.behaviour], share_reports=True)
        return BotRunner(trainer, bot.behaviour, random.Random(self.rng.random()), self.flaky_fail,
                         url=self.url, token=self.token)

    async def start(self) -> None:
        for bot in self.bots:
            self._tasks.append(asyncio.create_task(self._run_bot(bot), name=f"bot-{bot.ai_id}"))

    async def _run_bot(self, bot: Bot) -> None:
        generation = 0
        while True:
            ai_id = bot.ai_id if generation == 0 else f"{bot.ai_id}.{generation}"
            bot.identities.append(ai_id)
            runner = bot.runner = self._make_runner(bot, ai_id)
            await runner.start()
            waiters = [asyncio.create_task(runner.stopped.wait())]
            if self.initiate:
                waiters.append(asyncio.create_task(self._initiate(runner)))
            if bot.behaviour == "whitewasher":
                waiters.append(asyncio.create_task(runner.refused_for_reputation.wait()))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
                await runner.stop()
            if bot.behaviour != "whitewasher":
                return  # the hub refused this bot for good
            if runner.status.state == REFUSED and "authentication" in runner.status.detail:
                log.warning("%s: the token is bound to ids; cannot rejoin under a new one", ai_id)
                return
            generation += 1

    async def _initiate(self, runner: BotRunner) -> None:
        # Stagger the bots so their requests do not arrive in lockstep.
        await asyncio.sleep(self.rng.uniform(0.2, self.pace_s))
        while True:
            if runner.trainer.joined:
                runner.send_request(self.rng.choice(COLLAB_TYPES), self.rng.choice(FEATURES), self.deadline_s)
            await asyncio.sleep(self.pace_s * self.rng.uniform(0.7, 1.3))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for bot in self.bots:
            if bot.runner is not None:
                await bot.runner.stop()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="collab-bots", description="Run simulated trainer peers against a hub.")
    p.add_argument("--hub", default="ws://127.0.0.1:6000/", help="hub URL (default %(default)s)")
    p.add_argument("--token", default=None, help="hub token (default: $COLLAB_HUB_TOKEN)")
    for name in BEHAVIOURS:
        p.add_argument(f"--{name}", type=_count, default=0, metavar="N", help=f"number of {name} bots")
    p.add_argument("--pace", type=_positive, default=3.0, metavar="S",
                   help="seconds between a bot's own requests (default %(default)s)")
    p.add_argument("--deadline", type=_positive, default=5.0, metavar="S",
                   help="deadline of the bots' requests (default %(default)s)")
    p.add_argument("--flaky-fail", type=_probability, default=0.5, metavar="P",
                   help="probability a flaky bot misses a delivery (default %(default)s)")
    p.add_argument("--liars", choices=LIARS, default="collude",
                   help="what malicious bots report of others (default %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.add_argument("--prefix", default="", help="prefix for the bots' ids")
    p.add_argument("--verbose", action="store_true", help="print every bot event")
    return p


def _bounded(convert, low: float, high: float, what: str, *, open_low: bool = False):
    """An argparse type: ``convert(text)`` within [low, high] (or (low, high]), else a clear message."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low or value > high or (open_low and value == low):
            bracket = "(" if open_low else "["
            raise argparse.ArgumentTypeError(f"must be in {bracket}{low:g}, {high:g}], got {text}")
        return value
    return parse


_count = _bounded(int, 0, 1000, "a whole number")
_positive = _bounded(float, 0, 3600, "a number of seconds", open_low=True)
_probability = _bounded(float, 0, 1, "a number between 0 and 1")


async def _main(args: argparse.Namespace) -> int:
    import os
    from .io.config import parse_hub_url
    url = parse_hub_url(args.hub)
    token = args.token or os.environ.get("COLLAB_HUB_TOKEN")
    spec = BotSpec(args.honest, args.flaky, args.malicious, args.whitewasher)
    if not spec.expand():
        print("collab-bots: nothing to run: give at least one of --honest/--flaky/--malicious/--whitewasher",
              file=sys.stderr)
        return 2
    swarm = BotSwarm(url, token, spec, pace_s=args.pace, deadline_s=args.deadline,
                     flaky_fail=args.flaky_fail, seed=args.seed, prefix=args.prefix, liars=args.liars)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await swarm.start()
    print(f"collab-bots: running {len(swarm.bots)} bot(s) against {url}; ctrl+c to stop", file=sys.stderr)
    await stop.wait()
    await swarm.stop()
    for bot in swarm.bots:
        t = bot.runner.trainer if bot.runner else None
        known = len(t.reputation) if t else 0
        print(f"{bot.ai_id:>16} {bot.behaviour:<12} identities={len(bot.identities)} peers-rated={known}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                      fmt="%(asctime)s %(name)s %(message)s")
    try:
        return asyncio.run(_main(args))
    except ValueError as exc:
        print(f"collab-bots: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
