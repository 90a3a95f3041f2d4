"""One simulated network: N trainers, simulated time, no sockets.

Every honest node is a real ``NetworkedKernelTrainer`` with a real policy and
``ReputationBook``. A *collaboration* is the trust game the seed plays: a requester asks
a decider, the decider decides with ``trainer.decide`` (the same call its frame handler
makes for a COLLABORATION_REQUEST), and an accepted collaboration's outcome is fed back
with ``trainer._update_reputation`` (the seed's seam, the call the trainer makes when a
component arrives or a deadline passes). Frames are not serialised: the sim measures
the policy and the reputation, not the parser.

Instead of broadcasting every request to all N-1 peers, each round every requester
asks one decider sampled from its contacts (all honest peers when there are few; a
fixed random sample of ``contacts`` of them in large networks). Reputation is local to
each decider, so what matters is how many times each pair meets: the warm-up and the
measured window are given in meetings per pair.
"""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from ..core import reports as rp
from ..core.engines import make_policy
from ..core.hardened import RULE_REPROBE as REPROBE, HardenedSettings
from ..core.policy import Decision, RequestContext
from ..core.trainer import NetworkedKernelTrainer
from ..io.config import ReputationSettings
from .behaviours import (
    ALL_ATTACKS, ALWAYS_FAIL, ATTACKS, CAMOUFLAGE, HONEST, LIARS, ON_OFF, RIDER, SLANDERER, SLEEPER, WHITEWASHER,
    AttackSettings, claim, failure_reason, succeeds, true_claim,
)

CTYPE = "general"
#: the period of a malicious peer's broadcasts: the protocol's 30 s (``benchmarks/first_meetings.py``
#: shortens the honest trainers' period, ``reports.BROADCAST_EVERY_S``, as a what-if; not the liars')
LIARS_BROADCAST_EVERY_S = rp.BROADCAST_EVERY_S


class AcceptAllPolicy:
    """The "none" engine: no reputation check at all."""

    name = "none"
    accepts_everything = True

    ALWAYS = Decision(True, "none", "no reputation check", 0.5, 0.5)

    def decide(self, ctx: RequestContext) -> Decision:
        return Decision(True, "none", "no reputation check", ctx.score, ctx.threshold)


@dataclass(frozen=True, slots=True)
class Engine:
    label: str
    policy: str      # "none" | "seed" | "hardened"
    alpha: float
    settings: HardenedSettings | None = None   # hardened engine's knobs (None: defaults)


ENGINES: dict[str, Engine] = {
    "none": Engine("none", "none", 0.3),
    "seed-0.1": Engine("seed α0.1", "seed", 0.1),
    "seed-0.3": Engine("seed α0.3", "seed", 0.3),
    "seed-0.5": Engine("seed α0.5", "seed", 0.5),
    "hardened": Engine("hardened α0.3", "hardened", 0.3),
    "shared": Engine("shared α0.3", "shared", 0.3),
}
#: ``--engines default``: whatever a fresh config uses.
DEFAULT_POLICY = ReputationSettings().policy
ENGINES["default"] = Engine(f"default ({DEFAULT_POLICY})", DEFAULT_POLICY, ReputationSettings().alpha)


@dataclass(frozen=True, slots=True)
class Scenario:
    n: int = 100
    malicious: float = 0.7
    attack: str = ALWAYS_FAIL
    warmup_per_pair: int = 30        # meetings per pair before measuring (steady state)
    measure_per_pair: int = 30       # meetings per pair in the measured window
    contacts: int = 30               # deciders each requester samples from
    outage_share: float = 0.1        # honest peers that go through an outage (≥ 1)
    threshold: float = 0.5
    attack_settings: AttackSettings = field(default_factory=AttackSettings)
    liars: str = "collude"           # what malicious peers report (behaviours.LIARS)
    newcomer: bool = False           # measure a fresh trainer joining after the warm-up instead
    newcomer_meetings: int = 20      # ...over its first this many meetings per requester
    pinned: bool = False             # the newcomer pins one honest reporter (reputation.trusted_reporters)
    broadcasts: bool = True          # every 30 s each peer broadcasts a report (honest: its changed records; malicious: lies)

    def __post_init__(self) -> None:
        if self.n < 3:
            raise ValueError(f"n must be at least 3, got {self.n}")
        if not 0.0 <= self.malicious < 1.0:
            raise ValueError(f"malicious fraction must be in [0, 1), got {self.malicious}")
        if self.attack not in ALL_ATTACKS:
            raise ValueError(f"attack must be one of {', '.join(ALL_ATTACKS)}, got {self.attack!r}")
        if self.liars not in LIARS:
            raise ValueError(f"liars must be one of {', '.join(LIARS)}, got {self.liars!r}")

    def with_attack(self, **changes) -> "Scenario":
        return dataclasses.replace(self, attack_settings=dataclasses.replace(self.attack_settings, **changes))


