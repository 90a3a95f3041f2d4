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
3. ``evidence`` — refuse a peer whose success rate is confidently below the bar: the
   Wilson upper bound of successes/observations is under ``quality``. This is what
   catches a peer that keeps a middling EWMA by mixing successes and failures
   (camouflage, threshold riders, on-off).
4. ``trust`` — the seed's rule: score ≥ threshold.
5. ``forgiven`` — a score dip below the threshold is forgiven for a peer with an
   established record (≥ ``forgive_min_obs`` outcomes, posterior mean success
   ≥ ``forgive_rate``): an honest peer's short outage does not lock it out.
6. ``re-probe`` — a refused peer is given one more chance once ``probe_after_s`` (doubled
   for each failure beyond the successes' credit) has passed since its last outcome. A
   peer that has never delivered gets exactly one second chance, then none until its
   record fades.
7. otherwise refuse (``trust`` or ``evidence``, with the numbers).

An accepted request then goes through the seed's complement and capacity rules.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .policy import (
    COMPLEMENT_TYPES, RULE_CAPACITY, RULE_COMPLEMENT, RULE_FULL, RULE_TRUST, ComplementTable, Decision,
    RequestContext, SeedPolicy,
)

RULE_PROBATION = "probation"
RULE_FADED = "faded"
RULE_EVIDENCE = "evidence"
RULE_FORGIVEN = "forgiven"
RULE_REPROBE = "re-probe"

