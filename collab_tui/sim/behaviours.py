"""How a simulated requester behaves once a decider has accepted its request.

Each behaviour answers one question: does this accepted collaboration succeed? Some
keep per-decider state (on-off counts its collaborations with each decider); the
threshold rider looks at the decider's real policy to see whether it can afford to fail.
"""
from __future__ import annotations

import dataclasses
import random
import zlib

from ..core.policy import DEADLINE_MISSED
from ..core.reputation import ewma

HONEST = "honest"
ALWAYS_FAIL = "always-fail"
CAMOUFLAGE = "camouflage"
ON_OFF = "on-off"
RIDER = "threshold-rider"
WHITEWASHER = "whitewasher"
SLANDERER = "slanderer"      # delivers like an honest peer, badmouths honest peers in its reports
SLEEPER = "sleeper"          # honest (and truthful) until mid-run, then always-fail with colluding lies
ATTACKS = (ALWAYS_FAIL, CAMOUFLAGE, ON_OFF, RIDER, WHITEWASHER)
REPORT_ATTACKS = (SLANDERER, SLEEPER)
ALL_ATTACKS = ATTACKS + REPORT_ATTACKS

# What malicious peers say when asked about others (``--liars``):
LIARS = ("none", "badmouth", "collude", "camouflage", "ballot", "framing")
#   none:       they tell the truth about what they saw;
#   badmouth:   honest peers are reported as failing every time, nothing said of attackers;
#   collude:    attackers praised, honest peers badmouthed;
#   camouflage: the truth 60% of the time, colluding lies otherwise;
#   ballot:     attackers praised, honest peers never badmouthed (ballot-stuffing only);
#   framing:    half the ring (``framing_role``) praises every peer, honest ones too, and is soon
#               caught on the attackers; the other half badmouths honest peers only, contradicting
#               the first half on every one of them (docs/trust.md, "The attack it invites").
CLAIMED_OUTCOMES = 8.0       # how many outcomes a lie claims (weighed at most 10 anyway)


@dataclasses.dataclass(frozen=True, slots=True)
class AttackSettings:
    honest_failure: float = 0.05      # an honest peer's ordinary failure rate
    camouflage_success: float = 0.6   # camouflage: succeeds with this probability
    on_good: int = 10                 # on-off: good for this many collaborations...
    on_bad: int = 3                   # ...then bad for this many, repeating
    identity_cost: int = 5            # whitewasher: rounds sat out to obtain a new id
    tokens_bound: bool = False        # whitewasher: ids bound to tokens, no new ids
    outage_failures: int = 3          # honest-outage control: failures in a row
    attacker_misses_deadlines: bool = False   # attackers fail by missing the deadline (default: a bad delivery)


# How a failure reaches the decider (the reason its trainer records): an honest peer's
# failures (bad luck, an outage) are missed deadlines; an attacker's are bad deliveries
# (garbage, a component that fails validation) unless it chooses to miss deadlines.
BAD_DELIVERY = "invalid component"


def failure_reason(kind: str, settings: AttackSettings) -> str:
    if kind == HONEST or settings.attacker_misses_deadlines:
        return DEADLINE_MISSED
    return BAD_DELIVERY


def succeeds(kind: str, rng: random.Random, settings: AttackSettings, decider, peer_id: str,
             pair_count: int, ctype: str, ctx=None) -> bool:
    """The outcome of one accepted collaboration of ``peer_id`` with ``decider``.

    ``pair_count`` is how many collaborations this peer has had accepted by this decider
    before this one (for on-off); ``ctx``, if given, is the request context the decider
    just decided on (the rider starts from it instead of asking for it again).
    """
    if kind == HONEST or kind == SLANDERER:
        return rng.random() >= settings.honest_failure
    if kind in (ALWAYS_FAIL, WHITEWASHER):
        return False
    if kind == CAMOUFLAGE:
        return rng.random() < settings.camouflage_success
    if kind == ON_OFF:
        return pair_count % (settings.on_good + settings.on_bad) < settings.on_good
    if kind == RIDER:
        return not rider_can_afford_failure(decider, peer_id, ctype, settings, ctx)
    raise ValueError(f"unknown behaviour {kind!r}")


def rider_can_afford_failure(decider, peer_id: str, ctype: str,
                             settings: AttackSettings = AttackSettings(), ctx=None) -> bool:
    """Would ``decider`` still accept this peer's next request if this one failed?

    The rider is granted full knowledge of the decider: it asks the decider's own
    policy about the context the failure would leave behind (the seed's EWMA step, one
    more failure, the last outcome now). The policy is pure, so asking changes nothing.
    """
    if getattr(decider.policy, "accepts_everything", False):
        return True                      # the "none" baseline: nothing to ask
    if ctx is None:
        ctx = decider.request_context(ctype, peer_id)
    after = dataclasses.replace(
        ctx, score=ewma(ctx.score, False, decider.book.alpha), failures=ctx.failures + 1,
        observations=ctx.observations + 1, last_time=ctx.now,
        failure_streak=ctx.failure_streak + 1,
        last_failure_missed_deadline=failure_reason(RIDER, settings) == DEADLINE_MISSED)
    return decider.policy.decide(after).accept


def framing_role(reporter: str) -> str:
    """A framing liar's half of the ring, by its id: ``"sacrifice"`` (praises every peer) or
    ``"accomplice"`` (badmouths honest peers only)."""
    return "sacrifice" if zlib.crc32(reporter.encode()) % 2 == 0 else "accomplice"


def claim(liars: str, liar_kind: str, subject_bad: bool, rng: random.Random,
          truth: tuple[float, float] | None, reporter: str = "") -> tuple[float, float] | None:
    """What a malicious reporter says of a subject: (successes, failures), or None (says nothing).

    ``truth`` is what an honest witness would say (None: nothing seen); ``subject_bad``
    whether the subject is one of the attackers; ``reporter`` the liar's id (for ``framing``).
    """
    if liar_kind == SLANDERER:
        return (0.0, CLAIMED_OUTCOMES) if not subject_bad else (CLAIMED_OUTCOMES, 0.0)
    if liars == "framing":
        if framing_role(reporter) == "sacrifice":
            return (CLAIMED_OUTCOMES, 0.0)
        return None if subject_bad else (0.0, CLAIMED_OUTCOMES)
    if liars == "none" or (liars == "camouflage" and rng.random() < 0.6):
        return truth
    if subject_bad:
        return None if liars == "badmouth" else (CLAIMED_OUTCOMES, 0.0)
    return None if liars == "ballot" else (0.0, CLAIMED_OUTCOMES)


def true_claim(subject_kind: str, settings: AttackSettings, sleeper_awake: bool) -> tuple[float, float]:
    """What a truthful witness that met a subject ``CLAIMED_OUTCOMES`` times would report, on average."""
    n = CLAIMED_OUTCOMES
    if subject_kind in (HONEST, SLANDERER) or (subject_kind == SLEEPER and not sleeper_awake):
        rate = 1 - settings.honest_failure
    elif subject_kind == CAMOUFLAGE:
        rate = settings.camouflage_success
    elif subject_kind == ON_OFF:
        rate = settings.on_good / (settings.on_good + settings.on_bad)
    else:
        rate = 0.0
    return (round(n * rate), n - round(n * rate))
