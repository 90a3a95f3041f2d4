"""What other trainers told us they saw, and how far we believe each of them as a witness.

Reports (``REPUTATION_REPORT`` observations) are claims by untrusted peers. They are kept
here, beside the ``ReputationBook`` and never mixed into it: ``reputation[peer]`` stays the
seed's EWMA of our own outcomes. The decision combines the two (``core/shared.py``).

A reporter is believed as far as its past reports agreed with what *we* then saw of the
same subjects (the TRAVOS idea). Every kept report is judged once against our own outcome
with its subject — on arrival if we already have a record of the subject, else at our next
outcome with it — and counted in the reporter's confusion table: what it claimed ("good":
more successes than failures, or "bad") against what we saw (a success or a failure), with
old judgements fading by ``forget`` per new one so that a sleeper that turns loses its
standing. A claim then weighs as the evidence it carries: the log of its likelihood ratio
``P(claim | subject is what it claims) / P(claim | the opposite)``, estimated from that
table with two pseudo-judgements of prior (no evidence until judged), never negative (a
liar is not used as an oracle in reverse), nothing below ``MIN_EVIDENCE`` (3 : 1, so that a
crowd of barely-believed reporters does not add up to a verdict), at most ``EVIDENCE_CAP``
(≈ 20 : 1), halved for a report of a single outcome. So a slanderer, right when it praises and wrong when it
accuses, weighs when it praises and not when it accuses; a ring of colluders who praise
each other and badmouth honest peers weighs nothing once our own outcomes contradict them;
a reporter that tells the truth only 60% of the time carries little (its ratio is ~1.5),
however many of its kind speak. A claim whose accuracy is below the floor (0.5, or the
trust threshold if higher) counts for nothing, and so does a reporter whose score as a
collaborator (our own outcomes with it) is below the floor; a good collaborator earns
nothing as a witness by it. Pinned reporters (``reputation.trusted_reporters``) carry the
full ``EVIDENCE_CAP`` from the start.

Bounds: at most ``max_subjects`` subjects per reporter and ``max_reporters_per_subject``
reporters per subject (oldest dropped first), at most ``max_reporters`` reporters (the
least recently heard dropped first, pinned ones kept), at most ``max_reports`` reports in all
(the oldest of the least recently heard reporters dropped first); one claim weighs at most
``EVIDENCE_CAP`` however many outcomes it claims.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Container, Iterable, Sequence

MAX_SUBJECTS_PER_REPORTER = 256
MAX_REPORTERS_PER_SUBJECT = 64
MAX_REPORTERS = 1024
MAX_REPORTS = 32_768          # reports kept in all (a few MB at most)
FORGET = 0.97
RANK_EVERY_S = 10.0
EVIDENCE_CAP = 3.0        # the most one claim can weigh: a likelihood ratio of ~20
PRIOR = 2.0               # pseudo-judgements each way before a reporter's record speaks
MIN_EVIDENCE = math.log(3.0)   # a claim less than 3 times as likely right as wrong counts for nothing:
                               # a crowd of barely-believed reporters does not add up to a verdict
FULL_CLAIM = 2.0          # a report of fewer outcomes than this weighs proportionally less

GOOD, BAD = 0, 1


@dataclass(slots=True)
class Report:
    """One reporter's claim about one subject: its own outcomes with it."""

    successes: float
    failures: float
    last_outcome_at: float | None
    received_at: float
    judged: bool = False       # already scored against one of our outcomes

    @property
    def outcomes(self) -> float:
        return self.successes + self.failures

    @property
    def predicted(self) -> float:
        """The success probability this report implies (Beta(1, 1) prior)."""
        return (self.successes + 1.0) / (self.outcomes + 2.0)


@dataclass(slots=True)
class Witness:
    """What we know of one reporter as a witness: its reports and how often they were right."""

    reporter: str
    reports: OrderedDict = field(default_factory=OrderedDict)     # subject -> Report, oldest first
    agree: list = field(default_factory=lambda: [0.0, 0.0])        # per bin (GOOD, BAD)
    disagree: list = field(default_factory=lambda: [0.0, 0.0])
    pinned: bool = False
    evidence: list = field(default_factory=lambda: [0.0, 0.0])      # per claim (GOOD, BAD), kept current

    def accuracy(self, bin_: int) -> float:
        return (self.agree[bin_] + 1.0) / (self.agree[bin_] + self.disagree[bin_] + 2.0)

    def likelihood_evidence(self, claim: int) -> float:
        """ln P(claim | subject is as claimed) / P(claim | subject is the opposite), from our
        judgements (two pseudo-judgements of prior each way), clamped to [0, EVIDENCE_CAP]."""
        other = 1 - claim
        right = (self.agree[claim] + PRIOR) / (self.agree[claim] + self.disagree[other] + 2 * PRIOR)
        wrong = (self.disagree[claim] + PRIOR) / (self.disagree[claim] + self.agree[other] + 2 * PRIOR)
        e = math.log(right / wrong)
        return 0.0 if e < MIN_EVIDENCE else min(EVIDENCE_CAP, e)

    def evaluated(self, bin_: int) -> float:
        return self.agree[bin_] + self.disagree[bin_]


