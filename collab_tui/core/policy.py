"""The acceptance policy: whether to accept a collaboration request, and why.

The seed's rule, in order:
1. the initiator's reputation (0.5 if unseen) below the trust threshold -> refuse;
2. for ``cross_specialization`` and ``feature_development`` requests, accept if the
   initiator's known specialization complements ours;
3. otherwise accept while fewer than ``max_active`` sessions are active;
4. otherwise refuse.
Every verdict carries the rule that fired and the numbers behind it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Mapping, Protocol

from .numbers import tell_apart

COMPLEMENT_TYPES = ("cross_specialization", "feature_development")
GENERAL = "general"

#: The acceptance engines by name (``reputation.policy``, ``--policy``; built by ``engines.make_policy``).
POLICY_NAMES = ("seed", "hardened", "shared")


class Rule(StrEnum):
    """The rule that fired for a verdict. The values are the words the console, the
    decision log and the state show (a ``StrEnum`` compares and prints as its value)."""

    TRUST = "trust"
    COMPLEMENT = "complement"
    CAPACITY = "capacity"
    FULL = "capacity_full"
    OPERATOR = "operator"
    LAPSED = "lapsed"            # the verdict in force on a request whose deadline came while held
    PROBATION = "probation"      # hardened: an unknown peer let in to be observed
    FADED = "faded"              # hardened: a record too old to count, judged as new
    EVIDENCE = "evidence"        # hardened: the record favours a bad collaborator
    FORGIVEN = "forgiven"        # hardened: below the threshold, but the record says good
    REPROBE = "re-probe"         # hardened: refused long enough ago to look again
    OUTAGE = "outage"            # shared: missed deadlines in a row (down?), refused for a short while


RULE_TRUST = Rule.TRUST
RULE_COMPLEMENT = Rule.COMPLEMENT
RULE_CAPACITY = Rule.CAPACITY
RULE_FULL = Rule.FULL
RULE_OPERATOR = Rule.OPERATOR

# The reason the trainer records when a collaboration's deadline passes with nothing valid
# delivered (``NetworkedKernelTrainer.tick``): the one failure that may be an honest
# peer's bad luck (slow, offline) rather than a bad delivery.
DEADLINE_MISSED = "deadline missed"


@dataclass(frozen=True, slots=True)
class ComplementTable:
    """Which specializations complement which.

    ``table[ours]`` lists the specializations that complement ``ours``. A
    specialization missing from the table follows the default rule: different
    specializations complement each other, and "general" complements all.
    """

    table: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, list[str] | tuple[str, ...]] | None) -> "ComplementTable":
        return cls({k: tuple(v) for k, v in (mapping or {}).items()})

    def complements(self, ours: str, theirs: str) -> bool:
        if ours in self.table:
            return theirs in self.table[ours]
        return ours == GENERAL or theirs == GENERAL or ours != theirs


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict with its reason: which rule fired, with the numbers."""

    accept: bool
    rule: str
    reason: str
    score: float
    threshold: float

    @property
    def verdict(self) -> str:
        return "ACCEPT" if self.accept else "REJECT"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Everything the policy may look at for one request."""

    initiator: str
    collaboration_type: str
    score: float
    threshold: float
    our_specialization: str
    initiator_specialization: str | None
    active_sessions: int
    max_active: int
    observations: int = 0
    # Evidence beside the score (for policies that ask for confidence, not only the mean).
    # All default to "nothing known", so a context built without them is an unseen peer.
    successes: int = 0
    failures: int = 0
    last_time: float | None = None   # when the last outcome was recorded for this peer
    now: float | None = None         # the trainer's current time (its ``now``)
    failure_streak: int = 0          # failures in a row ending the record (as far as its history goes)
    last_failure_missed_deadline: bool = False   # the latest failure was a missed deadline (not a bad delivery)
    # What other trainers reported of the initiator, weighted by their accuracy as witnesses
    # (a ``witness.NetworkView``), for policies that combine it with our own evidence; None: not asked.
    network: Any = None


class AcceptancePolicy(Protocol):
    """What the trainer asks of an acceptance engine (``SeedPolicy``, ``HardenedPolicy``,
    ``SharedPolicy``): a name, a verdict with its reason, and how long that verdict holds."""

    name: str
    complements: ComplementTable

    def decide(self, ctx: RequestContext) -> Decision: ...

    def stable_until(self, ctx: RequestContext) -> float: ...


def trusted_verdict(ctx: RequestContext, complements: ComplementTable, trusted: str,
                    rule: str = Rule.TRUST) -> Decision:
    """The seed's rules 2-4 for a trusted initiator: complement, else capacity, else full.

    *trusted* says why the initiator was trusted (kept in the reason); *rule* is the rule
    that trusted it: ``Rule.TRUST`` reports the complement / capacity rule itself, any
    other rule (probation, re-probe, ...) is reported as the reason for an acceptance.
    """
    if ctx.collaboration_type in COMPLEMENT_TYPES and ctx.initiator_specialization is not None:
        theirs = ctx.initiator_specialization
        if complements.complements(ctx.our_specialization, theirs):
            return Decision(True, Rule.COMPLEMENT if rule == Rule.TRUST else rule,
                            f"{theirs} complements {ctx.our_specialization}; {trusted}",
                            ctx.score, ctx.threshold)
    if ctx.active_sessions < ctx.max_active:
        return Decision(True, Rule.CAPACITY if rule == Rule.TRUST else rule,
                        f"{ctx.active_sessions} of {ctx.max_active} sessions active; {trusted}",
                        ctx.score, ctx.threshold)
    return Decision(False, Rule.FULL,
                    f"at capacity: {ctx.active_sessions} of {ctx.max_active} sessions active",
                    ctx.score, ctx.threshold)


class SeedPolicy:
    """Exactly the seed's ``_should_accept_collaboration``."""

    name = "seed"

    def __init__(self, complements: ComplementTable | None = None) -> None:
        self.complements = complements or ComplementTable()

    def stable_until(self, ctx: RequestContext) -> float:
        """Up to when the verdict holds if only ``ctx.now`` moves on: forever (the rule ignores time)."""
        return float("inf")

    def decide(self, ctx: RequestContext) -> Decision:
        score, threshold = ctx.score, ctx.threshold
        shown_score, shown_threshold = tell_apart(score, threshold)
        if score < threshold:
            return Decision(False, RULE_TRUST, f"reputation {shown_score} < threshold {shown_threshold}",
                            score, threshold)
        return trusted_verdict(ctx, self.complements, f"reputation {shown_score} ≥ {shown_threshold}")


def operator_decision(accept: bool, previous: Decision) -> Decision:
    word = "accepted" if accept else "rejected"
    return Decision(accept, RULE_OPERATOR, f"{word} by operator (automatic: {previous.verdict} — {previous.reason})",
                    previous.score, previous.threshold)