METRICS = ("failed_per_accepted", "honest_refused", "to_first_refusal", "never_refused",
           "free_failures", "failures_per_identity", "recovery", "recovered_within_10",
           "trusted_recovered_within_10")


class _Pair:
    """What one decider has seen of one requester identity."""

    __slots__ = ("meetings", "accepted", "first_refusal", "free_failures", "failures",
                 "outage_left", "since_outage", "recovered_at", "trusted_at_outage", "held", "held_until")

    def __init__(self) -> None:
        self.meetings = 0
        self.accepted = 0
        self.first_refusal = 0        # meeting number of the first refusal (0: not yet)
        self.free_failures = 0        # failures before the first refusal
        self.failures = 0
        self.outage_left = 0
        self.since_outage = -1        # meetings since the outage ended (-1: no outage)
        self.recovered_at = 0
        self.trusted_at_outage = False
        self.held: Decision | None = None   # a refusal kept until ``held_until`` (see ``run``)
        self.held_until = float("-inf")


def run(scenario: Scenario, engine_key: str, seed: int, check_cache: bool = False) -> dict[str, float]:
    """Simulate one network with one engine and one seed; return its metrics.

    A refusal is kept for its pair until the policy's own ``stable_until`` (the time up to
    which its verdict cannot change while the record does not): a refused peer's record
    does not move, so re-asking in between would give the same verdict. Every other
    request is decided afresh by ``trainer.decide``. ``check_cache`` decides every
    request afresh as well and raises if a kept refusal differs (used by the tests).

    An engine that weighs reports (``shared``) asks before deciding about a peer it hardly
    knows, exactly as its frame handler does: ``trainer.ask_about`` picks the reporters, each
    answers (an honest trainer with ``trainer.answer_query``, its own first-hand records; a
    malicious one as ``scenario.liars`` says), and the answer goes through
    ``reports.parse_report`` and ``trainer.receive_report``. Answers arrive within the wait.
    And every 30 s of simulated time (``reports.BROADCAST_EVERY_S``; one round is one second)
    each peer broadcasts as PROTOCOL.md allows (``scenario.broadcasts``): an honest trainer what
    ``trainer.broadcast_due`` gives, a malicious one its lies about every peer it names.
    """
    sc, eng, st = scenario, ENGINES[engine_key], scenario.attack_settings
    rng = random.Random(seed)
    n_bad = int(round(sc.n * sc.malicious))
    n_honest = sc.n - n_bad
    if n_honest < 2:
        raise ValueError("need at least two honest peers")

    def make_trainer(ai_id: str, trusted=()) -> NetworkedKernelTrainer:
        policy = AcceptAllPolicy() if eng.policy == "none" else make_policy(eng.policy, settings=eng.settings)
        if hasattr(policy, "salt"):
            policy.salt = random.Random(f"{seed}|{ai_id}").randbytes(16)   # reproducible from the seed
        return NetworkedKernelTrainer(ai_id, trust_threshold=sc.threshold, reputation_alpha=eng.alpha,
                                      history_size=4, policy=policy, trusted_reporters=trusted)

    deciders: list[NetworkedKernelTrainer] = [make_trainer(f"h{i}") for i in range(n_honest)]
    n_outage = max(1, int(round(n_honest * sc.outage_share))) if n_honest > 2 else 0
    # requester slots: kind, current id, contacts, sits out until round, identity generation
    kinds = [HONEST] * n_honest + [sc.attack] * n_bad
    ids = [f"h{i}" for i in range(n_honest)] + [f"m{j}" for j in range(n_bad)]
    slot_of = {pid: r for r, pid in enumerate(ids)}
    outage = [i < n_outage for i in range(sc.n)]
    contacts: list[list[int]] = []
    for r in range(sc.n):
        pool = [d for d in range(n_honest) if d != r]
        contacts.append(pool if len(pool) <= sc.contacts else rng.sample(pool, sc.contacts))
    k = max(len(c) for c in contacts)
    warmup_rounds = sc.warmup_per_pair * k
    measure_rounds = (sc.newcomer_meetings if sc.newcomer else sc.measure_per_pair) * k
    total_rounds = warmup_rounds + measure_rounds
    sleeper_wakes = warmup_rounds + measure_rounds // 2
    sit_out = [0] * sc.n
    generation = [0] * sc.n
    pairs: list[dict[str, _Pair]] = [{} for _ in range(n_honest)]

    newcomer = None
    if sc.newcomer:
        newcomer = make_trainer("n0", trusted=("h0",) if sc.pinned else ())
        deciders.append(newcomer)
        pairs.append({})
    uses_reports = bool(getattr(deciders[0].policy, "uses_reports", False))
    # whom each decider can ask: everyone else, in its own random order
    askable: list[list[str]] = []
    if uses_reports:
        for d, trainer in enumerate(deciders):
            others = [pid for pid in ids if pid != trainer.ai_id]
            rng.shuffle(others)
            askable.append(others)

    counts = {"accepted": 0, "failed": 0, "honest_asked": 0, "honest_refused": 0}
    stable = getattr(deciders[0].policy, "stable_until", None)
    accept_all = isinstance(deciders[0].policy, AcceptAllPolicy) and not check_cache
    order = list(range(sc.n))
    random_ = rng.random
    awake = False

    def answer(asker: str | None, reporter: str, qid: str | None, subjects) -> dict:
        """What ``reporter`` answers ``asker``'s query (``asker`` None: what a malicious one broadcasts)."""
        r = slot_of.get(reporter)
        if r is None or r < n_honest:                      # an honest trainer: its own records
            source = deciders[r] if r is not None else newcomer
            return source.answer_query(asker, rp.Query(qid, subjects))
        liar_kind = kinds[r]
        obs = []
        if subjects is None:
            # everything it "saw": any subjects it likes, as many as one report holds
            subjects = ids if len(ids) <= rp.MAX_ENTRIES + 2 else rng.sample(ids, rp.MAX_ENTRIES + 2)
        for subject in subjects:
            if subject == reporter or subject == asker:
                continue
            s_slot = slot_of.get(subject)
            s_kind = kinds[s_slot] if s_slot is not None else sc.attack
            truth = true_claim(s_kind, st, awake)
            if liar_kind == SLEEPER and not awake:
                said = truth
            else:
                said = claim(sc.liars, liar_kind, s_kind != HONEST, rng, truth, reporter)
            if said is not None:
                obs.append({"subject": subject, "successes": said[0], "failures": said[1], "last_outcome_at": None})
        return {"query_id": qid, "observations": obs[:rp.MAX_ENTRIES]}

    def meet(d: int, r: int, now: float, measuring: bool) -> None:
        trainer = deciders[d]
        pid = ids[r]
        pair = pairs[d].get(pid)
        if pair is None:
            pair = pairs[d][pid] = _Pair()
        pair.meetings += 1
        trainer.now = now
        ctx = None
        if accept_all:
            decision = AcceptAllPolicy.ALWAYS     # the baseline looks at nothing: skip building a context
        elif now < pair.held_until:
            decision = pair.held
            if check_cache:
                fresh = trainer.decide(CTYPE, pid)
                if (fresh.accept, fresh.rule) != (decision.accept, decision.rule):
                    raise AssertionError(f"kept refusal of {pid} by {trainer.ai_id} at {now}: "
                                         f"{decision.reason!r} but now {fresh.reason!r}")
        else:
            if uses_reports:
                for qid, reporter in trainer.ask_about(pid, now, askable[d]):
                    payload = answer(trainer.ai_id, reporter, qid, trainer.query_subjects(qid))
                    trainer.receive_report(reporter, rp.parse_report(payload), now)
            # exactly ``trainer.decide`` (its policy on its request context), keeping the context
            ctx = trainer.request_context(CTYPE, pid)
            decision = trainer.policy.decide(ctx)
            if not decision.accept and stable is not None:
                pair.held = decision
                pair.held_until = stable(ctx)
        kind = kinds[r]
        if kind == SLEEPER:
            kind = ALWAYS_FAIL if awake else HONEST
        in_outage = pair.outage_left > 0
        if in_outage:
            pair.outage_left -= 1
        elif pair.since_outage >= 0 and not pair.recovered_at:
            pair.since_outage += 1
        if measuring and kinds[r] == HONEST and not outage[r]:
            counts["honest_asked"] += 1
            counts["honest_refused"] += not decision.accept
        if not decision.accept:
            if not pair.first_refusal:
                pair.first_refusal = pair.meetings
            if kind == WHITEWASHER and not st.tokens_bound:
                generation[r] += 1
                ids[r] = f"m{r - n_honest}.{generation[r]}"
                slot_of[ids[r]] = r
                sit_out[r] = int(now) + 1 + st.identity_cost
            if in_outage and pair.outage_left == 0:
                pair.since_outage = 0
            return
        if in_outage:
            ok = False
        else:
            ok = succeeds(kind, rng, st, trainer, pid, pair.accepted, CTYPE, None if accept_all else ctx)
        pair.accepted += 1
        if pair.since_outage > 0 and not pair.recovered_at:
            pair.recovered_at = pair.since_outage
        if in_outage and pair.outage_left == 0:
            pair.since_outage = 0
        if not ok:
            pair.failures += 1
            if not pair.first_refusal:
                pair.free_failures += 1
        if measuring:
            counts["accepted"] += 1
            counts["failed"] += not ok
        if accept_all:
            return                      # the baseline keeps no reputation: nothing reads it
        reason_kind = HONEST if kind == SLANDERER else kind
        trainer._update_reputation(pid, ok, "valid component delivered" if ok
                                   else failure_reason(reason_kind, st), now)

    # The 30 s broadcasts (PROTOCOL.md): each peer at its own second of the period. An honest
    # trainer sends what ``trainer.broadcast_due`` gives (its records that changed), a malicious
    # one what its ``liars`` behaviour says of every peer (as many as one report holds); every
    # listening trainer takes them through ``receive_report``, its per-sender limit included.
    periods = [int(rp.BROADCAST_EVERY_S) if r < n_honest else int(LIARS_BROADCAST_EVERY_S) for r in range(sc.n)]
    broadcasting = sc.broadcasts and uses_reports
    offsets = [rng.randrange(periods[r]) for r in range(sc.n)] if broadcasting else []
    for trainer in deciders:
        trainer.joined = True             # the simulated network is joined from the start

    def broadcast(now: float, rnd: int) -> None:
        listeners = deciders if newcomer is None or measuring else deciders[:-1]
        for r in range(sc.n):
            if offsets[r] != rnd % periods[r]:
                continue
            sender = ids[r]
            if r < n_honest:
                out = deciders[r].broadcast_due(now)
                if not out:
                    continue
                payload = out[0].message.payload
            else:
                payload = answer(None, sender, None, None)
            report = rp.parse_report(payload)
            for trainer in listeners:
                if trainer.ai_id != sender:
                    trainer.receive_report(sender, report, now)

    newcomer_index = len(deciders) - 1
    for rnd in range(total_rounds):
        now = float(rnd)
        measuring = rnd >= warmup_rounds
        if broadcasting:
            broadcast(now, rnd)
        awake = rnd >= sleeper_wakes
        if rnd == warmup_rounds and not sc.newcomer:
            for r in range(n_outage):
                for d in contacts[r]:
                    p = pairs[d].setdefault(ids[r], _Pair())
                    p.outage_left = st.outage_failures
                    # trusted when the outage begins: the decider's (pure) policy would accept
                    # it now, not as a rationed re-probe
                    deciders[d].now = now
                    verdict = deciders[d].decide(CTYPE, ids[r])
                    p.trusted_at_outage = verdict.accept and verdict.rule != REPROBE
        rng.shuffle(order)
        for r in order:
            if sit_out[r] > rnd:
                continue
            cs = contacts[r]
            meet(cs[int(random_() * len(cs))], r, now, measuring and not sc.newcomer)
            if sc.newcomer and measuring and random_() * k < 1.0:
                meet(newcomer_index, r, now, True)

    if sc.newcomer:
        pairs = [pairs[newcomer_index]]
    return _metrics(sc, pairs, n_honest, n_outage, ids, counts["accepted"], counts["failed"],
                    counts["honest_asked"], counts["honest_refused"])