@dataclass(frozen=True, slots=True)
class ReporterRow:
    """One reporter's line in the network view of a subject (plain data for the UI)."""

    reporter: str
    successes: float
    failures: float
    last_outcome_at: float | None
    received_at: float
    accuracy: float        # how often this reporter's claims of this kind proved right
    weight: float          # 0..1: how much it counted (its evidence over the most one claim can carry)
    pinned: bool


@dataclass(frozen=True, slots=True)
class NetworkView:
    """What the network says of one subject: the evidence of the claims we believe."""

    subject: str
    log_odds: float            # > 0 the believed reporters say good, < 0 bad (natural log)
    reporters: int             # reporters whose claim counted
    raw_successes: float       # what they claimed, summed (for the reason)
    raw_failures: float
    min_accuracy: float        # lowest accuracy, among them, of the kind of claim each made (1.0 if none)
    rows: tuple[ReporterRow, ...] = ()

    @property
    def score(self) -> float | None:
        """The network's view as a 0..1 score (0.5 + the evidence), None when no reporter counted."""
        if self.reporters == 0:
            return None
        return 1.0 / (1.0 + math.exp(-self.log_odds))

    @property
    def empty(self) -> bool:
        return self.reporters == 0

    def describe(self) -> str:
        acc = f" (accuracy ≥ {self.min_accuracy:.2f})" if self.reporters else ""
        return (f"reports: {_count(self.raw_successes)} ✓ / {_count(self.raw_failures)} ✗ from "
                f"{self.reporters} reporter{'s' if self.reporters != 1 else ''}{acc}")


def _count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


