"""What other trainers told us they saw, and how far we believe each of them as a witness.

Reports (``REPUTATION_REPORT`` observations) are claims by untrusted peers. They are kept
here, beside the ``ReputationBook`` and never mixed into it: ``reputation[peer]`` stays the
seed's EWMA of our own outcomes. The decision combines the two (``core/shared.py``).

**Checking a claim.** A claim is a reporter's counts with a subject (successes, failures),
scaled to at most ``CLAIM_CAP`` outcomes; it is *praise* if the counts are evidence for a good
collaborator, else an *accusation*. Each kept claim is checked once against our own record
of the subject — on arrival if we have one, else at our next outcome with it — by the log
Bayes factor that both records come from one collaborator's rate rather than two unrelated
ones (``consistency``). A claim within ``NOISE`` of agreeing passes (two honest records of a
peer that succeeds 60% of the time disagree often, a little); one further off is *caught*.

**Belief** in a reporter's claims of one kind is a probability that it tells the truth,
as log-odds: ``PRIOR`` + the passed checks of that kind (fading by ``forget`` per new one,
at most ``CREDIT_HIGH``) times what one passed check is worth + every caught claim, of
either kind, which never fades. What a passed check is worth is learned from the liars
themselves (empirical Bayes): ``ln (1 - e) / (1 - q)``, with ``q`` how often a liar's claim of
that kind is caught and ``e`` (``HONEST_CAUGHT``) how often an honest claim is. Blatant liars
make one passed check strong evidence; stealthy ones make it weak. ``q`` comes from a model of
every reporter we judged (``ReporterModel``, fitted by EM to each one's checks and catches):
honest reporters, caught now and then, and liars, caught far more often, each reporter counted
as a liar as far as its catches say it is one (an honest reporter caught once in thirty checks
hardly counts). ``q`` is per kind of claim: liars that slander are caught on nearly every
accusation, so a passed accusation is strong evidence; liars that tell the truth 60% of the
time are caught on most of their praise but few of their accusations (they accuse mostly bad
peers, truly), so a passed accusation from them is weak. Before the liars' claims of a kind
have been checked, that kind's ``q`` is the default ``Q_DEFAULT``. And when liars hardly make
claims of a kind at all (ballot-stuffers praise each other and accuse nobody), a passed claim
of that kind is worth its likelihood ratio between an honest reporter and a liar
(``ReporterModel.rare_worth``), which is then large. Truthful praise earns no belief in a
reporter's accusations (a slanderer praises its friends truly), and an accusation that keeps
its victim refused is never checked — so accusations are believed only after accusations of
this reporter passed checks. A reporter whose score as a collaborator is below our floor
counts for nothing; a good collaborator earns nothing as a witness by it. Pinned reporters
(``reputation.trusted_reporters``) are believed fully.

**Against the liars we caught** (accusations only). Most claims in a large network are about
peers we never met, which no record of ours can check. An accusation of such a peer is checked
instead, once, against what the liars we caught say of it when they agree among themselves
(``_check_against_liars``): contradicting them is a point for its reporter as an accuser, agreeing
a point against, each worth what ``against_worth`` learned from how often proven reporters and
the caught liars themselves contradict them. Colluders agree with each other and honest
witnesses contradict them, so an honest accuser is believed before we share a peer with it.

**What the caught liars agree on** (a stranger). Colluders praise each other, so when at least
two liars we caught speak of a peer we never met and all say one kind of thing, that agreement
is evidence in itself (``agreement_worth``): its log likelihood ratio between the strangers that
delivered at our first meeting and those that failed (``first_meetings``), added to the
stranger's pooled log-odds (``combined``, not ``proven``: a refusal on it alone is probed, and
the probe is a first meeting that weighs it again). It needs no news of the stranger, only
liars we caught. ``contested`` counts the praise of a stranger by reporters we believe as
accusers: when our believed witnesses disagree, the decision may probe (``core/shared.py``).

**Pooling** (``view``): the subject is good (succeeds ``GOOD_RATE``) or bad (one of
``BAD_RATES``). Each claim is explained as true, with our belief ``w``, or as made up,
as convincing as its liar could make it (as likely as under the rate that fits it best),
so one reporter can move the odds by at most ``1 / (1 - w)`` however much it claims.
Reporters believed at least ``PROVEN`` are pooled with our own record; the rest may tip a
close call, never decide one: their sum is bounded by ``CROWD_CAP``, and for a peer we
have never met, together with how strangers have turned out for us (``stranger_prior``), by
``WEAK_CAP``. What a reporter not yet proven sent unasked (its 30 s broadcast) is checked like
any claim, which is how it earns belief, but pooled only once it is proven: a broadcast reaches
every trainer, a liar's slander of everyone as much as an honest record, while an answer comes
from a reporter we chose to ask (the proven first).

Bounds: at most ``max_subjects`` subjects per reporter and ``max_reporters_per_subject``
reporters per subject (the oldest report of a reporter not proven dropped first: a flood of
claims never pushes out what the proven said), at most ``max_reporters`` reporters (the
least recently heard dropped first, pinned ones kept), at most ``max_reports`` reports in all
(a fair share: the oldest of the reporter keeping the most dropped first, proven ones last).
"""
from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Container, Iterable, Sequence

