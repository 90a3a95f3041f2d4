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
from typing import Any, Mapping

from .numbers import tell_apart

COMPLEMENT_TYPES = ("cross_specialization", "feature_development")
GENERAL = "general"

RULE_TRUST = "trust"
RULE_COMPLEMENT = "complement"
RULE_CAPACITY = "capacity"
RULE_FULL = "capacity_full"
RULE_OPERATOR = "operator"

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
        trusted = f"reputation {shown_score} ≥ {shown_threshold}"
        if ctx.collaboration_type in COMPLEMENT_TYPES and ctx.initiator_specialization is not None:
            theirs = ctx.initiator_specialization
            if self.complements.complements(ctx.our_specialization, theirs):
                return Decision(True, RULE_COMPLEMENT,
                                f"{theirs} complements {ctx.our_specialization}; {trusted}",
                                score, threshold)
        if ctx.active_sessions < ctx.max_active:
            return Decision(True, RULE_CAPACITY,
                            f"{ctx.active_sessions} of {ctx.max_active} sessions active; {trusted}",
                            score, threshold)
        return Decision(False, RULE_FULL,
                        f"at capacity: {ctx.active_sessions} of {ctx.max_active} sessions active",
                        score, threshold)


def operator_decision(accept: bool, previous: Decision) -> Decision:
    word = "accepted" if accept else "rejected"
    return Decision(accept, RULE_OPERATOR, f"{word} by operator (automatic: {previous.verdict} — {previous.reason})",
                    previous.score, previous.threshold)
