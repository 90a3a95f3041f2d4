"""The hardened acceptance policy: the seed's score, decided with its evidence.

The score stays the seed's EWMA (``reputation[peer]``, the α the operator edits); this
policy only changes how a request is *decided*, looking at the evidence beside the
score (successes, failures, when the last outcome was seen, the current time). Like
``SeedPolicy`` it is pure: everything comes in through the ``RequestContext``, nothing
is remembered between calls, so asking "what would you decide?" has no side effects.

Rules, in order (the first that fires gives the decision and its reason):

1. ``probation`` — an unknown peer (no outcome yet) is given its first chance, as the
   seed does (neutral 0.5 against the threshold).
2. ``faded`` — a record whose evidence has decayed below ``fade_below`` outcomes (half-life
   ``fade_half_life_s`` of wall-clock time since the last outcome) is judged as new:
   the decision's view decays toward the prior, the score itself does not change.
3. ``evidence`` — a sequential likelihood-ratio test (Wald): refuse when the record is
   more than e**``refuse_odds`` (e^2.5 ≈ 12) times likelier from a ``bad_rate`` (83%)
   collaborator than from a ``good_rate`` (95%, an honest peer's rate) one. One failure
   weighs as much as ~9 successes: the line allows about 10% failures plus ~1.8 for luck,
   so a peer failing 20% is refused after ~15-20 outcomes while an honest 5% peer rarely
   crosses it, and "unknown" and "50 of 100" are no longer the same 0.5. A current run
   of at most ``outage_grace`` failures after some successes is judged as an outage: the
   test looks at the record before it (the run counts as soon as a success ends it).
4. ``trust`` — the seed's rule: score ≥ threshold.
5. ``forgiven`` — a score dip below the threshold is forgiven for a peer that has
   delivered when the record (before a current outage run) passes the evidence test
   (``forgive_odds``, by default the refusal line): an honest peer's short outage does
   not lock it out.
6. ``re-probe`` — a refused peer gets one probe per back-off window: ``probe_after_s``
   after its last outcome, ×``probe_growth`` per failure past the refusal line, none
   beyond ``probe_cap`` such failures (until the record fades). A peer refused only for
   a run of failures longer than the grace (its record before the run passes) is looked
   at again after ``run_probe_after_s``: an outage that ran one failure long. A peer that
   has never delivered gets ``never_delivered_probes`` (one) second chance, and only if
   its failure was a missed deadline (an honest peer's bad luck), not a bad delivery.
7. otherwise refuse (``trust`` or ``evidence``, with the numbers).

An accepted request then goes through the seed's complement and capacity rules.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .numbers import tell_apart
from .policy import (
    RULE_TRUST, ComplementTable, Decision, RequestContext, Rule, SeedPolicy, trusted_verdict,
)

RULE_PROBATION = Rule.PROBATION
RULE_FADED = Rule.FADED
RULE_EVIDENCE = Rule.EVIDENCE
RULE_FORGIVEN = Rule.FORGIVEN
RULE_REPROBE = Rule.REPROBE


def wilson_bounds(successes: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval of a success rate (works with fractional, decayed counts)."""
    if n <= 0:
        return 0.0, 1.0
    p = min(1.0, max(0.0, successes / n))
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(max(0.0, p * (1 - p) / n + z2 / (4 * n * n)))
    denom = 1 + z2 / n
    return max(0.0, (centre - margin) / denom), min(1.0, (centre + margin) / denom)


@dataclass(frozen=True, slots=True)
class HardenedSettings:
    good_rate: float = 0.95          # an honest collaborator's success rate...
    bad_rate: float = 0.83           # ...and one we refuse to keep working with
    refuse_odds: float = 2.5         # refuse when the record favours bad over good by e**this (log-likelihood)
    forgive_odds: float | None = None   # forgive a score dip when the record (before a current outage run)
                                        # has at least these log-odds (None: the refusal line, -refuse_odds)
    outage_grace: int = 3            # a current run of up to this many failures is judged as an outage
    quality: float = 0.92            # the bar the re-probe back-off counts excess failures against
    z: float = 1.645                 # for the Wilson interval shown beside the score
    probe_after_s: float = 600.0     # wait before re-probing a refused peer
    probe_growth: float = 8.0        # the wait multiplies by this per failure beyond what the bar allows
    probe_cap: float = 4.0           # more excess failures than this: no re-probe until the record fades
    second_chance_after_s: float = 150.0   # wait before a never-delivered peer's second chance
    run_probe_after_s: float = 60.0      # wait before re-probing a peer refused only for a current run of
                                         # failures longer than the grace (its record before the run passes)
    never_delivered_probes: int = 1  # second chances for a peer that has never delivered (missed deadlines only)
    fade_half_life_s: float = 86_400.0
    fade_below: float = 0.5          # a record weighing less than this many outcomes is judged as new

    def __post_init__(self) -> None:
        for name in ("quality", "good_rate", "bad_rate"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"hardened {name} must be between 0 and 1, got {v!r}")
        if not self.bad_rate < self.good_rate:
            raise ValueError(f"hardened bad_rate must be below good_rate, got {self.bad_rate!r} ≥ {self.good_rate!r}")
        for name in ("z", "refuse_odds", "probe_after_s", "fade_half_life_s", "probe_cap",
                     "outage_grace", "never_delivered_probes"):
            if getattr(self, name) < 0:
                raise ValueError(f"hardened {name} must not be negative, got {getattr(self, name)!r}")
        if self.probe_growth < 1:
            raise ValueError(f"hardened probe_growth must be at least 1, got {self.probe_growth!r}")