MAX_SUBJECTS_PER_REPORTER = 256
MAX_REPORTERS_PER_SUBJECT = 64
MAX_REPORTERS = 1024
MAX_REPORTS = 32_768          # reports kept in all (a few MB at most)
FORGET = 0.97                 # passed checks fade by this per new one: a sleeper's past truth does not last
RANK_EVERY_S = 10.0

GOOD_RATE = 0.95                    # a good collaborator succeeds this often...
BAD_RATES = (0.02, 0.3, 0.6)        # ...a bad one (equally likely) this often: always failing, often, camouflaged
CLAIM_CAP = 8.0           # a claim counts as at most this many outcomes (scaled down, its rate kept)
JEFFREYS = 0.5            # Beta(1/2, 1/2): a rate before anything is seen of it (for ``consistency``)
NOISE = 1.0               # a claim this close to agreeing with our record passes its check
CAUGHT_LOW = -4.0         # the most one caught claim costs
PRIOR = -1.0              # log-odds of belief in a reporter none of whose claims of a kind were checked
CREDIT_HIGH = 8.0         # the most passed checks are worth
HONEST_CAUGHT = 0.02      # how often an honest reporter's claim is caught (an outage, a stale record)
Q_DEFAULT, Q_LOW, Q_HIGH = 0.3, 0.2, 0.9   # a liar's claim is caught: before data, bounds
# the two kinds of reporter, fitted (``ReporterModel``): an honest claim is caught within these bounds
# (the guess ``HONEST_CAUGHT`` counts as this many checks), a liar's as ``Q_DEFAULT`` counts as ``Q_PSEUDO``
HONEST_LOW, HONEST_HIGH, HONEST_PSEUDO, Q_PSEUDO = 0.005, 0.15, 10.0, 8.0
RARE = 2.0                # liars make claims of a kind this many times less often than honest reporters: "rare"
WORTH_HIGH = 2.3          # the most one passed check is worth (a liar caught 9 times in 10)
FIT_ROUNDS = 20           # EM rounds
REFIT_MIN, REFIT_SHARE = 16, 0.05   # refitted after this many more checks, or this share of those it saw
PROVEN = 0.5              # believed at least this much: pooled with our own record
CROWD_CAP = 1.5           # the most the reporters not yet proven can say together
WEAK_CAP = 1.4            # ...together with the stranger prior, for a peer we never met (below the refusal line, 1.5)
STRANGER_GOOD_LOW = 0.2   # the stranger prior never puts a stranger's chance of being good below this
COUNTED = 0.1             # a reporter believed less than this is not named among those who "said"
AGAINST_HIGH = 4.0        # the most (either way) a reporter's accusations checked against the caught liars are worth
AGAINST_REFIT = 32        # what one such check is worth is re-learned after this many more of them
AGREE_PSEUDO = 4.0        # the caught liars' agreement on a stranger: pseudo-meetings at the overall share...
AGREE_HIGH = 4.0          # ...and the most (either way) it is worth
_CAUGHT_LIAR = math.log(COUNTED / (1.0 - COUNTED))   # believed less than ``COUNTED`` in both kinds: a caught liar

GOOD, BAD = 0, 1          # kinds of claim: praise, accusation
NO_AGREEMENT = 2          # the caught liars' claims about a subject are of both kinds, or fewer than two


@dataclass(slots=True)
class Report:
    """One reporter's claim about one subject: its own outcomes with it."""

    successes: float
    failures: float
    last_outcome_at: float | None
    received_at: float
    judged: bool = False       # already checked against our own record
    asked: bool = True         # an answer to our query (False: unsolicited, pooled only once its reporter is proven)
    against: bool = False      # already checked against what the liars we caught say of the subject

    @property
    def outcomes(self) -> float:
        return self.successes + self.failures


@dataclass(slots=True)
class Witness:
    """What we know of one reporter as a witness: its reports and how its claims fared."""

    reporter: str
    reports: OrderedDict = field(default_factory=OrderedDict)     # subject -> Report, oldest first
    passed: list = field(default_factory=lambda: [0.0, 0.0])       # per kind: passed checks (fading)
    caught_cost: list = field(default_factory=lambda: [0.0, 0.0])  # per kind: what caught claims cost (≤ 0)
    agree: list = field(default_factory=lambda: [0.0, 0.0])        # per kind, for the UI: checks passed...
    disagree: list = field(default_factory=lambda: [0.0, 0.0])     # ...and caught (fading)
    pinned: bool = False
    kind_checks: list = field(default_factory=lambda: [0, 0])    # per kind: claims checked...
    kind_caught: list = field(default_factory=lambda: [0, 0])    # ...and caught
    against: list = field(default_factory=lambda: [0, 0])        # accusations checked against the caught liars, contradicting them

    @property
    def checks(self) -> int:
        return self.kind_checks[GOOD] + self.kind_checks[BAD]

    @property
    def caught(self) -> int:
        return self.kind_caught[GOOD] + self.kind_caught[BAD]

    def accuracy(self, kind: int) -> float:
        """Share of its checked claims of this kind that passed (1 pseudo-check each way)."""
        return (self.agree[kind] + 1.0) / (self.agree[kind] + self.disagree[kind] + 2.0)


