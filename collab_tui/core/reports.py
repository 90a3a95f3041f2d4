"""``REPUTATION_QUERY`` / ``REPUTATION_REPORT`` (PROTOCOL.md "Reputation reports"): checking
frames, building answers from our first-hand records, and the bookkeeping of asking.

Pure: time comes in as ``now``. The trainer (``core/trainer.py``) calls these from its
frame handlers and its ``tick``; the simulation calls the same functions directly.

- ``parse_query`` / ``parse_report``: every field checked (sizes ≤ 256 entries, ids as the
  hub accepts them, counts finite and ≥ 0, times finite or null); a bad frame raises
  ``wire.FrameError`` with what was wrong, one bad observation spoils the frame.
- ``first_hand``: our own observations (the ``ReputationBook``'s counts: deliveries,
  failures and the operator's good/bad marks), most recent first.
- ``Asking``: which queries are out (an answer is accepted only for a query we sent, from
  the peer we sent it to, once), the per-subject cache (a subject asked about is not asked
  about again for ``cache_s``), a global budget of queries per second, and per-sender
  limits on what we accept (queries we answer, unsolicited reports we keep): a flood costs
  the sender its own frames, never makes us send more than our own bounded traffic.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import wire
from .witness import finite_count

REPUTATION_QUERY = "REPUTATION_QUERY"
REPUTATION_REPORT = "REPUTATION_REPORT"

MAX_ENTRIES = 256
#: Unsolicited reports: at most one every this many seconds per sender (PROTOCOL.md).
BROADCAST_EVERY_S = 30.0


def check_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not wire.AI_ID.fullmatch(value):
        shown = repr(value)[:40]
        raise wire.FrameError(f"{what} must be a trainer id (1-64 of A-Z a-z 0-9 _ . -), got {shown}")
    return value


def _query_id(payload: dict[str, Any], required: bool) -> str | None:
    qid = payload.get("query_id")
    if qid is None and not required:
        return None
    if not isinstance(qid, str) or not 0 < len(qid) <= 128:
        raise wire.FrameError("'query_id' must be a string of 1-128 characters"
                              + ("" if required else " or null"))
    return qid


@dataclass(frozen=True, slots=True)
class Query:
    query_id: str
    subjects: tuple[str, ...] | None


def parse_query(payload: dict[str, Any]) -> Query:
    qid = _query_id(payload, True)
    subjects = payload.get("subjects")
    if subjects is None:
        return Query(qid, None)
    if not isinstance(subjects, list):
        raise wire.FrameError("'subjects' must be a list of trainer ids or null")
    if len(subjects) > MAX_ENTRIES:
        raise wire.FrameError(f"'subjects' has {len(subjects)} entries, more than {MAX_ENTRIES}")
    return Query(qid, tuple(dict.fromkeys(check_id(s, "a subject") for s in subjects)))


Observation = tuple[str, float, float, "float | None"]


@dataclass(frozen=True, slots=True)
class ReportFrame:
    query_id: str | None
    observations: tuple[Observation, ...]


def parse_report(payload: dict[str, Any]) -> ReportFrame:
    qid = _query_id(payload, False)
    items = payload.get("observations")
    if not isinstance(items, list):
        raise wire.FrameError("'observations' must be a list")
    if len(items) > MAX_ENTRIES:
        raise wire.FrameError(f"'observations' has {len(items)} entries, more than {MAX_ENTRIES}")
    out: dict[str, Observation] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise wire.FrameError(f"observation {i} is not an object")
        subject = check_id(item.get("subject"), f"observation {i}'s subject")
        s, f = finite_count(item.get("successes")), finite_count(item.get("failures"))
        if s is None or f is None:
            raise wire.FrameError(f"observation {i}: 'successes' and 'failures' must be finite numbers ≥ 0")
        last = item.get("last_outcome_at")
        if last is not None:
            last = finite_count(last)
            if last is None:
                raise wire.FrameError(f"observation {i}: 'last_outcome_at' must be a finite time ≥ 0 or null")
        out[subject] = (subject, s, f, last)
    return ReportFrame(qid, tuple(out.values()))


def first_hand(book, subjects: Iterable[str] | None, *, exclude: Iterable[str] = (),
               limit: int = MAX_ENTRIES) -> list[dict[str, Any]]:
    """Our own observations as report entries: of ``subjects`` (those we have observed), or of
    every peer we have observed, most recent first. Never what others reported to us."""
    skip = set(exclude)
    records = book.records
    if subjects is None:
        chosen = [r for r in records.values() if r.observations > 0 and r.peer not in skip]
        chosen.sort(key=lambda r: -(r.last_time or 0.0))
    else:
        chosen = [records[s] for s in subjects if s in records and s not in skip and records[s].observations > 0]
    return [{"subject": r.peer, "successes": r.successes, "failures": r.failures,
             "last_outcome_at": r.last_time} for r in chosen[:limit]]


class TokenBucket:
    """``rate`` per second, at most ``burst`` at once; time comes in as an argument."""

    __slots__ = ("rate", "burst", "tokens", "at")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(frozen=True, slots=True)
class AskSettings:
    k: int = 16                    # reporters asked about one unknown peer
    explore: int = 4               # of those, slots for reporters not yet judged
    wait_s: float = 0.3            # how long a decision waits for answers
    cache_s: float = 15.0          # a subject asked about is not asked about again for this long
    ask_below: int = 8             # ask about peers with fewer of our own outcomes than this
    queries_per_s: float = 100.0   # our outgoing queries, all peers together
    query_burst: float = 200.0
    answers_per_s: float = 2.0     # queries we answer per sender
    answer_burst: float = 10.0
    max_senders: int = 4096        # per-sender limiters kept (least recently seen dropped)
    full_until_judged: float = 8.0  # ask a reporter for everything it saw until we have judged this many
    full_every_s: float = 15.0      # ...of its reports, at most once per this many seconds
    refresh_every_s: float = 30.0   # a proven reporter: asked for everything again at most this often

    def __post_init__(self) -> None:
        if self.k < 0 or self.explore < 0 or self.ask_below < 0:
            raise ValueError("reports: k, explore and ask_below must not be negative")
        for name in ("wait_s", "cache_s", "queries_per_s", "query_burst", "answers_per_s", "answer_burst",
                     "full_until_judged", "full_every_s", "refresh_every_s"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"reports: {name} must be a finite number ≥ 0, got {v!r}")


@dataclass(slots=True)
class PendingQuery:
    reporter: str
    subjects: tuple[str, ...] | None
    sent_at: float
    waiting: set = field(default_factory=set)      # keys of decisions waiting for it


class Asking:
    """Queries out, answers expected, the subject cache and the per-sender limits."""

    MAX_PENDING = 4096

    def __init__(self, settings: AskSettings | None = None, now: float = 0.0) -> None:
        self.settings = settings or AskSettings()
        self.pending: OrderedDict[str, PendingQuery] = OrderedDict()   # query_id -> query
        self.asked_at: OrderedDict[str, float] = OrderedDict()         # subject -> when last asked
        self.budget = TokenBucket(self.settings.queries_per_s, self.settings.query_burst, now)
        self.answer_limits: OrderedDict[str, TokenBucket] = OrderedDict()
        self.report_seen: OrderedDict[str, float] = OrderedDict()      # sender -> last unsolicited report kept
        self.full_asked: OrderedDict[str, float] = OrderedDict()       # reporter -> last asked for everything
        self.dropped = 0                                               # frames dropped by the limits

    def should_ask(self, subject: str, own_outcomes: int, now: float) -> bool:
        st = self.settings
        if st.k <= 0 or own_outcomes >= st.ask_below:
            return False
        at = self.asked_at.get(subject)
        return at is None or now - at >= st.cache_s

    def wants_everything(self, reporter: str, judged: float, now: float, proven: bool = False) -> bool:
        """Ask this reporter for all it saw (``subjects: null``)? While we have judged few of its
        reports (``full_until_judged``), at most once per ``full_every_s``; a ``proven`` one (see
        ``WitnessBook.is_proven``), at most once per ``refresh_every_s``: the peers it met since tell
        us whom to ask about a newcomer."""
        st = self.settings
        if judged >= st.full_until_judged:
            if not proven:
                return False
            every = st.refresh_every_s
        else:
            every = st.full_every_s
        last = self.full_asked.get(reporter)
        return last is None or now - last >= every

    def sent(self, query_id: str, reporter: str, subjects: tuple[str, ...] | None, now: float,
             everything: bool = False) -> PendingQuery:
        """Note a query as sent (about ``subjects``; ``everything``: the query asks for all)."""
        q = self.pending[query_id] = PendingQuery(reporter, None if everything else subjects, now)
        while len(self.pending) > self.MAX_PENDING:
            self.pending.popitem(last=False)
        if everything:
            self.full_asked[reporter] = now
            self.full_asked.move_to_end(reporter)
            while len(self.full_asked) > self.settings.max_senders:
                self.full_asked.popitem(last=False)
        for s in subjects or ():
            self.asked_at[s] = now
            self.asked_at.move_to_end(s)
        while len(self.asked_at) > self.MAX_PENDING * 4:
            self.asked_at.popitem(last=False)
        return q

    def answered(self, query_id: str | None, sender: str) -> PendingQuery | None:
        """The query this report answers (removed from the pending ones), or None."""
        if query_id is None:
            return None
        q = self.pending.get(query_id)
        if q is None or q.reporter != sender:
            return None
        del self.pending[query_id]
        return q

    def expire(self, now: float) -> None:
        """Forget queries unanswered for long (their decisions went ahead without them)."""
        horizon = max(self.settings.wait_s * 10, 30.0)
        while self.pending:
            qid, q = next(iter(self.pending.items()))
            if now - q.sent_at < horizon:
                break
            self.pending.popitem(last=False)

    def may_answer(self, sender: str, now: float) -> bool:
        st = self.settings
        bucket = self.answer_limits.get(sender)
        if bucket is None:
            bucket = self.answer_limits[sender] = TokenBucket(st.answers_per_s, st.answer_burst, now)
            while len(self.answer_limits) > st.max_senders:
                self.answer_limits.popitem(last=False)
        else:
            self.answer_limits.move_to_end(sender)
        ok = bucket.take(now)
        self.dropped += not ok
        return ok

    def may_keep_unsolicited(self, sender: str, now: float) -> bool:
        """At most one unsolicited report per sender per ``BROADCAST_EVERY_S`` (a little slack
        for clock jitter); more is a flood and is dropped unread."""
        last = self.report_seen.get(sender)
        if last is not None and now - last < BROADCAST_EVERY_S * 0.9:
            self.dropped += 1
            return False
        self.report_seen[sender] = now
        self.report_seen.move_to_end(sender)
        while len(self.report_seen) > self.settings.max_senders:
            self.report_seen.popitem(last=False)
        return True

    def may_send_query(self, now: float) -> bool:
        return self.budget.take(now)