class HardenedPolicy:
    """The seed's score with a confidence-aware decision around it (see module doc)."""

    name = "hardened"

    def __init__(self, complements: ComplementTable | None = None,
                 settings: HardenedSettings | None = None) -> None:
        self.complements = complements or ComplementTable()
        self.settings = settings or HardenedSettings()
        self._seed = SeedPolicy(self.complements)

    @property
    def forgive_line(self) -> float:
        s = self.settings
        return -s.refuse_odds if s.forgive_odds is None else s.forgive_odds

    # ---- evidence --------------------------------------------------------
    def weight(self, ctx: RequestContext) -> float:
        """How much of the evidence still counts: halves every ``fade_half_life_s``."""
        hl = self.settings.fade_half_life_s
        if ctx.last_time is None or ctx.now is None or hl <= 0:
            return 1.0
        return 0.5 ** (max(0.0, ctx.now - ctx.last_time) / hl)

    def log_odds(self, successes: float, failures: float) -> float:
        """log P(record | good_rate) / P(record | bad_rate): > 0 favours good, < 0 bad."""
        s = self.settings
        return (successes * math.log(s.good_rate / s.bad_rate)
                + failures * math.log((1 - s.good_rate) / (1 - s.bad_rate)))

    def excess_failures(self, successes: float, failures: float) -> float:
        """How many failures the record is past the refusal line (≤ 0: not past it)."""
        s = self.settings
        per_failure = math.log((1 - s.bad_rate) / (1 - s.good_rate))
        return (-self.log_odds(successes, failures) - s.refuse_odds) / per_failure

    def probe_wait(self, successes: int, failures: int, missed_deadline: bool = True) -> float | None:
        """Seconds after the last outcome before a refused peer is re-probed (None: not any more).

        One probe per window (a probe is an outcome, which restarts the window). A peer that
        never delivered gets ``never_delivered_probes`` second chances if its latest failure
        was a missed deadline (``missed_deadline``), none after a bad delivery; otherwise the wait
        grows ``probe_growth``-fold per failure past the refusal line, and stops (until the
        record fades) beyond ``probe_cap`` such failures.
        """
        s = self.settings
        if successes == 0:
            if not missed_deadline:
                return None
            return s.second_chance_after_s if failures <= s.never_delivered_probes else None
        excess = max(0.0, self.excess_failures(successes, failures))
        if excess > s.probe_cap:
            return None
        return s.probe_after_s * s.probe_growth ** excess

    def stable_until(self, ctx: RequestContext) -> float:
        """A time up to which ``decide`` gives the same verdict if only ``ctx.now`` moves on.

        Conservative (it may name an earlier time than the real change, never a later one):
        the verdict on an unchanged record can only change when a re-probe window opens, or
        when the fading weight carries a log-odds value across one of the lines, or the
        record across ``fade_below``. ``math.inf``: time alone never changes it. Lets a
        caller (the simulation) skip re-asking about a refused peer that has not moved.
        """
        s = self.settings
        succ, fail = ctx.successes, ctx.failures
        n = succ + fail
        if n == 0 or ctx.last_time is None or ctx.now is None:
            return math.inf          # the verdict does not depend on the time
        last = ctx.last_time
        until = math.inf
        wait = self.probe_wait(succ, fail, ctx.last_failure_missed_deadline)
        if wait is not None:
            quick = succ > 0 and ctx.failure_streak > s.outage_grace
            until = min(until, last + (min(wait, s.run_probe_after_s) if quick else wait))
        hl = s.fade_half_life_s
        if hl > 0:
            until = min(until, last + hl * math.log2(n / s.fade_below) if n > s.fade_below else last)
            streak = ctx.failure_streak
            run = streak if 0 < streak <= s.outage_grace and succ > 0 else 0
            lines = (-s.refuse_odds, self.forgive_line)
            for x in (self.log_odds(succ, fail - run), self.log_odds(succ, fail - streak)):
                for line in lines:
                    if line != 0 and x / line > 1:     # same sign, |x| > |line|: w·x crosses it
                        until = min(until, last + hl * math.log2(x / line))
        return until

    # ---- the decision ----------------------------------------------------
    def decide(self, ctx: RequestContext) -> Decision:
        s = self.settings
        score, threshold = ctx.score, ctx.threshold
        succ, fail = ctx.successes, ctx.failures
        n = succ + fail
        counts = f"{succ} of {n} succeeded"
        sc, th = tell_apart(score, threshold)   # as many digits as make the comparison read true

        if n == 0:
            if score < threshold:
                return self._refuse(ctx, RULE_TRUST, f"unknown peer: reputation {sc} < threshold "
                                                     f"{th}")
            return self._accept(ctx, RULE_PROBATION, f"unknown peer on probation: reputation {sc} "
                                                     f"≥ {th}, no outcomes yet")
        w = self.weight(ctx)
        n_eff, s_eff = n * w, succ * w
        if n_eff < s.fade_below and score < threshold:
            return self._accept(ctx, RULE_FADED, f"record faded to {n_eff:.2f} observations "
                                                 f"({counts}, weight {w:.2f}): judged as new")
        # A current run of a few failures after a record is judged as an outage: the
        # evidence and forgiveness look at the record before it.
        run = ctx.failure_streak if 0 < ctx.failure_streak <= s.outage_grace and succ > 0 else 0
        base_f = fail - run
        refusal: tuple[str, str] | None = None
        odds = self.log_odds(s_eff, base_f * w)
        before = f"{succ} of {succ + base_f} succeeded before {run} failures in a row" if run else counts
        if odds < -s.refuse_odds:
            refusal = (RULE_EVIDENCE, f"record favours a {s.bad_rate:.0%} collaborator over a {s.good_rate:.0%} one: "
                                      f"log-odds {tell_apart(odds, -s.refuse_odds)[0]} < -{s.refuse_odds:g} ({before})")
        if refusal is None:
            if score >= threshold:
                return self._accept(ctx, RULE_TRUST, f"reputation {sc} ≥ {th}; {counts}")
            forgive = self.forgive_line
            if odds >= forgive and succ > 0:
                return self._accept(ctx, RULE_FORGIVEN,
                                    f"reputation {sc} < {th} forgiven: {before} "
                                    f"(log-odds {odds:.2f} ≥ {forgive:g})")
            refusal = (RULE_TRUST, f"reputation {sc} < threshold {th}; {counts}")
        wait = self.probe_wait(succ, fail, ctx.last_failure_missed_deadline)
        streak = ctx.failure_streak
        if wait is not None and succ > 0 and streak > s.outage_grace \
                and self.log_odds(s_eff, (fail - streak) * w) >= -s.refuse_odds:
            wait = min(wait, s.run_probe_after_s)     # refused for a burst (an outage?): look again soon
        return self.refused_until_reprobe(ctx, *refusal, wait)

    def refused_until_reprobe(self, ctx: RequestContext, rule: str, reason: str, wait: float | None) -> Decision:
        """A refusal on our own record (``rule``, ``reason``), unless ``wait`` seconds have passed
        since the last outcome: then the rationed re-probe accepts. ``wait`` None: no re-probe."""
        if wait is not None and ctx.last_time is not None and ctx.now is not None:
            elapsed = ctx.now - ctx.last_time
            if elapsed >= wait:
                return self._accept(ctx, RULE_REPROBE, f"re-probe after {elapsed:.0f} s ≥ {wait:.0f} s "
                                                       f"(refused for: {reason})")
        if wait is None:
            reason += (("; no re-probe: never delivered" if ctx.last_failure_missed_deadline
                        else "; no re-probe: never delivered, failed with a bad delivery")
                       if ctx.successes == 0 else "; no more re-probes")
        elif ctx.last_time is not None and ctx.now is not None:
            reason += f"; re-probe in {max(0.0, wait - (ctx.now - ctx.last_time)):.0f} s"
        return self._refuse(ctx, rule, reason)

    def _refuse(self, ctx: RequestContext, rule: str, reason: str) -> Decision:
        return Decision(False, rule, reason, ctx.score, ctx.threshold)

    def _accept(self, ctx: RequestContext, rule: str, trusted: str) -> Decision:
        """Trusted: the seed's complement and capacity rules decide, keeping why we trusted."""
        return trusted_verdict(ctx, self.complements, trusted, rule)