@dataclass(frozen=True, slots=True)
class ReporterRow:
    """One reporter's line in the network view of a subject (plain data for the UI)."""

    reporter: str
    successes: float
    failures: float
    last_outcome_at: float | None
    received_at: float
    accuracy: float        # share of its checked claims of this kind that passed
    weight: float          # 0..1: our belief that its claims of this kind are true
    pinned: bool
    unasked: bool = False  # sent unasked by a reporter not proven: judges it, not pooled (weight 0)
    against: tuple[int, int] = (0, 0)   # an accusation: the reporter's accusations checked against the
                                        # liars we caught, and how many contradicted them


@dataclass(frozen=True, slots=True)
class NetworkView:
    """What the network says of one subject."""

    subject: str
    log_odds: float            # what the reports alone say: > 0 good, < 0 bad (natural log)
    reporters: int             # reporters believed at least ``COUNTED``
    raw_successes: float       # what they claimed, summed (for the reason)
    raw_failures: float
    min_accuracy: float        # the least belief among them (1.0 if none)
    rows: tuple[ReporterRow, ...] = ()
    combined: float = 0.0      # the reports, our own record and (for a stranger) the stranger prior
    proven: float = 0.0        # the proven reporters' claims with our own record (no crowd, no prior)
    agreed: int | None = None  # a stranger: what the caught liars agree it is (``GOOD`` / ``BAD``), if they do...
    agreement: float = 0.0     # ...and what that says, as log-odds (in ``combined``, not in ``proven``)
    contested: int = 0         # a stranger: how many reporters we believe as accusers praise it

    @property
    def score(self) -> float | None:
        """The network's view as a 0..1 score (0.5 + the evidence), None when no reporter counted."""
        if self.reporters == 0:
            return None
        return 1.0 / (1.0 + math.exp(-self.log_odds))

    @property
    def empty(self) -> bool:
        """Nobody we believe said anything, and the caught liars do not agree on it."""
        return self.reporters == 0 and self.agreed is None

    def describe(self) -> str:
        acc = f" (belief ≥ {self.min_accuracy:.2f})" if self.reporters else ""
        said = (f"reports: {_count(self.raw_successes)} ✓ / {_count(self.raw_failures)} ✗ from "
                f"{self.reporters} reporter{'s' if self.reporters != 1 else ''}{acc}")
        if self.agreed is None:
            return said
        return (f"{said}; the liars we caught all {'praise' if self.agreed == GOOD else 'accuse'} it "
                f"({self.agreement:+.1f})")


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
        self._proven: set[str] = set()       # reporters believed at least ``PROVEN`` in one kind of claim
        self._ranked_at = 0.0
        self._turn = 0
        self.strangers = [0, 0]           # first meetings that succeeded, failed
        self._model: ReporterModel | None = None   # honest reporters and liars, fitted (``population``)
        self._worth: tuple[float, float] = (0.0, 0.0)     # ``check_worth`` per kind...
        self._worth_of: ReporterModel | None = None       # ...for this fitted model
        self._unfitted = 0                         # checks made (or forgotten) since
        self._against_worth: tuple[float, float] | None = None   # what an accusation contradicting / agreeing with the caught liars is worth
        self._against_unfitted = 0                 # checks against them made since
        #: our first meetings with strangers by what the caught liars agreed on before it (praise,
        #: accusation, no agreement) -> [delivered, failed] (``agreement_worth``)
        self.first_meetings = [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
        self.set_trusted(trusted)

    # ---- settings --------------------------------------------------------
    def set_trusted(self, reporters: Iterable[str]) -> None:
        self.trusted = frozenset(r for r in reporters if r != self.our_id)
        for w in self.witnesses.values():
            w.pinned = w.reporter in self.trusted
        self._ranked = None

    # ---- storing reports -------------------------------------------------
    def ingest(self, reporter: str, observations: Iterable[tuple[str, float, float, float | None]],
               now: float, asked: bool = True) -> int:
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
            old = reports.get(subject)
            report = reports[subject] = Report(successes, failures, last, now, asked=asked)
            if old is not None and (old.successes, old.failures) == (successes, failures):
                report.judged = old.judged                    # the same claim again: judged once
                report.against = old.against
            if self.own_counts is not None:
                mine = self.own_counts(subject)
                if mine is not None:
                    self._judge(w, report, mine)             # what we saw ourselves already
            index = self.by_subject.get(subject)
            if index is None:
                index = self.by_subject[subject] = OrderedDict()
            if reporter in index:
                index.move_to_end(reporter)
            else:
                index[reporter] = None
                if len(index) > self.max_reporters_per_subject:
                    old = self._least_worth_keeping(index, now)
                    del index[old]
                    ow = self.witnesses.get(old)
                    if ow is not None and ow.reports.pop(subject, None) is not None:
                        self._count -= 1
            if len(reports) > self.max_subjects:
                old_subject, _ = reports.popitem(last=False)
                self._count -= 1
                self._unindex(old_subject, reporter)
        if self._count > self.max_reports:
            self._evict_reports(now)
        return kept

    def _least_worth_keeping(self, index: OrderedDict, now: float) -> str:
        """Of the reporters of one subject (oldest first), the one whose report goes: the oldest
        not proven (believed less than ``PROVEN`` in both kinds of claim); only when all are proven,
        the oldest. A flood of claims from reporters not proven never pushes out what the proven said."""
        self._ranking(now)
        for reporter in index:
            if not self.is_proven(reporter):
                return reporter
        return next(iter(index))

    def _evict_reports(self, now: float) -> None:
        """Over the total, a fair share: the reporter keeping the most reports loses its oldest
        first (among equals, the least recently heard), so a flood of long broadcasts trims its
        own senders, not the few fresh records of everyone else; proven reporters' reports go only
        when nobody else's are left, pinned reporters' never. Trimmed to 63/64 of the cap."""
        self._ranking(now)
        proven = self._proven
        goal = self.max_reports - self.max_reports // 64      # some room, so this runs once per few reports
        for spare_proven in (True, False):
            heap = [(-len(w.reports), turn, w) for turn, w in enumerate(self.witnesses.values())
                    if w.reports and not w.pinned and not (spare_proven and w.reporter in proven)]
            heapq.heapify(heap)
            while heap and self._count > goal:
                size, turn, w = heap[0]
                subject, _ = w.reports.popitem(last=False)
                self._count -= 1
                self._unindex(subject, w.reporter)
                if w.reports:
                    heapq.heapreplace(heap, (size + 1, turn, w))
                else:
                    heapq.heappop(heap)
            if self._count <= goal:
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
            self._unfitted += w.checks
            for subject in w.reports:
                self._unindex(subject, victim)

    def report_count(self) -> int:
        return self._count

    # ---- learning from our own outcomes ----------------------------------
    def learn(self, subject: str, success: bool) -> None:
        """Check every kept claim about ``subject`` not checked yet against our record of it (just
        updated with an outcome, ``success``); a first meeting also counts for the stranger prior."""
        mine = self.own_counts(subject) if self.own_counts is not None else None
        if mine is None:
            mine = (1.0, 0.0) if success else (0.0, 1.0)
        if mine[0] + mine[1] == 1:
            self.strangers[0 if success else 1] += 1
            agreed = self.caught_liars_agree(subject)
            self.first_meetings[NO_AGREEMENT if agreed is None else agreed][0 if success else 1] += 1
        index = self.by_subject.get(subject)
        if not index:
            return
        for reporter in index:
            w = self.witnesses.get(reporter)
            report = w.reports.get(subject) if w is not None else None
            if report is not None:
                self._judge(w, report, mine)

    def _judge(self, w: Witness, report: Report, mine: tuple[float, float]) -> None:
        """Check one claim, once, against our record ``mine`` (see the module doc)."""
        if report.judged or report.outcomes <= 0 or (mine[0] + mine[1]) <= 0:
            return
        report.judged = True
        a, b = capped(report.successes, report.failures)
        lbf = consistency(a, b, float(mine[0]), float(mine[1]))
        kind = claim_kind(a, b)
        forget = self.forget
        w.kind_checks[kind] += 1
        self._unfitted += 1
        if lbf >= -NOISE:
            w.passed[kind] = w.passed[kind] * forget + 1.0
            agreement = 1.0
        else:
            w.caught_cost[kind] += max(CAUGHT_LOW, lbf + NOISE)
            w.kind_caught[kind] += 1
            agreement = 0.0
        w.agree[kind] = w.agree[kind] * forget + agreement
        w.disagree[kind] = w.disagree[kind] * forget + (1.0 - agreement)

    # ---- reading ---------------------------------------------------------
    def weight(self, reporter: str, kind: int = GOOD) -> float:
        """Our belief, 0..1, that ``reporter``'s claims of ``kind`` are true (1: pinned)."""
        w = self.witnesses.get(reporter)
        if w is None:
            return 1.0 if reporter in self.trusted else 0.0
        return self._weight(w, kind)

    def _weight(self, w: Witness, kind: int) -> float:
        if w.pinned:
            return 1.0
        if self._silenced(w):
            return 0.0          # a reporter below our threshold as a collaborator counts for nothing
        own = self._own_belief(w, kind)
        if kind == BAD and own > -40.0:
            own += self._against_evidence(w)
        return _sigmoid(own)

    def _silenced(self, w: Witness) -> bool:
        score = self.collaborator_score(w.reporter) if self.collaborator_score is not None else None
        return score is not None and score < self.floor

    def _own_belief(self, w: Witness, kind: int) -> float:
        """log-odds of belief in ``w``'s claims of ``kind`` from our own checks alone."""
        passed = min(CREDIT_HIGH, w.passed[kind] * self.check_worth(kind))
        return PRIOR + passed + w.caught_cost[GOOD] + w.caught_cost[BAD]

    # ---- checking claims against the liars we caught ----------------------
    def _caught_liar(self, w: Witness) -> bool:
        """Caught lying at least once and believed less than ``COUNTED`` in both kinds of claim on our
        own checks (or silenced as a collaborator)."""
        if w.pinned or not w.caught:
            return False
        return self._silenced(w) or self._own_best(w) < _CAUGHT_LIAR

    def _own_best(self, w: Witness) -> float:
        """log-odds of belief in ``w``'s better kind of claim, from our own checks alone."""
        return max(self._own_belief(w, GOOD), self._own_belief(w, BAD))

    def _claims(self, subject: str) -> Iterable[tuple[Witness, Report, float, float, int]]:
        """Every kept claim about ``subject`` by a reporter not pinned: (witness, report, capped
        successes, capped failures, kind)."""
        for reporter in self.by_subject.get(subject, ()):
            w = self.witnesses.get(reporter)
            report = w.reports.get(subject) if w is not None else None
            if report is None or report.outcomes <= 0 or w.pinned:
                continue
            a, b = capped(report.successes, report.failures)
            yield w, report, a, b, claim_kind(a, b)

    def caught_liars_agree(self, subject: str) -> int | None:
        """The kind of claim (``GOOD`` / ``BAD``) every caught liar that reported ``subject`` made,
        when at least two did and all made the same kind; else None."""
        return _agreed(self.caught_liars_said(subject))

    def caught_liars_said(self, subject: str) -> list[int]:
        """How many caught liars praised and accused ``subject``: [praise, accusations]."""
        said = [0, 0]
        for w, _, _, _, kind in self._claims(subject):
            if self._caught_liar(w):
                said[kind] += 1
        return said

    def agreement_worth(self, kind: int) -> float:
        """What the caught liars agreeing on ``kind`` about a stranger says of it, as log-odds: the
        log likelihood ratio of that agreement between the strangers that delivered at our first
        meeting and those that failed (``first_meetings``, each side from ``AGREE_PSEUDO``
        pseudo-meetings at the overall share), within ``AGREE_HIGH``. Colluders praise each other:
        their agreement names the attackers before anyone has told us of them."""
        meetings = self.first_meetings
        delivered = sum(m[0] for m in meetings)
        failed = sum(m[1] for m in meetings)
        d, f = meetings[kind]
        share = (d + f + 1.0) / (delivered + failed + 2.0)
        ratio = ((d + AGREE_PSEUDO * share) / (delivered + AGREE_PSEUDO)) / \
                ((f + AGREE_PSEUDO * share) / (failed + AGREE_PSEUDO))
        return max(-AGREE_HIGH, min(AGREE_HIGH, math.log(ratio)))

    def _check_against_liars(self, subject: str) -> None:
        """Check each accusation of ``subject`` (a peer we never met) not checked so far against what
        the liars we caught say of it, once, when they all say one kind of thing (each caught liar
        against the others). An accusation that contradicts them is a point for its reporter as an
        accuser, one that agrees a point against, each worth what ``against_worth`` learned."""
        claims = list(self._claims(subject))       # (witness, report, a, b, kind)
        if not any(kind == BAD and not report.against for _, report, _, _, kind in claims):
            return             # every accusation checked already: the hot path of a repeated view
        claims = [c + (self._caught_liar(c[0]),) for c in claims]
        liars = [c for c in claims if c[5]]
        if not liars:
            return
        total_s = sum(c[2] for c in liars)
        total_f = sum(c[3] for c in liars)
        said = [0, 0]                                           # caught liars' claims per kind
        for c in liars:
            said[c[4]] += 1
        for w, report, a, b, kind, liar in claims:
            if kind != BAD or report.against:
                continue
            others = list(said)                                 # a caught liar: against the others
            if liar:
                others[kind] -= 1
            if (others[GOOD] > 0) == (others[BAD] > 0):
                continue                                        # none, or no consensus among them
            s, f = (total_s - a, total_f - b) if liar else (total_s, total_f)
            report.against = True
            s, f = capped(s, f)
            w.against[0] += 1
            if consistency(a, b, s, f) < -NOISE:
                w.against[1] += 1
            self._against_unfitted += 1

    def against_worth(self) -> tuple[float, float]:
        """What one accusation that contradicted the caught liars is worth, and one that agreed with
        them, as log-odds: ``ln c_h / c_l`` and ``ln (1 - c_h) / (1 - c_l)``, with ``c_h`` how often the
        accusations of the reporters our own checks proved contradict them and ``c_l`` how often each
        caught liar's accusations contradict the others (each from a weak start at one in two).
        Colluders agree with one another and honest witnesses contradict them: a contradiction is then
        strong evidence. Liars that contradict each other as often as honest witnesses do make it
        none. Re-learned after ``AGAINST_REFIT`` more checks."""
        worth = self._against_worth
        if worth is not None and self._against_unfitted < AGAINST_REFIT:
            return worth
        sums = [[1.0, 2.0], [1.0, 2.0]]        # [proven, caught liar] -> [contradicted, checked]
        for w in self.witnesses.values():
            if w.pinned or not w.against[0]:
                continue
            if self._caught_liar(w):
                who = 1
            elif not self._silenced(w) and self._own_best(w) >= 0.0:
                who = 0
            else:
                continue
            sums[who][0] += w.against[1]
            sums[who][1] += w.against[0]
        ch, cl = (min(0.98, max(0.02, c / n)) for c, n in sums)
        worth = self._against_worth = (math.log(ch / cl), math.log((1.0 - ch) / (1.0 - cl)))
        self._against_unfitted = 0
        return worth

    def _against_evidence(self, w: Witness) -> float:
        """What ``w``'s accusations checked against the caught liars say of it as an accuser (log-odds,
        within ``AGAINST_HIGH``)."""
        checked, contradicted = w.against
        if not checked:
            return 0.0
        contra, agree = self.against_worth()
        return max(-AGAINST_HIGH, min(AGAINST_HIGH, contradicted * contra + (checked - contradicted) * agree))

    def liar_catch_rate(self, kind: int) -> float:
        """How often a liar is caught per check of a claim of ``kind``: the reporter model's rate
        for its liars (``ReporterModel``), in which each judged reporter counts as far as its catches
        make it a liar, so an honest reporter caught once among many passed checks hardly counts.
        Each kind has its own rate: liars that tell the truth 60% of the time are caught on most
        of their praise but few of their accusations, so a passed accusation is weak evidence."""
        return self.population().caught[1][kind]

    def check_worth(self, kind: int) -> float:
        """What one passed check of a claim of ``kind`` is worth, as log-odds: ``ln (1 - e) / (1 - q)``,
        or more when liars rarely make claims of this kind (``ReporterModel.rare_worth``)."""
        model = self.population()
        if self._worth_of is not model:        # one pair of figures per fitted model
            worths = []
            for k in (GOOD, BAD):
                worth = math.log((1.0 - HONEST_CAUGHT) / (1.0 - model.caught[1][k]))
                rare = model.rare_worth(k)
                worths.append(worth if rare is None else max(worth, rare))
            self._worth, self._worth_of = tuple(worths), model
        return self._worth[kind]

    def population(self) -> ReporterModel:
        """Honest reporters and liars as our checks show them, refitted after ``REFIT_MIN`` more
        checks or ``REFIT_SHARE`` of those it saw, whichever is more."""
        model = self._model
        if model is None or self._unfitted >= max(REFIT_MIN, REFIT_SHARE * model.checks):
            model = self._model = ReporterModel.fit(
                [(w.kind_checks, w.kind_caught) for w in self.witnesses.values() if w.checks and not w.pinned])
            self._unfitted = 0
        return model

    def stranger_prior(self) -> float:
        """log-odds that a peer we have never met is a good collaborator, from how our first
        meetings turned out (a good peer succeeds ``GOOD_RATE`` of the time, a bad one as
        ``BAD_RATES`` on average): never above 0, never below ``STRANGER_GOOD_LOW``'s odds."""
        s, f = self.strangers
        p = (s + 1.0) / (s + f + 2.0)
        bad = sum(BAD_RATES) / len(BAD_RATES)
        good = max(STRANGER_GOOD_LOW, min(0.5, (p - bad) / (GOOD_RATE - bad)))
        return math.log(good / (1.0 - good))

    def is_proven(self, reporter: str) -> bool:
        """Pinned, or believed at least ``PROVEN`` in one kind of claim (as of the last ranking)?"""
        return reporter in self.trusted or reporter in self._proven

    def judged(self, reporter: str) -> float:
        """How many of this reporter's claims we have checked."""
        w = self.witnesses.get(reporter)
        return 0.0 if w is None else float(w.checks)

    def has_reports(self, subject: str) -> bool:
        return bool(self.by_subject.get(subject))

    def view(self, subject: str, rows: bool = False) -> NetworkView:
        """What the reporters say of ``subject`` (pooled as in the module doc)."""
        mine = self.own_counts(subject) if self.own_counts is not None else None
        if mine is None:
            self._check_against_liars(subject)
        index = self.by_subject.get(subject)
        raw_s = raw_f = 0.0
        n = 0
        min_acc = 1.0
        out: list[ReporterRow] = []
        claims: list[tuple[float, float, float]] = []
        contested = 0
        said = [0, 0]
        if index:
            for reporter in index:
                w = self.witnesses.get(reporter)
                report = w.reports.get(subject) if w is not None else None
                if report is None or report.outcomes <= 0:
                    continue
                a, b = capped(report.successes, report.failures)
                kind = claim_kind(a, b)
                weight = self._weight(w, kind)
                unasked = not report.asked and weight < PROVEN and not w.pinned
                if unasked:
                    weight = 0.0          # unsolicited from a reporter not proven: it judges the reporter only
                if weight > 0.0:
                    claims.append((a, b, weight))
                if mine is None and not w.pinned:
                    if self._caught_liar(w):
                        said[kind] += 1   # what the caught liars agree on (``caught_liars_agree``)
                    elif kind == GOOD and self._weight(w, BAD) >= PROVEN:
                        contested += 1    # a witness whose accusations we believe vouches for it
                if weight >= COUNTED:
                    raw_s += report.successes
                    raw_f += report.failures
                    n += 1
                    min_acc = min(min_acc, weight)
                if rows:
                    out.append(ReporterRow(reporter, report.successes, report.failures, report.last_outcome_at,
                                           report.received_at, 1.0 if w.pinned else w.accuracy(kind),
                                           weight, w.pinned, unasked,
                                           (w.against[0], w.against[1]) if kind == BAD else (0, 0)))
        if rows:
            out.sort(key=lambda r: (-r.weight, r.reporter))
        agreed = _agreed(said)
        agreement = self.agreement_worth(agreed) if agreed is not None else 0.0
        if not n:
            if agreed is None:
                return NetworkView(subject, 0.0, 0, raw_s, raw_f, min_acc, tuple(out))
            return NetworkView(subject, 0.0, 0, raw_s, raw_f, min_acc, tuple(out),
                               self.stranger_prior() + agreement, 0.0, agreed, agreement, contested)
        proven = [c for c in claims if c[2] >= PROVEN]
        unproven = [c for c in claims if c[2] < PROVEN]
        # reporters not yet proven may tip a close call, never decide one: their sum is bounded
        weak = _odds(unproven, None)
        crowd = max(-CROWD_CAP, min(CROWD_CAP, weak))
        strong = _odds(proven, None)
        reports_only = strong + crowd
        if mine:
            with_mine = _odds(proven, mine)
            combined = with_mine + crowd
        else:
            with_mine = strong
            prior = self.stranger_prior()
            combined = strong + max(-WEAK_CAP, min(WEAK_CAP, weak + prior)) + agreement
        return NetworkView(subject, reports_only, n, raw_s, raw_f, min_acc, tuple(out), combined, with_mine,
                           agreed, agreement, contested)

    def best_reporters(self, candidates: Sequence[str], k: int, explore: int, *, subject: str | None = None,
                       allowed: Container[str] | None = None, now: float = 0.0) -> list[str]:
        """Up to ``k`` reporters to ask about ``subject``: pinned first, then the best witnesses;
        ``explore`` of the slots go to reporters not judged yet (taken from ``candidates`` in turn,
        so each gets its chance). ``allowed``: only these (e.g. the peers online)."""
        if k <= 0:
            return []
        ranking = self._ranking(now)
        known = self.by_subject.get(subject) if subject is not None else None
        if known:
            # proven reporters that have told us of this subject know it: asked first (after the
            # pinned); in a large network most reporters never met a given peer
            proven = self._proven
            ranking = sorted(ranking, key=lambda r: (r not in self.trusted, r not in proven or r not in known))
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
        scored = []
        proven = set()
        for w in self.witnesses.values():
            if w.pinned:
                scored.append((3.0, w.reporter))
                continue
            good, bad = self._weight(w, GOOD), self._weight(w, BAD)
            scored.append((0.5 * (good + bad), w.reporter))
            if max(good, bad) >= PROVEN:
                proven.add(w.reporter)
        scored.sort(key=lambda t: (-t[0], t[1]))
        self._ranked = [r for r in sorted(self.trusted) if r not in self.witnesses]
        self._ranked += [r for score, r in scored if score > 0.0][:256]
        self._proven = proven
        self._ranked_at = now
        return self._ranked


@dataclass(frozen=True, slots=True)
class ReporterModel:
    """Honest reporters and liars, fitted by EM to how often each judged reporter was caught:
    an honest reporter's claims are caught now and then (an outage, a stale record, a peer that
    fails half the time), a liar's far more often. Which kind a reporter is comes from its catches
    alone; the fit then says, for each kind of claim, how often each kind of reporter is caught
    and what share of its checked claims are of that kind.

    It answers two questions. How often is a liar's claim of each kind caught (``caught[1]``, the
    ``q`` of a passed check's worth)? And (``rare_worth``) are claims of a kind something liars
    hardly make? Ballot-stuffers praise each other and never accuse anyone: then an accusation
    that passed its check is strong evidence that its reporter is honest, whatever the liars'
    catch rate on praise says.
    """

    liars: float                                      # share of judged reporters that lie
    caught: tuple[tuple[float, float], ...]           # [honest, liar][kind]: share of its checks caught
    share: tuple[tuple[float, float], ...]            # [honest, liar][kind]: share of its checks of that kind
    checks: int                                       # checks the fit saw

    @classmethod
    def fit(cls, records: Sequence[tuple[Sequence[int], Sequence[int]]]) -> ReporterModel:
        """``records``: per reporter, (checks per kind, caught per kind)."""
        liars = 0.5
        e = [HONEST_CAUGHT, HONEST_CAUGHT]
        q = [Q_DEFAULT, Q_DEFAULT]
        share = ((0.5, 0.5), (0.5, 0.5))
        for _ in range(FIT_ROUNDS if records else 0):
            # E: how likely each reporter is a liar, from its catches
            terms = [(math.log(q[k] / e[k]), math.log((1.0 - q[k]) / (1.0 - e[k]))) for k in (GOOD, BAD)]
            prior = math.log(liars / (1.0 - liars))
            resp = [_sigmoid(prior + sum(c[k] * terms[k][0] + (n[k] - c[k]) * terms[k][1] for k in (GOOD, BAD)))
                    for n, c in records]
            # M: the share of liars; per kind, each kind of reporter's catch rate (from a weak guess)
            # and share of checks
            liars = max(0.01, min(0.99, (sum(resp) + 1.0) / (len(resp) + 2.0)))
            sums = [[[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]    # [honest, liar][checks, caught][kind]
            for r, (n, c) in zip(resp, records):
                for who, p in ((0, 1.0 - r), (1, r)):
                    for k in (GOOD, BAD):
                        sums[who][0][k] += p * n[k]
                        sums[who][1][k] += p * c[k]
            (hn, hc), (ln, lc) = sums
            for k in (GOOD, BAD):
                e[k] = max(HONEST_LOW, min(HONEST_HIGH, (hc[k] + HONEST_PSEUDO * HONEST_CAUGHT) / (hn[k] + HONEST_PSEUDO)))
                q[k] = max(Q_LOW, min(Q_HIGH, (lc[k] + Q_PSEUDO * Q_DEFAULT) / (ln[k] + Q_PSEUDO)))
            share = tuple(((x[GOOD] + 1.0) / (x[GOOD] + x[BAD] + 2.0), (x[BAD] + 1.0) / (x[GOOD] + x[BAD] + 2.0))
                          for x in (hn, ln))
        checks = sum(n[GOOD] + n[BAD] for n, _ in records)
        return cls(liars, ((e[GOOD], e[BAD]), (q[GOOD], q[BAD])), share, checks)

    def rare_worth(self, kind: int) -> float | None:
        """If liars make claims of ``kind`` at most 1/``RARE`` as often as honest reporters do: what
        one passed check of such a claim is worth, the log-likelihood ratio of "a claim of this
        kind, checked and passed" between an honest reporter and a liar (at most ``WORTH_HIGH``).
        Else None: the kind says little about who made it."""
        if self.share[0][kind] < RARE * self.share[1][kind]:
            return None
        honest = self.share[0][kind] * (1.0 - self.caught[0][kind])
        liar = self.share[1][kind] * (1.0 - self.caught[1][kind])
        return min(WORTH_HIGH, math.log(honest / liar))


def _agreed(said: list[int]) -> int | None:
    """The kind of claim the caught liars agree on, from how many made each kind (at least two,
    none of the other kind); else None."""
    for kind in (GOOD, BAD):
        if said[kind] >= 2 and not said[1 - kind]:
            return kind
    return None


def _hopeless(w: Witness) -> bool:
    """A reporter caught often enough not to be worth asking again."""
    return PRIOR + sum(w.caught_cost) < -6.0


def _odds(claims: list[tuple[float, float, float]], mine: tuple[float, float] | None) -> float:
    """log P(everything | good) / P(everything | bad) for weighted claims (a, b, w) and our own
    record ``mine`` (see ``WitnessBook.view``)."""
    rates = (GOOD_RATE,) + BAD_RATES
    logs = [(math.log(r), math.log(1.0 - r)) for r in rates]
    # a made-up claim is as convincing as its liar can make it: as likely as under the rate that fits it best
    made_up = [max(a * lr + b * lf for lr, lf in logs) for a, b, _ in claims]

    def loglik(rate: float) -> float:
        lr, lf = math.log(rate), math.log(1.0 - rate)
        total = 0.0
        for (a, b, w), lm in zip(claims, made_up):
            true = a * lr + b * lf
            if w >= 1.0:
                total += true
            else:                        # log(w e^true + (1 - w) e^lm), stably
                hi = max(true, lm)
                total += hi + math.log(w * math.exp(true - hi) + (1.0 - w) * math.exp(lm - hi))
        if mine:
            total += mine[0] * lr + mine[1] * lf
        return total

    good = loglik(GOOD_RATE)
    bads = [loglik(r) for r in BAD_RATES]
    top = max(bads)
    bad = top + math.log(sum(math.exp(x - top) for x in bads) / len(bads))
    return good - bad


_PRAISE_S = math.log(GOOD_RATE / BAD_RATES[-1])
_PRAISE_F = math.log((1.0 - GOOD_RATE) / (1.0 - BAD_RATES[-1]))


def claim_kind(successes: float, failures: float) -> int:
    """GOOD (praise) if the counts favour a good collaborator over the most camouflaged bad
    one, else BAD (an accusation)."""
    return GOOD if successes * _PRAISE_S + failures * _PRAISE_F >= 0.0 else BAD


def _sigmoid(x: float) -> float:
    if x < -40.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def capped(successes: float, failures: float) -> tuple[float, float]:
    """A claim's counts scaled down to at most ``CLAIM_CAP`` outcomes (its rate kept)."""
    n = successes + failures
    if n <= CLAIM_CAP:
        return successes, failures
    k = CLAIM_CAP / n
    return successes * k, failures * k


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


_LB0 = _log_beta(JEFFREYS, JEFFREYS)


def consistency(a: float, b: float, c: float, d: float) -> float:
    """log Bayes factor that (a successes, b failures) and (c, d) come from one collaborator's
    rate rather than two unrelated ones (Jeffreys prior on each rate): > 0 they agree, < 0 not."""
    h = JEFFREYS
    return (_log_beta(a + c + h, b + d + h) + _LB0
            - _log_beta(a + h, b + h) - _log_beta(c + h, d + h))


def finite_count(value: object) -> float | None:
    """A report's count: a finite number ≥ 0 (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        return None
    return value
