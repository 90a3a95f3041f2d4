"""``collab-sim``: the trust benchmark's simulation from the command line.

    collab-sim                                  # N=100, 70% malicious, every attack and engine, 10 seeds
    collab-sim --n 1000 --attacks always-fail   # a large network
    collab-sim --sweep-camouflage --sweep-malicious --chart trust.png
    collab-sim --engines hardened,shared --warmup 0 --measure 8 --liars collude --json   # cold start
    collab-sim --engines shared --newcomer --attacks always-fail                        # a newcomer
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .behaviours import ALL_ATTACKS, ATTACKS, CAMOUFLAGE, LIARS, WHITEWASHER, AttackSettings
from .network import ENGINES, Scenario
from .report import Case, chart, rows_as_json, run_cases, table

DEFAULT_CHART = "trust.png"
CAMOUFLAGE_SWEEP = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0)
MALICIOUS_SWEEP = (0.0, 0.1, 0.3, 0.5, 0.7)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def _whole(low: int, words: str):
    """An argparse type: a whole number of at least ``low`` (``words`` says which, in errors)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}")
        return value
    return parse


_positive = _whole(1, "a positive whole number")
_count = _whole(0, "a whole number ≥ 0")


def _choices(allowed: tuple[str, ...], what: str, every: tuple[str, ...] | None = None):
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if items == ["all"]:
            return list(every or allowed)
        bad = [t for t in items if t not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(map(repr, bad)) or '(none given)'}; choose from "
                f"{', '.join(allowed)} or 'all'")
        return items
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="collab-sim", description=(
        "Simulate N trainers (the real core's policy and reputation, simulated time, no sockets) "
        "under attack and compare trust engines."))
    p.add_argument("--n", type=_positive, nargs="+", default=[100], help="network sizes (default 100)")
    p.add_argument("--malicious", type=_fraction, nargs="+", default=[0.7],
                   help="malicious fractions (default 0.7)")
    p.add_argument("--attacks", type=_choices(ALL_ATTACKS, "attack"), default=list(ATTACKS),
                   help=f"comma-separated: {', '.join(ALL_ATTACKS)} or all (default: {', '.join(ATTACKS)})")
    p.add_argument("--liars", type=_choices(LIARS, "liars"), default=["collude"],
                   help=f"what malicious peers report, comma-separated: {', '.join(LIARS)} (default collude)")
    p.add_argument("--engines", type=_choices(tuple(ENGINES), "engine"), default=list(ENGINES),
                   help=f"comma-separated: {', '.join(ENGINES)} or all (default all)")
    p.add_argument("--seeds", type=_positive, default=10, help="seeds per row (default 10)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--camouflage-f", type=_fraction, default=0.6,
                   help="camouflage success probability (default 0.6: fails 40%%)")
    p.add_argument("--honest-failure", type=_fraction, default=0.05,
                   help="an honest peer's ordinary failure rate (default 0.05)")
    p.add_argument("--identity-cost", type=int, default=5,
                   help="rounds a whitewasher sits out to get a new id (default 5)")
    p.add_argument("--tokens-bound", action="store_true",
                   help="whitewasher ids are bound to tokens: no new ids (default: free ids)")
    p.add_argument("--misses-deadlines", action="store_true",
                   help="attackers fail by missing the deadline (default: a bad delivery)")
    p.add_argument("--warmup", type=_count, default=30, help="meetings per pair before measuring (0: a cold start)")
    p.add_argument("--newcomer", action="store_true",
                   help="measure a fresh trainer joining after the warm-up (its first --newcomer-meetings "
                        "meetings per requester), without and with one pinned trusted reporter")
    p.add_argument("--newcomer-meetings", type=_positive, default=20)
    p.add_argument("--json", action="store_true",
                   help="print a JSON array (one object per row) instead of the table")
    p.add_argument("--measure", type=_positive, default=30, help="meetings per pair measured")
    p.add_argument("--contacts", type=_positive, default=30, help="deciders each requester samples from")
    p.add_argument("--no-broadcasts", action="store_true",
                   help="no unsolicited reports every 30 s (default: every peer broadcasts one, "
                        "honest ones their changed records, malicious ones lies as --liars says)")
    p.add_argument("--sweep-camouflage", action="store_true",
                   help=f"also sweep camouflage f over {CAMOUFLAGE_SWEEP} (first N and fraction)")
    p.add_argument("--sweep-malicious", action="store_true",
                   help=f"also sweep the malicious fraction over {MALICIOUS_SWEEP} (always-fail)")
    p.add_argument("--jobs", type=_positive, default=None, help="worker processes (default: all cores)")
    p.add_argument("--chart", default=DEFAULT_CHART, help=f"PNG path (default {DEFAULT_CHART})")
    p.add_argument("--no-chart", action="store_true", help="do not write the PNG")
    return p


