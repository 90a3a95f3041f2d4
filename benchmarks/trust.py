"""The trust benchmark's headline: N = 100, 70% malicious, steady state, each attacker type.

    python benchmarks/trust.py [--seeds 10] [--jobs 2] [--chart benchmarks/trust.png] [--no-sweep]
                               [--large-n 1000] [--large-seeds 2]
    python benchmarks/trust.py --shared [--seeds 3] [--jobs 1] [--chart benchmarks/trust_shared.png]

``--shared``: the shared-evidence benchmark (issue 11) instead — seed, hardened and shared
engines in every regime (cold start, steady state, a newcomer without and with a pinned
reporter) and under the attacks on the reports (slanderers, ballot-stuffing, sleepers, 85%
malicious), the issue's targets checked against this run's figures, and which engine (if
any) wins on both axes everywhere (the rule for the default).

Runs every engine (none, seed EWMA α 0.1/0.3/0.5, hardened) against each attacker
through ``collab_tui.sim`` (the real trainer core and policies, simulated time), prints
the table with 95% intervals, the camouflage sweep and the same table for a large
network (N = 1000, fewer seeds), then checks the issue's targets for the hardened
engine against the figures measured in this run, says which are met and which are
not, and whether hardened beats every seed variant on both axes (the default rule).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from collab_tui.sim.behaviours import ATTACKS, AttackSettings  # noqa: E402
from collab_tui.sim.cli import CAMOUFLAGE_SWEEP, label_for  # noqa: E402
from collab_tui.sim.network import ENGINES, Scenario  # noqa: E402
from collab_tui.sim.report import Case, chart, run_cases, table  # noqa: E402
from collab_tui.sim.stats import mean_ci  # noqa: E402

HARDENED = "hardened"


def headline_scenarios(n: int = 100) -> list[Scenario]:
    base = Scenario(n=n, malicious=0.7, attack_settings=AttackSettings())
    out = []
    for attack in ATTACKS:
        sc = Scenario(n=base.n, malicious=base.malicious, attack=attack, attack_settings=base.attack_settings)
        out.append(sc)
        if attack == "whitewasher":
            out.append(sc.with_attack(tokens_bound=True))
            # the second chance is given after a missed deadline only: an attacker that misses
            # deadlines instead of delivering garbage gets it (measured, not assumed away)
            out.append(sc.with_attack(tokens_bound=True, attacker_misses_deadlines=True))
    return out


def dominance(cases, results, engine: str = HARDENED) -> list[tuple[str, str, bool, bool, str]]:
    """Per scenario and seed variant: is ``engine`` better on failed/accepted and on honest refused?

    Better = lower mean (a tie within 0.05 points counts as not worse on that axis).
    """
    out = []
    by = {(c.label, c.engine): r for c, r in zip(cases, results)}
    for label in dict.fromkeys(c.label for c in cases):
        ours = by.get((label, engine))
        if ours is None:
            continue
        for key in ENGINES:
            if not key.startswith("seed") or (label, key) not in by:
                continue
            theirs = by[(label, key)]
            f0, f1 = mean_ci(ours["failed_per_accepted"])[0], mean_ci(theirs["failed_per_accepted"])[0]
            h0, h1 = mean_ci(ours["honest_refused"])[0], mean_ci(theirs["honest_refused"])[0]
            out.append((label, key, f0 <= f1 + 0.0005, h0 <= h1 + 0.0005,
                        f"failed {100 * f0:.1f}% vs {100 * f1:.1f}%, honest refused {100 * h0:.1f}% vs {100 * h1:.1f}%"))
    return out


SHARED_ENGINES = ("seed-0.3", HARDENED, "shared")


def shared_cases(n: int = 100, newcomer_warmup: int = 10) -> list[Case]:
    """The shared-evidence table: (label, scenario) per regime and attack, every engine."""
    cold = dict(warmup_per_pair=0, measure_per_pair=8)
    rows: list[tuple[str, Scenario]] = [
        ("cold always-fail", Scenario(n=n, attack="always-fail", **cold)),
        ("cold camouflage f=0.6", Scenario(n=n, attack="camouflage", **cold)),
        ("steady always-fail", Scenario(n=n, attack="always-fail")),
        ("steady camouflage f=0.6", Scenario(n=n, attack="camouflage")),
    ]
    for attack in ("always-fail", "camouflage"):
        for pinned in (False, True):
            rows.append((f"newcomer {attack}{' +1 pinned' if pinned else ''}",
                         Scenario(n=n, attack=attack, warmup_per_pair=newcomer_warmup, newcomer=True, pinned=pinned)))
    rows += [
        ("cold slanderers", Scenario(n=n, attack="slanderer", **cold)),
        ("cold ballot-stuffing (camouflage)", Scenario(n=n, attack="camouflage", liars="ballot", **cold)),
        ("cold liars camouflage (always-fail)", Scenario(n=n, attack="always-fail", liars="camouflage", **cold)),
        ("sleepers (8+8)", Scenario(n=n, attack="sleeper", warmup_per_pair=8, measure_per_pair=8)),
        ("cold 85% always-fail", Scenario(n=n, malicious=0.85, attack="always-fail", **cold)),
    ]
    return [Case(f"N={n} {label}", sc, eng) for label, sc in rows for eng in SHARED_ENGINES]


def shared_main(args) -> int:
    cases = shared_cases(args.n, min(10, args.n))
    started = time.perf_counter()
    results, cpu = run_cases(cases, range(1, args.seeds + 1), args.jobs)
    wall = time.perf_counter() - started
    large = []
    large_results: list = []
    if args.large_seeds > 0:
        large = [Case(f"N={args.large_n} cold always-fail", Scenario(n=args.large_n, attack="always-fail",
                                                                      warmup_per_pair=0, measure_per_pair=8), eng)
                 for eng in (HARDENED, "shared")]
        large_results, large_cpu = run_cases(large, range(1, args.large_seeds + 1), args.jobs)
        cpu += large_cpu
    wall = time.perf_counter() - started
    print(f"Shared evidence: N=100, 70% malicious unless said, colluding liars unless said, honest failure rate 5%; "
          f"cold = no warm-up, 8 meetings per pair measured; steady = 30 + 30; newcomer = a fresh trainer's first "
          f"20 meetings per requester after a 10-meeting warm-up; {args.seeds} seeds, 95% intervals\n")
    print(table(cases, results))
    if large:
        print(f"\nLarge network ({args.large_seeds} seed(s)):\n")
        print(table(large, large_results))
    print(f"\n{(len(cases)) * args.seeds + len(large) * args.large_seeds} runs in {wall:.0f} s wall ({cpu:.0f} s CPU)")

    def m(label: str, metric: str, engine: str = "shared") -> float:
        for c, r in zip(cases, results):
            if c.label == f"N={args.n} {label}" and c.engine == engine:
                return mean_ci(r[metric])[0]
        return math.nan

    print("\nTargets (shared engine, figures from this run):")

    def check(ok: bool, text: str) -> None:
        print(f"  [{'MET' if ok else 'NOT MET'}] {text}")

    for label in ("cold always-fail", "cold camouflage f=0.6"):
        f, h = m(label, "failed_per_accepted"), m(label, "honest_refused")
        check(f <= 0.10 and h <= 0.05, f"{label}: failed/accepted {100 * f:.1f}% (≤ 10%), honest refused "
                                       f"{100 * h:.1f}% (≤ 5%)")
    for label in ("steady always-fail", "steady camouflage f=0.6"):
        f, h = m(label, "failed_per_accepted"), m(label, "honest_refused")
        fh, hh = m(label, "failed_per_accepted", HARDENED), m(label, "honest_refused", HARDENED)
        check(f <= fh + 0.0005 and h <= hh + 0.0005, f"{label} at least as good as hardened: failed "
              f"{100 * f:.1f}% vs {100 * fh:.1f}%, honest refused {100 * h:.1f}% vs {100 * hh:.1f}%")
    for attack in ("always-fail", "camouflage"):
        f = m(f"newcomer {attack} +1 pinned", "failed_per_accepted")
        f0 = m(f"newcomer {attack}", "failed_per_accepted")
        check(f <= 0.10, f"newcomer ({attack}) with a pinned reporter: failed/accepted {100 * f:.1f}% (≤ 10%); "
                         f"without one: {100 * f0:.1f}%")
    for label in ("cold slanderers", "cold ballot-stuffing (camouflage)", "cold liars camouflage (always-fail)",
                  "sleepers (8+8)", "cold 85% always-fail"):
        check(m(label, "honest_refused") <= 0.10, f"{label}: honest refused {100 * m(label, 'honest_refused'):.1f}% "
                                                 f"(≤ 10%), failed/accepted {100 * m(label, 'failed_per_accepted'):.1f}%")
    f = m("cold ballot-stuffing (camouflage)", "failed_per_accepted")
    check(f <= 0.12, f"ballot-stuffing: failed/accepted {100 * f:.1f}% (≤ 12%)")

    print("\nDefault rule: which engine is no worse than every other on both axes in every row?")
    labels = list(dict.fromkeys(c.label for c in cases))
    by = {(c.label, c.engine): r for c, r in zip(cases, results)}
    for eng in SHARED_ENGINES:
        losses = []
        for label in labels:
            f0, h0 = (mean_ci(by[(label, eng)][k])[0] for k in ("failed_per_accepted", "honest_refused"))
            for other in SHARED_ENGINES:
                if other == eng:
                    continue
                f1, h1 = (mean_ci(by[(label, other)][k])[0] for k in ("failed_per_accepted", "honest_refused"))
                if f0 > f1 + 0.0005 or h0 > h1 + 0.0005:
                    losses.append(f"{label} vs {ENGINES[other].label}: failed {100 * f0:.1f}% vs {100 * f1:.1f}%, "
                                  f"honest refused {100 * h0:.1f}% vs {100 * h1:.1f}%")
        print(f"  {ENGINES[eng].label}: {'wins everywhere' if not losses else f'worse on some axis in {len(losses)} comparisons'}")
        for line in losses[:12]:
            print(f"      {line}")
    if chart(args.chart, cases, results, note=lambda msg: print(msg)):
        print(f"\nchart: {args.chart}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", action="store_true", help="the shared-evidence benchmark (issue 11) instead")
    p.add_argument("--n", type=int, default=100, help="with --shared: the network size (default 100)")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--chart", default=os.path.join("benchmarks", "trust.png"))
    p.add_argument("--no-sweep", action="store_true", help="skip the camouflage sweep (chart panel)")
    p.add_argument("--sweep-seeds", type=int, default=5)
    p.add_argument("--large-n", type=int, default=1000, help="the large network's size (default 1000)")
    p.add_argument("--large-seeds", type=int, default=2,
                   help="seeds for the large-network table (default 2; 0 skips it)")
    args = p.parse_args(argv)
    if args.shared:
        if args.chart == os.path.join("benchmarks", "trust.png"):
            args.chart = os.path.join("benchmarks", "trust_shared.png")
        return shared_main(args)

    cases = [Case(label_for(sc), sc, eng) for sc in headline_scenarios() for eng in ENGINES]
    started = time.perf_counter()
    results, cpu = run_cases(cases, range(1, args.seeds + 1), args.jobs)
    sweep_rows = []
    if not args.no_sweep:
        sweep_engines = ("seed-0.3", HARDENED)
        sweep_cases = [Case(f"f={f}", Scenario(attack="camouflage").with_attack(camouflage_success=f), eng)
                       for f in CAMOUFLAGE_SWEEP for eng in sweep_engines]
        sweep_results, sweep_cpu = run_cases(sweep_cases, range(1, args.sweep_seeds + 1), args.jobs)
        cpu += sweep_cpu
        sweep_rows = [(c.scenario.attack_settings.camouflage_success, c.engine, r["failed_per_accepted"])
                      for c, r in zip(sweep_cases, sweep_results)]
    wall = time.perf_counter() - started
    large_cases, large_results, large_wall, large_cpu = [], [], 0.0, 0.0
    if args.large_seeds > 0:
        t0 = time.perf_counter()
        large_cases = [Case(label_for(sc), sc, eng) for sc in headline_scenarios(args.large_n) for eng in ENGINES]
        large_results, large_cpu = run_cases(large_cases, range(1, args.large_seeds + 1), args.jobs)
        large_wall = time.perf_counter() - t0

    print(f"Trust benchmark: N=100, 70% malicious, honest failure rate 5%, 30 meetings per pair of "
          f"warm-up then 30 measured, {args.seeds} seeds, 95% intervals (Student's t)\n")
    print(table(cases, results))
    if sweep_rows:
        print(f"\ncamouflage sweep: failed/accepted by success probability f ({args.sweep_seeds} seeds)")
        xs = sorted({x for x, _, _ in sweep_rows})
        print("engine".ljust(16) + "".join(f"{x:>8g}" for x in xs))
        for eng in dict.fromkeys(e for _, e, _ in sweep_rows):
            vals = {x: mean_ci(v)[0] for x, e, v in sweep_rows if e == eng}
            print(ENGINES[eng].label.ljust(16) + "".join(f"{100 * vals[x]:7.1f}%" for x in xs))
    print(f"\n{len(cases) * args.seeds + len(sweep_rows) * args.sweep_seeds} runs in {wall:.0f} s wall "
          f"({cpu:.0f} s CPU)")
    if large_cases:
        print(f"\nLarge network: N={args.large_n}, 70% malicious, same settings (each requester samples 30 "
              f"deciders), {args.large_seeds} seeds\n")
        print(table(large_cases, large_results))
        print(f"\n{len(large_cases) * args.large_seeds} runs in {large_wall:.0f} s wall ({large_cpu:.0f} s CPU)")

    def get(label_start: str, metric: str, engine: str = HARDENED) -> tuple[float, float]:
        for c, r in zip(cases, results):
            if c.label.startswith(label_start) and c.engine == engine:
                m, hw, _ = mean_ci(r[metric])
                return m, hw
        return math.nan, math.nan

    print("\nTargets (hardened engine, figures from this run):")
    met_all = True

    def check(ok: bool, text: str, why: str = "") -> None:
        nonlocal met_all
        met_all &= ok
        print(f"  [{'MET' if ok else 'NOT MET'}] {text}" + (f"\n      why: {why}" if why and not ok else ""))

    why_failures = {
        "always-fail": "each identity gets one probation and one second chance per decider",
        "camouflage": "a peer failing 20-40% needs ~20 outcomes before the likelihood-ratio test can tell it "
                      "from an honest 5%-failing peer at the refusal odds chosen to keep honest refusals low",
        "threshold-rider": "the rider knows the rule and fails just as often as the test allows (~11%)",
    }
    for label in ("N=100 70% always-fail", "N=100 70% camouflage", "N=100 70% threshold-rider"):
        m, hw = get(label, "failed_per_accepted")
        attack = label.split()[-1]
        check(m <= 0.10, f"failed/accepted ≤ 10% for {attack}: {100 * m:.1f}% ±{100 * hw:.1f}",
              why_failures[attack])
    if sweep_rows:
        worst = max((mean_ci(v)[0], x) for x, e, v in sweep_rows if e == HARDENED)
        check(worst[0] <= 0.10, f"camouflage over the whole sweep: worst {100 * worst[0]:.1f}% at f={worst[1]:g}",
              "near f = 0.8 a camouflage peer is hard to tell from an honest 95% one within the 60 meetings a pair has")
    worst_h = max((mean_ci(r["honest_refused"])[0], c.label) for c, r in zip(cases, results)
                  if c.engine == HARDENED)
    check(worst_h[0] <= 0.05, f"honest requests refused ≤ 5%: worst {100 * worst_h[0]:.1f}% ({worst_h[1]})",
          "honest peers unlucky early wait for a re-probe")
    worst_r = min((mean_ci(r["recovered_within_10"])[0], c.label) for c, r in zip(cases, results)
                  if c.engine == HARDENED)
    worst_t = min((mean_ci(r["trusted_recovered_within_10"])[0], c.label) for c, r in zip(cases, results)
                  if c.engine == HARDENED)
    mean_rec = max(mean_ci(r["recovery"])[0] for c, r in zip(cases, results) if c.engine == HARDENED)
    check(worst_t[0] >= 1.0, f"honest peer trusted again within 10 interactions after a 3-failure outage: "
          f"{100 * worst_t[0]:.1f}% of the outage pairs the decider trusted when the outage began, at worst "
          f"({worst_t[1]}); mean recovery ≤ {mean_rec:.1f}",
          "some pairs trusted before the outage waited longer than 10 meetings")
    print(f"      all outage pairs, including those already refused before the outage (an honest peer's "
          f"earlier bad luck, not the outage): {100 * worst_r[0]:.0f}% at worst ({worst_r[1]})")
    free, hw = get("N=100 70% whitewasher (ids bound)", "free_failures")
    total, _ = get("N=100 70% whitewasher (ids bound)", "failures_per_identity")
    check(total <= 1.0, f"whitewasher with ids bound to tokens: {total:.2f} failures per identity per decider "
          f"in all ({free:.2f} before its first refusal)",
          "an identity got more than its one probation failure")
    total_d, _ = get("N=100 70% whitewasher (ids bound, misses deadlines)", "failures_per_identity")
    print(f"      the same attacker failing by missed deadlines instead of bad deliveries: {total_d:.2f} per "
          f"identity per decider (it gets the second chance an honest peer's missed deadline gets)")
    if not met_all:
        print("\nNot every target is met; see 'why' above.")

    print("\nDefault: is hardened better than every seed variant on both axes (failed/accepted and "
          "honest refused) for every attacker? (N=100)")
    rows = dominance(cases, results)
    losses = [r for r in rows if not (r[2] and r[3])]
    for label, key, f_ok, h_ok, text in rows:
        if not (f_ok and h_ok):
            print(f"  [worse on {'failures' if not f_ok else ''}{' and ' if not f_ok and not h_ok else ''}"
                  f"{'honest refusals' if not h_ok else ''}] {label} vs {ENGINES[key].label}: {text}")
    print(f"  {'YES' if not losses else 'NO'}: hardened is better on both axes in "
          f"{len(rows) - len(losses)} of {len(rows)} comparisons")
    if large_cases:
        lrows = dominance(large_cases, large_results)
        llosses = [r for r in lrows if not (r[2] and r[3])]
        print(f"  N={args.large_n}: better on both axes in {len(lrows) - len(llosses)} of {len(lrows)} comparisons")

    if chart(args.chart, cases, results,
             {"camouflage: failed/accepted vs f": ("camouflage success probability f", sweep_rows)}
             if sweep_rows else None,
             note=lambda m: print(m)):
        print(f"\nchart: {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