def _metrics(sc: Scenario, pairs, n_honest: int, n_outage: int, ids, accepted: int, failed: int,
             honest_asked: int, honest_refused: int) -> dict[str, float]:
    bad: list[_Pair] = []
    recovery: list[_Pair] = []
    outage_ids = set(ids[:n_outage])
    for book in pairs:
        for pid, p in book.items():
            if pid.startswith("m"):
                bad.append(p)
            elif pid in outage_ids and p.since_outage >= 0:
                recovery.append(p)
    nan = float("nan")
    out = {
        "failed_per_accepted": failed / accepted if accepted else nan,
        "honest_refused": honest_refused / honest_asked if honest_asked else nan,
        "accepted": float(accepted),
    }
    if bad:
        # a pair never refused counts with the meetings it had (a lower bound)
        out["to_first_refusal"] = sum(p.first_refusal or p.meetings for p in bad) / len(bad)
        out["never_refused"] = sum(1 for p in bad if not p.first_refusal) / len(bad)
        out["free_failures"] = sum(p.free_failures for p in bad) / len(bad)
        out["failures_per_identity"] = sum(p.failures for p in bad) / len(bad)
    else:
        out.update(to_first_refusal=nan, never_refused=nan, free_failures=nan, failures_per_identity=nan)
    if recovery:
        # not trusted again by the end: counted as the meetings it had since (a lower bound)
        out["recovery"] = sum(p.recovered_at or p.since_outage + 1 for p in recovery) / len(recovery)
        out["recovered_within_10"] = sum(1 for p in recovery if 0 < p.recovered_at <= 10) / len(recovery)
        trusted = [p for p in recovery if p.trusted_at_outage]
        out["trusted_recovered_within_10"] = (sum(1 for p in trusted if 0 < p.recovered_at <= 10) / len(trusted)
                                              if trusted else nan)
    else:
        out.update(recovery=nan, recovered_within_10=nan, trusted_recovered_within_10=nan)
    return out