def scenario_for(args: argparse.Namespace, n: int, malicious: float, attack: str, liars: str = "collude",
                 newcomer: bool = False, pinned: bool = False, **attack_changes) -> Scenario:
    settings = AttackSettings(honest_failure=args.honest_failure, camouflage_success=args.camouflage_f,
                              identity_cost=args.identity_cost, tokens_bound=args.tokens_bound,
                              attacker_misses_deadlines=args.misses_deadlines)
    sc = Scenario(n=n, malicious=malicious, attack=attack, warmup_per_pair=args.warmup,
                  measure_per_pair=args.measure, contacts=args.contacts, attack_settings=settings,
                  liars=liars, newcomer=newcomer, pinned=pinned,
                  newcomer_meetings=getattr(args, "newcomer_meetings", 20),
                  broadcasts=not getattr(args, "no_broadcasts", False))
    return sc.with_attack(**attack_changes) if attack_changes else sc


def label_for(sc: Scenario) -> str:
    st = sc.attack_settings
    extra = ""
    if sc.attack == CAMOUFLAGE:
        extra = f" f={st.camouflage_success:g}"
    elif sc.attack == WHITEWASHER:
        extra = " (ids bound)" if st.tokens_bound else f" (new id, cost {st.identity_cost})"
        if st.attacker_misses_deadlines:
            extra = extra[:-1] + ", misses deadlines)"
    regime = ""
    if sc.newcomer:
        regime = f" newcomer{' +1 pinned' if sc.pinned else ''}"
    elif sc.warmup_per_pair == 0:
        regime = " cold"
    liars = "" if sc.liars == "collude" else f" liars={sc.liars}"
    return f"N={sc.n} {100 * sc.malicious:.0f}% {sc.attack}{extra}{liars}{regime}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    regimes = [(True, False), (True, True)] if args.newcomer else [(False, False)]
    cases = [Case(label_for(sc), sc, eng)
             for n in args.n for mal in args.malicious for attack in args.attacks for liars in args.liars
             for newcomer, pinned in regimes
             for sc in [scenario_for(args, n, mal, attack, liars, newcomer, pinned)] for eng in args.engines]
    sweep_cases: dict[str, list[tuple[float, Case]]] = {}
    n0, m0 = args.n[0], args.malicious[0]
    if args.sweep_camouflage:
        sweep_cases["camouflage: failed/accepted vs success prob. f"] = [
            (f, Case(f"sweep f={f}", scenario_for(args, n0, m0, CAMOUFLAGE, camouflage_success=f), eng))
            for f in CAMOUFLAGE_SWEEP for eng in args.engines]
    if args.sweep_malicious:
        sweep_cases["always-fail: honest refused vs malicious fraction"] = [
            (m, Case(f"sweep m={m}", scenario_for(args, n0, m, "always-fail"), eng))
            for m in MALICIOUS_SWEEP for eng in args.engines]
    every = cases + [c for pts in sweep_cases.values() for _, c in pts]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"collab-sim: {len(every)} configurations × {args.seeds} seeds on {args.jobs or os.cpu_count()} "
          f"processes", file=sys.stderr)
    started = time.perf_counter()
    results, cpu = run_cases(every, seeds, args.jobs, progress=not args.json or sys.stderr.isatty())
    wall = time.perf_counter() - started
    main_results = results[:len(cases)]
    if args.json:
        print(json.dumps(rows_as_json(cases, main_results), indent=1))
        return 0
    print(table(cases, main_results))
    offset = len(cases)
    sweeps = {}
    for title, pts in sweep_cases.items():
        metric = "failed_per_accepted" if title.startswith("camouflage") else "honest_refused"
        rows = []
        for x, case in pts:
            rows.append((x, case.engine, results[offset][metric]))
            offset += 1
        sweeps[title] = ("camouflage f" if metric == "failed_per_accepted" else "malicious fraction", rows)
        print(f"\n{title}")
        xs = sorted({x for x, _, _ in rows})
        print("engine".ljust(16) + "".join(f"{x:>9g}" for x in xs))
        for eng in args.engines:
            by_x = {x: r for x, e, r in rows if e == eng}
            print(ENGINES[eng].label.ljust(16) + "".join(
                f"{100 * sum(by_x[x]) / len(by_x[x]):8.1f}%" for x in xs))
    print(f"\n{len(every) * args.seeds} runs in {wall:.1f} s wall, {cpu:.1f} s CPU; 95% intervals over "
          f"{args.seeds} seeds (Student's t)")
    if not args.no_chart:
        if chart(args.chart, cases, main_results, sweeps, note=lambda m: print(m, file=sys.stderr)):
            print(f"chart: {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
