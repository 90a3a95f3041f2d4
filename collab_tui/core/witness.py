"""What other trainers told us they saw, and how far we believe each of them as a witness.

Reports (``REPUTATION_REPORT`` observations) are claims by untrusted peers. They are kept
here, beside the ``ReputationBook`` and never mixed into it: ``reputation[peer]`` stays the
seed's EWMA of our own outcomes. The decision combines the two (``core/shared.py``).

A reporter is believed as far as its past reports agreed with what *we* then saw of the
same subjects (the TRAVOS idea): when we record an outcome with a subject, every kept
report about that subject is scored against it. The score is kept in two bins, by what
the report predicted — "good" (more successes than failures) or "bad" — because a
slanderer is right when it praises and wrong when it accuses, and a ballot-stuffer the
other way round. Accuracy is the mean of a Beta(1, 1) prior updated with the agreement
(the probability the report gave to what happened), forgetting old agreement by
``forget`` per update so that a sleeper that turns loses its weight. A bin's weight is
``(accuracy - floor) / (1 - floor)``, nothing below the floor (0.5, or the trust
threshold if higher): an unknown reporter counts for nothing until it has been right.
Trust as a collaborator is not trust as a witness: the two are never mixed. Pinned
reporters (``reputation.trusted_reporters``) weigh 1.

Bounds: at most ``max_subjects`` subjects per reporter and ``max_reporters_per_subject``
reporters per subject (oldest dropped first), at most ``max_reporters`` reporters (the
least recently heard dropped first, pinned ones kept), and each report's counts scaled to
at most ``count_cap`` outcomes when they are weighed.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Container, Iterable, Sequence

MAX_SUBJECTS_PER_REPORTER = 256
MAX_REPORTERS_PER_SUBJECT = 64
MAX_REPORTERS = 1024
COUNT_CAP = 10.0
FORGET = 0.97
RANK_EVERY_S = 10.0
WILSON_Z = 1.0

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
    bound: list = field(default_factory=lambda: [0.0, 0.0])         # accuracy_bound per bin, kept current

    def accuracy(self, bin_: int) -> float:
        return (self.agree[bin_] + 1.0) / (self.agree[bin_] + self.disagree[bin_] + 2.0)

    def accuracy_bound(self, bin_: int, z: float = 1.0) -> float:
        """A cautious accuracy: the lower end of its Wilson interval over the judged reports, so
        that one lucky report (or a few shared by a ring of colluders) earns little weight."""
        a, d = self.agree[bin_], self.disagree[bin_]
        n = a + d
        if n <= 0:
            return 0.0
        p = a / n
        z2 = z * z
        centre = p + z2 / (2 * n)
        margin = z * math.sqrt(max(0.0, p * (1 - p) / n + z2 / (4 * n * n)))
        return max(0.0, (centre - margin) / (1 + z2 / n))

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
    accuracy: float        # of the bin this report falls in
    weight: float          # 0..1: how much it counted
    pinned: bool


@dataclass(frozen=True, slots=True)
class NetworkView:
    """What the network says of one subject, weighted by each reporter's accuracy."""

    subject: str
    successes: float           # weighted, capped counts
    failures: float
    reporters: int             # reporters that counted (weight > 0)
    raw_successes: float       # their claims, unweighted (for the reason)
    raw_failures: float
    min_accuracy: float        # lowest accuracy among those that counted (1.0 when none)
    rows: tuple[ReporterRow, ...] = ()

    @property
    def score(self) -> float | None:
        """The weighted success rate (Beta(1, 1) prior), or None when no reporter counted."""
        if self.reporters == 0:
            return None
        return (self.successes + 1.0) / (self.successes + self.failures + 2.0)

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
                 max_reporters: int = MAX_REPORTERS, count_cap: float = COUNT_CAP,
                 forget: float = FORGET, z: float = WILSON_Z, collaborator_score: Callable[[str], float | None] | None = None,
                 own_counts: Callable[[str], tuple[float, float] | None] | None = None) -> None:
        self.our_id = our_id
        self.floor = floor
        self.max_subjects = max_subjects
        self.max_reporters_per_subject = max_reporters_per_subject
        self.max_reporters = max_reporters
        self.count_cap = count_cap
        self.forget = forget
        self.z = z
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
                    if ow is not None:
                        ow.reports.pop(subject, None)
            if len(reports) > self.max_subjects:
                old_subject, _ = reports.popitem(last=False)
                self._unindex(old_subject, reporter)
        return kept

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
            for subject in w.reports:
                self._unindex(subject, victim)

    def report_count(self) -> int:
        return sum(len(w.reports) for w in self.witnesses.values())

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
        w.bound[bin_] = w.accuracy_bound(bin_, self.z)

    # ---- reading ---------------------------------------------------------
    def weight(self, reporter: str, bin_: int) -> float:
        w = self.witnesses.get(reporter)
        if w is None:
            return 1.0 if reporter in self.trusted else 0.0
        return self._weight(w, bin_)

    def _weight(self, w: Witness, bin_: int) -> float:
        if w.pinned:
            return 1.0
        floor = self.floor
        if floor >= 1.0:
            return 0.0
        score = self.collaborator_score(w.reporter) if self.collaborator_score is not None else None
        if score is not None and score < self.floor:
            return 0.0          # a reporter below our threshold as a collaborator counts for nothing
        return max(0.0, (w.bound[bin_] - floor) / (1.0 - floor))

    def witness_score(self, reporter: str) -> float:
        """How much we believe ``reporter`` overall (for choosing whom to ask): its best bin's weight,
        plus a little for having been evaluated at all."""
        w = self.witnesses.get(reporter)
        if w is None:
            return 1.0 if reporter in self.trusted else 0.0
        if w.pinned:
            return 2.0
        return min(self._weight(w, GOOD), self._weight(w, BAD)) + 0.5 * max(
            self._weight(w, GOOD), self._weight(w, BAD))

    def judged(self, reporter: str) -> float:
        """How many of this reporter's reports we have judged (decayed)."""
        w = self.witnesses.get(reporter)
        return 0.0 if w is None else w.evaluated(GOOD) + w.evaluated(BAD)

    def has_reports(self, subject: str) -> bool:
        return bool(self.by_subject.get(subject))

    def view(self, subject: str, rows: bool = False) -> NetworkView:
        """What the reporters we believe say of ``subject`` (weighted, each report capped)."""
        index = self.by_subject.get(subject)
        s = f = raw_s = raw_f = 0.0
        n = 0
        min_acc = 1.0
        out: list[ReporterRow] = []
        if index:
            cap = self.count_cap
            floor = self.floor
            for reporter in index:
                w = self.witnesses.get(reporter)
                report = w.reports.get(subject) if w is not None else None
                if report is None:
                    continue
                total = report.outcomes
                bin_ = GOOD if report.successes > report.failures else BAD
                if total <= 0 or report.successes == report.failures:
                    weight = 0.0
                elif w.pinned:
                    weight = 1.0
                elif w.bound[bin_] <= floor:
                    weight = 0.0                       # the common case (liars, unknowns): no more to look at
                else:
                    weight = self._weight(w, bin_)
                if weight > 0.0:
                    accuracy = 1.0 if w.pinned else w.accuracy(bin_)
                    scale = weight * (min(1.0, cap / total))
                    s += report.successes * scale
                    f += report.failures * scale
                    raw_s += report.successes
                    raw_f += report.failures
                    n += 1
                    min_acc = min(min_acc, accuracy)
                if rows:
                    accuracy = 1.0 if w.pinned else w.accuracy(bin_)
                    out.append(ReporterRow(reporter, report.successes, report.failures, report.last_outcome_at,
                                           report.received_at, accuracy, weight, w.pinned))
        if rows:
            out.sort(key=lambda r: (-r.weight, r.reporter))
        return NetworkView(subject, s, f, n, raw_s, raw_f, min_acc, tuple(out))

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