POLICY_NAMES = ("seed", "hardened")


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
    quality: float = 0.92            # the success rate a collaborator must plausibly have
    z: float = 1.645                 # one-sided 95% for the upper bound
    min_evidence: float = 3.0        # outcomes before the evidence rule may refuse
    forgive_min_obs: int = 10
    forgive_rate: float = 0.80       # posterior mean (s+1)/(n+2) for forgiving a dip
    probe_after_s: float = 150.0     # wait before re-probing a refused peer
    max_probe_doublings: int = 12
    success_credit: int = 6          # each this many successes cancel one failure's doubling
    fade_half_life_s: float = 86_400.0
    fade_below: float = 0.5          # a record weighing less than this many outcomes is judged as new

    def __post_init__(self) -> None:
        for name in ("quality", "forgive_rate"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"hardened {name} must be between 0 and 1, got {v!r}")
        for name in ("z", "min_evidence", "probe_after_s", "fade_half_life_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"hardened {name} must not be negative, got {getattr(self, name)!r}")


class HardenedPolicy:
    """The seed's score with a confidence-aware decision around it (see module doc)."""

    name = "hardened"

    def __init__(self, complements: ComplementTable | None = None,
                 settings: HardenedSettings | None = None) -> None:
        self.complements = complements or ComplementTable()
        self.settings = settings or HardenedSettings()
        self._seed = SeedPolicy(self.complements)

    # ---- evidence --------------------------------------------------------
    def weight(self, ctx: RequestContext) -> float:
        """How much of the evidence still counts: halves every ``fade_half_life_s``."""
        hl = self.settings.fade_half_life_s
        if ctx.last_time is None or ctx.now is None or hl <= 0:
            return 1.0
        return 0.5 ** (max(0.0, ctx.now - ctx.last_time) / hl)

    def probe_wait(self, successes: int, failures: int) -> float | None:
        """Seconds after the last outcome before a refused peer is re-probed (None: never)."""
        s = self.settings
        if successes == 0 and failures > 1:
            return None  # never delivered and already had its second chance
        doublings = min(s.max_probe_doublings, max(0, failures - 1 - successes // max(1, s.success_credit)))
        return s.probe_after_s * (2 ** doublings)

    # ---- the decision ----------------------------------------------------
    def decide(self, ctx: RequestContext) -> Decision:
        s = self.settings
        score, threshold = ctx.score, ctx.threshold
        succ, fail = ctx.successes, ctx.failures
        n = succ + fail
        counts = f"{succ} of {n} succeeded"

        if n == 0:
            if score < threshold:
                return self._refuse(ctx, RULE_TRUST, f"unknown peer: reputation {score:.2f} < threshold "
                                                     f"{threshold:.2f}")
            return self._accept(ctx, RULE_PROBATION, f"unknown peer on probation: reputation {score:.2f} "
                                                     f"≥ {threshold:.2f}, no outcomes yet")
        w = self.weight(ctx)
        n_eff, s_eff = n * w, succ * w
        if n_eff < s.fade_below and score < threshold:
            return self._accept(ctx, RULE_FADED, f"record faded to {n_eff:.2f} observations "
                                                 f"({counts}, weight {w:.2f}): judged as new")
        refusal: tuple[str, str] | None = None
        if n_eff >= s.min_evidence:
            _, upper = wilson_bounds(s_eff, n_eff, s.z)
            if upper < s.quality:
                refusal = (RULE_EVIDENCE, f"success rate ≤ {upper:.2f} (upper bound, {counts}) "
                                          f"< bar {s.quality:.2f}")
        if refusal is None:
            if score >= threshold:
                return self._accept(ctx, RULE_TRUST, f"reputation {score:.2f} ≥ {threshold:.2f}; {counts}")
            mean = (succ + 1) / (n + 2)
            if n >= s.forgive_min_obs and mean >= s.forgive_rate:
                return self._accept(ctx, RULE_FORGIVEN,
                                    f"reputation {score:.2f} < {threshold:.2f} forgiven: {counts} "
                                    f"(mean {mean:.2f} ≥ {s.forgive_rate:.2f})")
            refusal = (RULE_TRUST, f"reputation {score:.2f} < threshold {threshold:.2f}; {counts}")
        wait = self.probe_wait(succ, fail)
        if wait is not None and ctx.last_time is not None and ctx.now is not None:
            elapsed = ctx.now - ctx.last_time
            if elapsed >= wait:
                return self._accept(ctx, RULE_REPROBE, f"re-probe after {elapsed:.0f} s ≥ {wait:.0f} s "
                                                       f"(refused for: {refusal[1]})")
        rule, reason = refusal
        if wait is None:
            reason += "; no re-probe: never delivered"
        elif ctx.last_time is not None and ctx.now is not None:
            reason += f"; re-probe in {max(0.0, wait - (ctx.now - ctx.last_time)):.0f} s"
        return self._refuse(ctx, rule, reason)

    def _refuse(self, ctx: RequestContext, rule: str, reason: str) -> Decision:
        return Decision(False, rule, reason, ctx.score, ctx.threshold)

    def _accept(self, ctx: RequestContext, rule: str, trusted: str) -> Decision:
        """Trusted: the seed's complement and capacity rules decide, keeping why we trusted."""
        if ctx.collaboration_type in COMPLEMENT_TYPES and ctx.initiator_specialization is not None:
            theirs = ctx.initiator_specialization
            if self.complements.complements(ctx.our_specialization, theirs):
                return Decision(True, RULE_COMPLEMENT if rule == RULE_TRUST else rule,
                                f"{theirs} complements {ctx.our_specialization}; {trusted}",
                                ctx.score, ctx.threshold)
        if ctx.active_sessions < ctx.max_active:
            return Decision(True, RULE_CAPACITY if rule == RULE_TRUST else rule,
                            f"{ctx.active_sessions} of {ctx.max_active} sessions active; {trusted}",
                            ctx.score, ctx.threshold)
        return Decision(False, RULE_FULL,
                        f"at capacity: {ctx.active_sessions} of {ctx.max_active} sessions active",
                        ctx.score, ctx.threshold)


def make_policy(name: str, complements: ComplementTable | dict | None = None,
                settings: HardenedSettings | None = None):
    """The acceptance policy called ``name`` ("seed" or "hardened")."""
    if not isinstance(complements, ComplementTable):
        complements = ComplementTable.from_mapping(complements)
    if name == "seed":
        return SeedPolicy(complements)
    if name == "hardened":
        return HardenedPolicy(complements, settings)
    raise ValueError(f"reputation policy must be one of {', '.join(map(repr, POLICY_NAMES))}, got {name!r}")
