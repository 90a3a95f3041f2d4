"""Why a larger network is harder for ``shared``: what we had heard of an attacker at a first meeting we accepted.

    python benchmarks/first_meetings.py [--n 300] [--seed 1] [--attack always-fail]
                                        [--liars collude] [--broadcast-every 30] [--no-caps]
                                        [--no-agreement] [--oracle] [--measure 8]

Runs one cold-start network (warm-up 0, 8 meetings per pair, 70% malicious, colluding liars)
with the ``shared`` engine through ``collab_tui.sim`` and watches every decision about an
attacker we have never dealt with. For each one we accepted (the attacker then fails: a
free failure) it records how many deciders had met that attacker before, and whether we had
heard from any of them: nothing at all, only from reporters we have not proven yet, or from
a proven one. It prints failed/accepted, those counts, and the share of first meetings
accepted by how many deciders had met the attacker before; then, for each pair's first
decision, what the decider's book held (by how many deciders had met the attacker, accepted
or refused): the caught liars' claims about the attacker, the liars it had caught and the
reporters it had proven.

``--measure M``: M meetings per pair instead of 8. ``--measure 1`` is mostly first meetings,
the part a larger network makes harder, in an eighth of the time: a proxy for comparing two
versions at N = 1,000 (15-20 minutes instead of two hours). It spans one broadcast period
(30 rounds), so it cannot show how long reports are kept; ``--measure 4`` (about 75 minutes)
can, and at N = 1,000 it accepts as many first meetings with attackers as ``--measure 1``.

What-ifs (none is what the real trainers do):

``--broadcast-every S``: honest trainers broadcast their changed records every S seconds
instead of the protocol's 30 (the liars keep 30). S = 1 shows how much of the gap is news
arriving late.

``--no-caps``: no bounds on the reports each trainer keeps (``WitnessBook``'s caps lifted),
to show what the bounds cost.

``--no-agreement``: what the liars we caught agree on about a stranger is not used as evidence
(``witness._agreed``, which both the view and the first-meeting counts read, answers None): the engine as it was before that evidence,
for comparison (docs/trust.md, "What is left at N = 300").

``--oracle``: a trainer asking about a peer also asks every trainer that has dealt with it
before, outside its query budget. Nothing on the wire tells a real trainer who those are:
this shows what better-aimed queries could be worth at most.

``--liars KIND``: what the malicious peers report (default ``collude``; ``framing`` is the
attack the what-if above must survive).

Figures in docs/trust.md ("Why a larger network is harder") come from this script.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from collab_tui.core import reports as rp  # noqa: E402
from collab_tui.core import shared, witness  # noqa: E402
from collab_tui.core.trainer import NetworkedKernelTrainer  # noqa: E402
from collab_tui.sim import network  # noqa: E402
from collab_tui.sim.behaviours import ATTACKS, LIARS  # noqa: E402


#: what we had heard of the attacker at an accepted first meeting, in the order printed
NOBODY, NOTHING, UNPROVEN, PROVEN = KINDS = ("nobody had met it", "heard nothing from them",
                                            "heard, none proven", "heard from a proven one")


def cold_start(n: int, attack: str, liars: str = "collude", measure: int = 8) -> network.Scenario:
    """The network measured: a cold start (warm-up 0), ``measure`` meetings per pair, the defaults otherwise."""
    return network.Scenario(n=n, attack=attack, warmup_per_pair=0, measure_per_pair=measure, liars=liars)


def without_agreement():
    """Patch ``WitnessBook`` for ``--no-agreement``; returns the function that undoes it."""
    original = witness._agreed
    witness._agreed = lambda said: None

    def undo() -> None:
        witness._agreed = original
    return undo


def with_oracle():
    """Patch the trainers for ``--oracle``; returns the function that undoes it.

    Whenever a trainer asks about a peer (``ask_about`` picked reporters), it also asks every
    trainer that has dealt with that peer before (had an outcome with it), in the order they
    first did, outside the query budget. No frame tells a real trainer who those are: this
    measures what better-aimed queries could be worth at most."""
    dealt: dict[str, dict[str, None]] = collections.defaultdict(dict)   # peer -> trainers that dealt with it
    original_update = NetworkedKernelTrainer._update_reputation
    original_ask = NetworkedKernelTrainer.ask_about

    def update(self, peer, ok, reason, now=None):
        dealt[peer].setdefault(self.ai_id, None)
        return original_update(self, peer, ok, reason, now)

    def ask_about(self, subject, now, candidates=None):
        asked = original_ask(self, subject, now, candidates)
        if asked:
            taken = {reporter for _, reporter in asked}
            for reporter in dealt.get(subject, ()):
                if reporter != self.ai_id and reporter not in taken:
                    self._query_seq += 1
                    qid = f"oracle-{self._query_seq}"
                    self.asking.sent(qid, reporter, (subject,), now)
                    asked.append((qid, reporter))
        return asked

    NetworkedKernelTrainer._update_reputation = update
    NetworkedKernelTrainer.ask_about = ask_about

    def undo() -> None:
        NetworkedKernelTrainer._update_reputation = original_update
        NetworkedKernelTrainer.ask_about = original_ask
    return undo


#: what ``watch`` averages over each pair's first decision about an attacker
BOOK = ("caught liars' claims", "share they agree", "caught liars", "proven reporters")


def watch(scenario: network.Scenario, seed: int) -> tuple[dict, collections.Counter, dict, dict]:
    """Run the network, watching first meetings with attackers; restore every method after.

    Returns the metrics, the counts of accepted first meetings by what we had heard (``KINDS``),
    the first decisions by how many deciders had met the attacker ([accepted, refused]), and
    per (deciders that had met it, up to 2; accepted) the sums of ``BOOK`` and how many."""
    met: dict[str, set[str]] = collections.defaultdict(set)   # attacker -> deciders that dealt with it
    counts: collections.Counter = collections.Counter()
    by_prior: dict[int, list[int]] = collections.defaultdict(lambda: [0, 0])  # prior deciders -> [accepted, refused]
    owner: dict[int, NetworkedKernelTrainer] = {}              # id(policy) -> its trainer
    decided: set[tuple[str, str]] = set()
    books: dict[tuple[int, bool], list[float]] = collections.defaultdict(lambda: [0.0] * (len(BOOK) + 1))

    original_init = NetworkedKernelTrainer.__init__
    original_update = NetworkedKernelTrainer._update_reputation
    original_decide = shared.SharedPolicy.decide

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        owner[id(self.policy)] = self

    def update(self, peer, ok, reason, now=None):
        if peer.startswith("m"):
            met[peer].add(self.ai_id)
        return original_update(self, peer, ok, reason, now)

    def decide(self, ctx):
        verdict = original_decide(self, ctx)
        attacker = ctx.initiator
        if attacker.startswith("m") and ctx.successes == 0 and ctx.failures == 0:
            trainer = owner[id(self)]
            book = trainer.witness
            before = met[attacker] - {trainer.ai_id}
            if (trainer.ai_id, attacker) not in decided:          # each pair's first decision only
                decided.add((trainer.ai_id, attacker))
                by_prior[len(before)][0 if verdict.accept else 1] += 1
                said = book.caught_liars_said(attacker)
                row = books[(min(len(before), 2), verdict.accept)]
                for i, value in enumerate((sum(said), witness._agreed(said) is not None,
                                           sum(1 for w in book.witnesses.values() if book._caught_liar(w)),
                                           len(book._proven))):
                    row[i] += value
                row[-1] += 1
            if verdict.accept:
                counts["accepted"] += 1
                heard = [r for r in book.by_subject.get(attacker, ()) if r in before]
                if not before:
                    counts[NOBODY] += 1
                elif not heard:
                    counts[NOTHING] += 1
                elif not any(book.is_proven(r) for r in heard):
                    counts[UNPROVEN] += 1
                else:
                    counts[PROVEN] += 1
        return verdict

    NetworkedKernelTrainer.__init__ = init
    NetworkedKernelTrainer._update_reputation = update
    shared.SharedPolicy.decide = decide
    try:
        metrics = network.run(scenario, "shared", seed)
    finally:
        NetworkedKernelTrainer.__init__ = original_init
        NetworkedKernelTrainer._update_reputation = original_update
        shared.SharedPolicy.decide = original_decide
    return metrics, counts, dict(by_prior), dict(books)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="peers in the network (default 300)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--attack", default="always-fail", choices=ATTACKS)
    ap.add_argument("--broadcast-every", type=int, default=int(rp.BROADCAST_EVERY_S), metavar="S",
                    help="what-if: honest trainers broadcast every S seconds (the protocol: 30; liars keep 30)")
    ap.add_argument("--no-caps", action="store_true", help="what-if: no bounds on the reports kept")
    ap.add_argument("--liars", default="collude", choices=LIARS, help="what the malicious peers report")
    ap.add_argument("--no-agreement", action="store_true",
                    help="what-if: what the caught liars agree on about a stranger is not used")
    ap.add_argument("--oracle", action="store_true",
                    help="what-if: a trainer asking about a peer also asks every trainer that dealt with it before")
    ap.add_argument("--measure", type=int, default=8, metavar="M",
                    help="meetings per pair measured (default 8; 1 is a quick proxy, mostly first meetings)")
    args = ap.parse_args(argv)
    if args.broadcast_every < 1:
        ap.error(f"--broadcast-every must be at least 1 second, got {args.broadcast_every}")
    if args.n < 10:
        ap.error(f"--n must be at least 10, got {args.n}")
    if args.measure < 1:
        ap.error(f"--measure must be at least 1, got {args.measure}")

    saved_period = rp.BROADCAST_EVERY_S
    saved_caps = dict(witness.WitnessBook.__init__.__kwdefaults__)
    rp.BROADCAST_EVERY_S = float(args.broadcast_every)
    if args.no_caps:
        witness.WitnessBook.__init__.__kwdefaults__ = {
            **saved_caps, "max_subjects": 10**9, "max_reporters_per_subject": 10**9,
            "max_reporters": 10**9, "max_reports": 10**9}
    undo_agreement = without_agreement() if args.no_agreement else None
    undo_oracle = with_oracle() if args.oracle else None
    scenario = cold_start(args.n, args.attack, args.liars, args.measure)
    started = time.perf_counter()
    try:
        metrics, counts, by_prior, books = watch(scenario, args.seed)
    finally:
        rp.BROADCAST_EVERY_S = saved_period
        witness.WitnessBook.__init__.__kwdefaults__ = saved_caps
        if undo_agreement is not None:
            undo_agreement()
        if undo_oracle is not None:
            undo_oracle()
    took = time.perf_counter() - started

    attackers = int(round(scenario.n * scenario.malicious))
    accepted = counts["accepted"]
    print(f"N={args.n} {args.attack} cold, {args.measure} meeting{'s' if args.measure > 1 else ''} per pair, seed {args.seed}, shared, "
          f"liars {args.liars}; honest broadcasts every "
          f"{args.broadcast_every} s{'; no caps on reports' if args.no_caps else ''}"
          f"{'; the caught liars agreeing not used' if args.no_agreement else ''}"
          f"{'; oracle: those that dealt with a peer asked too' if args.oracle else ''}")
    print(f"failed/accepted {100 * metrics['failed_per_accepted']:.1f}%  honest refused "
          f"{100 * metrics['honest_refused']:.1f}%")
    print(f"first meetings with attackers accepted: {accepted} ({accepted / attackers:.1f} per attacker)")
    for key in KINDS:
        share = 100 * counts[key] / accepted if accepted else 0.0
        print(f"  {key:26s} {counts[key]:6d}  {share:4.0f}%")
    print("first decisions that accepted, by how many deciders had met the attacker before:")
    print("  " + "  ".join(f"{j}: {100 * a / (a + r):.0f}%" for j, (a, r) in sorted(by_prior.items()) if a + r))
    print("what the decider's book held at each pair's first decision (averages):")
    print(f"  {'met it before':13s} {'verdict':8s} {'decisions':>9s}  " + "  ".join(f"{b:>20s}" for b in BOOK))
    for (prior, accepted), row in sorted(books.items()):
        print(f"  {('2+' if prior == 2 else str(prior)):13s} {'accepted' if accepted else 'refused':8s} "
              f"{int(row[-1]):9d}  " + "  ".join(f"{v / row[-1]:20.2f}" for v in row[:-1]))
    print(f"{took:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
