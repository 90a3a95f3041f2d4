"""The ``shared`` acceptance policy: the hardened decision, with what other trainers saw beside it.

``reputation[peer]`` stays the seed's EWMA of our own outcomes; reports never change it.
They are a second body of evidence (``RequestContext.network``, a ``witness.NetworkView``:
the log-odds that the peer is a good collaborator, from our own record and the claims of
the reporters we believe, pooled as described in ``core/witness.py``).

Our own record is judged by ``HardenedPolicy``'s rules, with two changes for a peer whose
latest outcome is a bad delivery (an invalid component, not a missed deadline):

- a run of failures ending in one is no outage: no grace, no forgiven dip, the run counts
  in full;
- a peer that has delivered before is refused at once, whatever its score, and looked at
  again by hardened's re-probe 600 s after the bad delivery. If that fails too, the run is
  judged by the strict rules above: hardened's quick look after a burst (60 s, while the
  record before the run passes) and none beyond its cap. An honest peer's bad luck shows
  as missed deadlines; a peer that starts delivering garbage after a good record (a sleeper
  that turned) is stopped at its first bad delivery, not its second (the seed's rule, where
  one failure from a good score stays above the threshold).

And one change for a peer whose latest outcomes are missed deadlines: after ``outage_after``
(2) in a row from a peer that has delivered before, it is refused for ``outage_pause_s`` (90 s)
after the last one (rule ``outage``): it is probably down, and a request from it now would
most likely miss its deadline too. Reports say whether a peer is honest, not whether it is up,
so no report vouches it through those seconds; after them it is judged as before (an honest
peer's outage is forgiven by the hardened rules or vouched for by the reports).

Rules, in order (the first that fires decides):

1. no believed report (nobody we believe has said anything): the hardened verdict, as above
   (an acceptance becomes an ``outage`` refusal during those seconds);
2. ``reports`` refusal — the combined log-odds (our record, the reports, and for a peer we
   never met how strangers have turned out for us) are below -``refuse_odds`` (1.5, odds
   of about 1 : 4.5): refuse, even a peer we have never met. Reporters not yet proven can
   tip a close call but never decide it alone (``witness.CROWD_CAP``, ``WEAK_CAP``);
   Unless it is a *probe*: a peer we never met, refused only because the crowd, the
   stranger prior and what the liars we caught agree on add to what the reporters we believe
   say (they alone would not refuse it), or praised by ``probe_contested`` (3) reporters we
   believe as accusers (our witnesses disagree), is accepted in one second of
   ``probe_one_in`` (32). Evidence that thin is often an honest peer's one missed deadline
   somewhere, and a refusal on it would be for ever: nobody would meet the peer again to
   say otherwise. And accusers believed on a few passed checks (a framing ring's
   accomplices) are caught only by meeting a peer they slander: one probe checks every
   accusation of it at once;
3. ``outage`` — the hardened rules accept, but the peer is in its outage seconds: refuse;
4. ``reports`` vouching — the hardened rules refused on our own record (``evidence`` or
   ``trust``), but the combined log-odds are above ``vouch_odds``, the peer's latest
   failure with us was a missed deadline and it is not in its outage seconds: accept (an
   honest peer's run of bad luck with us is outweighed by what the others saw; a bad
   delivery is first-hand evidence no report outweighs — sleepers that turn vouch for each
   other);
5. otherwise the hardened verdict, with what the reports said appended to its reason.

Every reason that reports decided says so: ``reports: 0 ✓ / 9 ✗ from 4 reporters
(belief ≥ 0.90); ours 0 ✓ / 0 ✗; log-odds -8.1 < -1.5``.
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, replace

from .hardened import RULE_EVIDENCE, RULE_REPROBE, HardenedPolicy, HardenedSettings
from .policy import RULE_TRUST, ComplementTable, Decision, RequestContext, Rule

RULE_REPORTS = "reports"
RULE_OUTAGE = Rule.OUTAGE


@dataclass(frozen=True, slots=True)
class SharedSettings:
    refuse_odds: float = 1.5
    vouch_odds: float = 4.0
    outage_after: int = 2        # missed deadlines in a row (after a delivery) that look like an outage...
    outage_pause_s: float = 90.0     # ...refused for this long after the last one (0: never)
    probe_one_in: int = 32       # a stranger refused on thin reports is accepted once in this many seconds
    probe_contested: int = 3     # ...and one praised by this many reporters we believe as accusers

    def __post_init__(self) -> None:
        if self.refuse_odds < 0 or self.vouch_odds < 0:
            raise ValueError("shared refuse_odds and vouch_odds must not be negative")
        if self.outage_after < 1 or self.outage_pause_s < 0:
            raise ValueError("shared outage_after must be at least 1 and outage_pause_s not negative")
        if self.probe_one_in < 0:
            raise ValueError("shared probe_one_in must not be negative (0: never probe)")
        if self.probe_contested < 1:
            raise ValueError("shared probe_contested must be at least 1")


class SharedPolicy:
    """Hardened, plus the weighted reports of other trainers (see module doc)."""

    name = "shared"
    uses_reports = True

    def __init__(self, complements: ComplementTable | None = None,
                 settings: SharedSettings | None = None,
                 hardened: HardenedSettings | None = None) -> None:
        self.complements = complements or ComplementTable()
        self.settings = settings or SharedSettings()
        self.salt = os.urandom(16)        # the probe's secret key (``_probe``)
        self.hardened = HardenedPolicy(self.complements, hardened)
        # a run of failures that ends in a bad delivery is no outage: no grace, no forgiven dip
        self.strict = HardenedPolicy(self.complements, replace(self.hardened.settings, outage_grace=0,
                                                               forgive_odds=math.inf))

    def _own(self, ctx: RequestContext) -> HardenedPolicy:
        """The hardened rules that judge our own record: ``strict`` after a bad delivery."""
        if ctx.failure_streak > 0 and not ctx.last_failure_missed_deadline:
            return self.strict
        return self.hardened

    def outage_left(self, ctx: RequestContext) -> float:
        """Seconds left of an outage refusal (0: none). A peer that has delivered before and whose
        latest ``outage_after`` outcomes are missed deadlines is probably down; a request from
        it now would most likely miss its deadline too."""
        s = self.settings
        if ctx.successes == 0 or ctx.failure_streak < s.outage_after or not ctx.last_failure_missed_deadline \
                or ctx.last_time is None or ctx.now is None:
            return 0.0
        return max(0.0, ctx.last_time + s.outage_pause_s - ctx.now)

    def stable_until(self, ctx: RequestContext) -> float:
        """Reports can change the verdict at any time (a new answer, a reporter re-judged):
        stable only while nobody we believe has reported on this peer; an outage refusal ends when it says."""
        view = ctx.network
        if view is not None and not view.empty:
            return ctx.now if ctx.now is not None else -math.inf
        until = self._own(ctx).stable_until(ctx)
        left = self.outage_left(ctx)
        return min(until, ctx.now + left) if left > 0 else until

    def _judge_own(self, ctx: RequestContext) -> Decision:
        """Our own record, judged by the hardened rules; a peer that delivered before and whose
        latest outcome is a bad delivery is refused until the rationed re-probe."""
        own = self._own(ctx)
        base = own.decide(ctx)
        if not base.accept or base.rule == RULE_REPROBE or ctx.successes == 0 \
                or ctx.failure_streak == 0 or ctx.last_failure_missed_deadline:
            return base
        return own.refused_until_reprobe(
            ctx, RULE_EVIDENCE, f"its latest outcome was a bad delivery ({ctx.successes} ✓ / {ctx.failures} ✗)",
            own.probe_wait(ctx.successes, ctx.failures, False))

    def _outage(self, ctx: RequestContext) -> Decision | None:
        left = self.outage_left(ctx)
        if left <= 0:
            return None
        s = self.settings
        return Decision(False, RULE_OUTAGE,
                        f"{ctx.failure_streak} missed deadlines in a row after {ctx.successes} "
                        f"{'delivery' if ctx.successes == 1 else 'deliveries'}: "
                        f"an outage? refused for {s.outage_pause_s:g} s, {left:.0f} s left", ctx.score, ctx.threshold)

    def _probe(self, ctx: RequestContext, view) -> bool:
        """A probe of a stranger refused on evidence that could seal itself: one we never met, whom
        the reporters we believe would not refuse on their own (only the crowd, the stranger prior
        and what the caught liars agree on take it below the line), or whom ``probe_contested``
        reporters we believe as accusers praise (the witnesses we believe disagree: a framing
        ring's accomplices, believed on a few passed checks, against honest ones). In one second of ``probe_one_in``,
        drawn per peer and second with our secret key (a peer cannot time its requests to our
        draw; the same second always draws the same)."""
        s = self.settings
        if ctx.observations or s.probe_one_in <= 0 or ctx.now is None:
            return False
        if view.proven <= -s.refuse_odds and view.contested < s.probe_contested:
            return False
        h = hashlib.blake2b(f"{ctx.initiator}|{int(ctx.now)}".encode(), key=self.salt, digest_size=4)
        return int.from_bytes(h.digest(), "big") % s.probe_one_in == 0

    def decide(self, ctx: RequestContext) -> Decision:
        base = self._judge_own(ctx)
        # an outage turns an acceptance into a refusal, and bars vouching; a refusal keeps its reason
        outage = self._outage(ctx)
        view = ctx.network
        if view is None or view.empty:
            return outage if outage is not None and base.accept else base
        s = self.settings
        total = view.combined
        said = view.describe()
        mine = f"ours {ctx.successes} ✓ / {ctx.failures} ✗"
        if total < -s.refuse_odds:
            if base.accept and self._probe(ctx, view):
                why = (f"the reporters we believe say {view.proven:.1f} alone" if view.proven > -s.refuse_odds else
                       f"{view.contested} reporter{'s' if view.contested != 1 else ''} we believe as "
                       f"accuser{'s' if view.contested != 1 else ''} praise{'s' if view.contested == 1 else ''} it")
                return Decision(True, base.rule,
                                f"probe: {said}; {mine}; log-odds {total:.1f} < -{s.refuse_odds:g}, but {why}; "
                                f"{base.reason}", ctx.score, ctx.threshold)
            return Decision(False, RULE_REPORTS,
                            f"{said}; {mine}; log-odds {total:.1f} < -{s.refuse_odds:g}",
                            ctx.score, ctx.threshold)
        if outage is not None and base.accept:
            return outage
        if not base.accept and base.rule in (RULE_EVIDENCE, RULE_TRUST) and total >= s.vouch_odds \
                and ctx.last_failure_missed_deadline and outage is None:
            return self.hardened._accept(ctx, RULE_REPORTS,
                                         f"{said} vouch: {mine}; log-odds {total:.1f} ≥ {s.vouch_odds:g} "
                                         f"(refused on our own: {base.reason})")
        return Decision(base.accept, base.rule, f"{base.reason}; {said}", base.score, base.threshold)