class WitnessBook:
    """Reports received, per reporter and per subject, with each reporter's accuracy."""

    def __init__(self, our_id: str, *, trusted: Iterable[str] = (), floor: float = 0.5,
                 max_subjects: int = MAX_SUBJECTS_PER_REPORTER,
                 max_reporters_per_subject: int = MAX_REPORTERS_PER_SUBJECT,
                 max_reporters: int = MAX_REPORTERS, max_reports: int = MAX_REPORTS,
                 forget: float = FORGET, collaborator_score: Callable[[str], float | None] | None = None,
                 own_counts: Callable[[str], tuple[float, float] | None] | None = None) -> None:
        self.our_id = our_id
        self.floor = floor
        self.max_subjects = max_subjects
        self.max_reporters_per_subject = max_reporters_per_subject
        self.max_reporters = max_reporters
        self.max_reports = max_reports
        self._count = 0                                               # reports kept, all reporters
        self.forget = forget
        #: our own (first-hand) score of a reporter as a collaborator, None if never met: one
        #: below ``floor`` silences it as a witness; a good one earns it nothing as a witness.
        self.collaborator_score = collaborator_score
        #: our own (successes, failures) with a subject, None if never met: a report about a peer we
        #: know is judged against our record as soon as it arrives
        self.own_counts = own_counts
        self.witnesses: OrderedDict[str, Witness] = OrderedDict()   # least recently heard first
        self.by_subject: dict[str, OrderedDict] = {}                  # subject -> reporter -> None
        self.trusted: frozenset[str] = frozenset()
        self._ranked: list[str] | None = None
        self._ranked_at = 0.0
        self._turn = 0
        self.set_trusted(trusted)

    # ---- settings --------------------------------------------------------
    def set_trusted(self, reporters: Iterable[str]) -> None:
        self.trusted = frozenset(r for r in reporters if r != self.our_id)
        for w in self.witnesses.values():
            w.pinned = w.reporter in self.trusted
        self._ranked = None

    # ---- storing reports -------------------------------------------------
    def ingest(self, reporter: str, observations: Iterable[tuple[str, float, float, float | None]],
               now: float) -> int:
        """Keep ``reporter``'s (already validated) observations; returns how many were kept.

        Observations about ourselves or about the reporter itself are ignored.
        """
        if reporter == self.our_id:
            return 0
        w = self.witnesses.get(reporter)
        if w is None:
            w = self.witnesses[reporter] = Witness(reporter, pinned=reporter in self.trusted)
            self._evict_reporters()
        else:
            self.witnesses.move_to_end(reporter)
        kept = 0
        for subject, successes, failures, last in observations:
            if subject == self.our_id or subject == reporter:
                continue
            kept += 1
            reports = w.reports
            if subject in reports:
                reports.move_to_end(subject)
            else:
                self._count += 1
            report = reports[subject] = Report(successes, failures, last, now)
            if self.own_counts is not None:
                mine = self.own_counts(subject)
                if mine is not None and mine[0] != mine[1]:
                    self._judge(w, report, mine[0] > mine[1])   # what we saw ourselves already
            index = self.by_subject.get(subject)
            if index is None:
                index = self.by_subject[subject] = OrderedDict()
            if reporter in index:
                index.move_to_end(reporter)
            else:
                index[reporter] = None
                if len(index) > self.max_reporters_per_subject:
                    old, _ = index.popitem(last=False)
                    ow = self.witnesses.get(old)
                    if ow is not None and ow.reports.pop(subject, None) is not None:
                        self._count -= 1
            if len(reports) > self.max_subjects:
                old_subject, _ = reports.popitem(last=False)
                self._count -= 1
                self._unindex(old_subject, reporter)
        if self._count > self.max_reports:
            self._evict_reports()
        return kept

    def _evict_reports(self) -> None:
        """Over the total: the oldest reports of the least recently heard reporters go first."""
        for victim in list(self.witnesses):
            w = self.witnesses[victim]
            while w.reports and self._count > self.max_reports and not w.pinned:
                subject, _ = w.reports.popitem(last=False)
                self._count -= 1
                self._unindex(subject, victim)
            if self._count <= self.max_reports:
                return

    def _unindex(self, subject: str, reporter: str) -> None:
        index = self.by_subject.get(subject)
        if index is not None:
            index.pop(reporter, None)
            if not index:
                del self.by_subject[subject]

    def _evict_reporters(self) -> None:
        while len(self.witnesses) > self.max_reporters:
            victim = next((r for r, w in self.witnesses.items() if not w.pinned), None)
            if victim is None:
                return
            w = self.witnesses.pop(victim)
            self._count -= len(w.reports)
            for subject in w.reports:
                self._unindex(subject, victim)

    def report_count(self) -> int:
        return self._count

    # ---- learning from our own outcomes ----------------------------------
    def learn(self, subject: str, success: bool) -> None:
        """Score every kept report about ``subject`` against an outcome we just saw with it."""
        index = self.by_subject.get(subject)
        if not index:
            return
        for reporter in index:
            w = self.witnesses.get(reporter)
            report = w.reports.get(subject) if w is not None else None
            if report is not None:
                self._judge(w, report, success)

    def _judge(self, w: Witness, report: Report, good: bool) -> None:
        """One report, one judgement (a subject we meet often does not outweigh the others; a
        fresh report is judged afresh): did it predict what we saw (``good``)?"""
        if report.judged or report.outcomes <= 0 or report.successes == report.failures:
            return                              # judged already, or empty or undecided: predicts nothing
        report.judged = True
        bin_ = GOOD if report.successes > report.failures else BAD
        agreement = 1.0 if good == (bin_ == GOOD) else 0.0
        forget = self.forget
        w.agree[bin_] = w.agree[bin_] * forget + agreement
        w.disagree[bin_] = w.disagree[bin_] * forget + (1.0 - agreement)
        w.evidence[GOOD] = w.likelihood_evidence(GOOD)
        w.evidence[BAD] = w.likelihood_evidence(BAD)

    # ---- reading ---------------------------------------------------------
    def weight(self, reporter: str, claim: int) -> float:
        """How much a claim (GOOD or BAD) by ``reporter`` counts, 0..1 (1: a pinned reporter)."""
        w = self.witnesses.get(reporter)
        if w is None:
            return 1.0 if reporter in self.trusted else 0.0
        return self._evidence(w, claim) / EVIDENCE_CAP

    def _evidence(self, w: Witness, claim: int) -> float:
        if w.pinned:
            return EVIDENCE_CAP
        e = w.evidence[claim]
        if e <= 0.0:
            return 0.0
        if w.accuracy(claim) < self.floor:
            return 0.0
        score = self.collaborator_score(w.reporter) if self.collaborator_score is not None else None
        if score is not None and score < self.floor:
            return 0.0          # a reporter below our threshold as a collaborator counts for nothing
        return e

    def witness_score(self, reporter: str) -> float:
        """How much we believe ``reporter`` overall (for choosing whom to ask)."""
        w = self.witnesses.get(reporter)
        if w is None:
            return 1.0 if reporter in self.trusted else 0.0
        if w.pinned:
            return 2.0
        return (self._evidence(w, GOOD) + self._evidence(w, BAD)) / (2 * EVIDENCE_CAP)

    def judged(self, reporter: str) -> float:
        """How many of this reporter's reports we have judged (decayed)."""
        w = self.witnesses.get(reporter)
        return 0.0 if w is None else w.evaluated(GOOD) + w.evaluated(BAD)

    def has_reports(self, subject: str) -> bool:
        return bool(self.by_subject.get(subject))

    def view(self, subject: str, rows: bool = False) -> NetworkView:
        """What the reporters we believe say of ``subject``: the sum of their claims' evidence."""
        index = self.by_subject.get(subject)
        total = raw_s = raw_f = 0.0
        n = 0
        min_acc = 1.0
        out: list[ReporterRow] = []
        if index:
            for reporter in index:
                w = self.witnesses.get(reporter)
                report = w.reports.get(subject) if w is not None else None
                if report is None:
                    continue
                outcomes = report.outcomes
                claim = GOOD if report.successes > report.failures else BAD
                if outcomes <= 0 or report.successes == report.failures:
                    e = 0.0
                elif w.pinned:
                    e = EVIDENCE_CAP
                elif w.evidence[claim] <= 0.0:
                    e = 0.0                      # the common case (liars, unknowns): nothing more to look at
                else:
                    e = self._evidence(w, claim)
                if e > 0.0:
                    e *= min(1.0, outcomes / FULL_CLAIM)
                    total += e if claim == GOOD else -e
                    raw_s += report.successes
                    raw_f += report.failures
                    n += 1
                    min_acc = min(min_acc, 1.0 if w.pinned else w.accuracy(claim))
                if rows:
                    out.append(ReporterRow(reporter, report.successes, report.failures, report.last_outcome_at,
                                           report.received_at, 1.0 if w.pinned else w.accuracy(claim),
                                           e / EVIDENCE_CAP, w.pinned))
        if rows:
            out.sort(key=lambda r: (-r.weight, r.reporter))
        return NetworkView(subject, total, n, raw_s, raw_f, min_acc, tuple(out))

    def best_reporters(self, candidates: Sequence[str], k: int, explore: int, *, subject: str | None = None,
                       allowed: Container[str] | None = None, now: float = 0.0) -> list[str]:
        """Up to ``k`` reporters to ask about ``subject``: pinned first, then the best witnesses;
        ``explore`` of the slots go to reporters not judged yet (taken from ``candidates`` in turn,
        so each gets its chance). ``allowed``: only these (e.g. the peers online)."""
        if k <= 0:
            return []
        ranking = self._ranking(now)
        chosen: list[str] = []
        taken: set[str] = set()
        fresh_slots = min(explore, len(candidates))
        for r in ranking:
            if len(chosen) >= k - fresh_slots:
                break
            if r != subject and (allowed is None or r in allowed):
                chosen.append(r)
                taken.add(r)
        n = len(candidates)
        if n:
            start = self._turn % n
            scanned = 0
            i = start
            while len(chosen) < k and scanned < min(n, 8 * k):
                r = candidates[i]
                i = (i + 1) % n
                scanned += 1
                if r == subject or r == self.our_id or r in taken or (allowed is not None and r not in allowed):
                    continue
                w = self.witnesses.get(r)
                if w is None or not (w.pinned or _hopeless(w)):
                    chosen.append(r)
                    taken.add(r)
            self._turn = i
        for r in ranking:                       # not enough new ones: more of the best
            if len(chosen) >= k:
                break
            if r not in taken and r != subject and (allowed is None or r in allowed):
                chosen.append(r)
                taken.add(r)
        return chosen

    def _ranking(self, now: float) -> list[str]:
        """Judged reporters we believe, best first (pinned ahead of all); recomputed every
        ``RANK_EVERY_S`` of ``now`` (beliefs move slowly; a pinned change recomputes at once)."""
        if self._ranked is not None and now - self._ranked_at < RANK_EVERY_S and now >= self._ranked_at:
            return self._ranked
        scored = [(3.0 if w.pinned else self.witness_score(w.reporter), w.reporter)
                  for w in self.witnesses.values()]
        scored.sort(key=lambda t: (-t[0], t[1]))
        self._ranked = [r for r in sorted(self.trusted) if r not in self.witnesses]
        self._ranked += [r for score, r in scored if score > 0.0][:256]
        self._ranked_at = now
        return self._ranked

    def rows(self) -> list[tuple[str, float, float, float, float, bool]]:
        """Every reporter: (id, good-bin accuracy, bad-bin accuracy, evaluated, reports kept, pinned)."""
        return [(w.reporter, w.accuracy(GOOD), w.accuracy(BAD), w.evaluated(GOOD) + w.evaluated(BAD),
                 float(len(w.reports)), w.pinned) for w in self.witnesses.values()]


def _hopeless(w: Witness) -> bool:
    """A reporter shown wrong often enough in one bin not to be worth asking again."""
    return any(w.evaluated(b) >= 3.0 and w.accuracy(b) < 0.35 for b in (GOOD, BAD))


def finite_count(value: object) -> float | None:
    """A report's count: a finite number ≥ 0 (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        return None
    return value
