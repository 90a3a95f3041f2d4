"""Per-peer reputation: the seed's exponentially weighted moving average, with its evidence.

``new = alpha * outcome + (1 - alpha) * old``; an unseen peer starts at the neutral
prior 0.5. Every change is recorded with its reason so the operator can see why a
score moved, and an operator's mark can be undone exactly.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

NEUTRAL = 0.5
DEFAULT_HISTORY = 50


def ewma(old: float, success: bool, alpha: float) -> float:
    """The seed's rule ``alpha*outcome + (1-alpha)*old``.

    Written in the algebraically identical form ``old + alpha*(outcome - old)``,
    which rounds better: one success from neutral at alpha 0.3 is exactly 0.65 and
    one failure exactly 0.35 in floating point, as the operator reads them.
    """
    outcome = 1.0 if success else 0.0
    return min(1.0, max(0.0, old + alpha * (outcome - old)))


@dataclass(slots=True)
class ScoreChange:
    """One entry of a peer's history: which outcome moved the score, and why."""

    peer: str
    time: float | None
    old: float
    new: float
    success: bool
    reason: str
    alpha: float
    change_id: int = 0
    kind: str = "outcome"        # "outcome" moves the score; "undo" records an undone outcome
    undone: bool = False         # an outcome later undone by the operator

    @property
    def outcome(self) -> str:
        if self.kind == "undo":
            return "undo"
        return "success" if self.success else "failure"

    @property
    def counts(self) -> bool:
        """Whether this entry is part of the score's current trajectory."""
        return self.kind == "undo" or not self.undone


@dataclass(slots=True)
class PeerRecord:
    peer: str
    successes: int = 0
    failures: int = 0
    last_outcome: str | None = None
    last_reason: str = ""
    last_time: float | None = None
    history: deque[ScoreChange] = field(default_factory=deque)
    #: why the latest failure (not undone) failed, kept here because the bounded history may
    #: no longer hold it ("": none, or not known after a restart whose saved history lost it)
    last_failure_reason: str = ""

    @property
    def observations(self) -> int:
        return self.successes + self.failures


class ReputationBook:
    """Scores and evidence for every peer this trainer has dealt with.

    ``scores`` is a plain dict (peer id -> score): it is the seed's
    ``NetworkedKernelTrainer.reputation`` and stays the number the operator sees.
    """

    def __init__(self, alpha: float = 0.3, history_size: int = DEFAULT_HISTORY) -> None:
        check_unit("reputation alpha", alpha)
        self.alpha = alpha
        self.history_size = max(1, int(history_size))
        self.scores: dict[str, float] = {}
        self.records: dict[str, PeerRecord] = {}
        self._next_change_id = 1

    # ---- reading -------------------------------------------------------
    def score(self, peer: str) -> float:
        return self.scores.get(peer, NEUTRAL)

    def record(self, peer: str) -> PeerRecord:
        rec = self.records.get(peer)
        if rec is None:
            rec = self.records[peer] = PeerRecord(peer, history=deque(maxlen=self.history_size))
        return rec

    def known(self) -> list[str]:
        return sorted(set(self.scores) | set(self.records))

    def trend(self, peer: str) -> list[float]:
        rec = self.records.get(peer)
        if rec is None:
            return []
        return [c.new for c in rec.history if c.counts]

    # ---- writing -------------------------------------------------------
    def update(self, peer: str, success: bool, reason: str = "", now: float | None = None) -> ScoreChange:
        old = self.scores.get(peer, NEUTRAL)
        new = ewma(old, success, self.alpha)
        self.scores[peer] = new
        rec = self.record(peer)
        if success:
            rec.successes += 1
        else:
            rec.failures += 1
        change = ScoreChange(peer, now, old, new, success, reason or ("success" if success else "failure"),
                             self.alpha, self._next_change_id)
        self._next_change_id += 1
        rec.history.append(change)
        if not success:
            rec.last_failure_reason = change.reason
        rec.last_outcome = change.outcome
        rec.last_reason = change.reason
        rec.last_time = now
        return change

    def undo(self, peer: str, change_id: int, reason: str, now: float | None = None) -> ScoreChange:
        """Remove one recorded outcome as if it had never happened.

        The later outcomes are replayed, each with the alpha it was applied with, on
        top of the score the undone one started from: the result is exact.
        Raises ``LookupError`` if the change is no longer in the bounded history.
        """
        rec = self.records.get(peer)
        entries = list(rec.history) if rec else []
        index = next((i for i, c in enumerate(entries)
                      if c.change_id == change_id and c.kind == "outcome" and not c.undone), None)
        if index is None:
            raise LookupError(f"that outcome for {peer} is no longer in its history")
        target = entries[index]
        target.undone = True
        score = target.old
        for later in entries[index + 1:]:
            if later.kind != "outcome" or later.undone:
                continue
            later.old = score
            later.new = score = ewma(score, later.success, later.alpha)
        before = self.scores.get(peer, NEUTRAL)
        self.scores[peer] = score
        if target.success:
            rec.successes -= 1
        else:
            rec.failures -= 1
            rec.last_failure_reason = _latest_failure_reason(rec)
        note = ScoreChange(peer, now, before, score, target.success, reason, target.alpha,
                           self._next_change_id, kind="undo")
        self._next_change_id += 1
        rec.history.append(note)
        rec.last_reason = reason
        rec.last_time = now
        return note

    def forget(self, peers: Iterable[str]) -> None:
        """Drop these peers' scores and records: each is an unseen peer (0.5) again."""
        for peer in peers:
            self.scores.pop(peer, None)
            self.records.pop(peer, None)

    def set_alpha(self, alpha: float) -> None:
        check_unit("reputation alpha", alpha)
        self.alpha = alpha

    # ---- persistence (plain data; the io layer reads and writes files) ----
    def export_state(self) -> dict[str, Any]:
        peers: dict[str, Any] = {}
        for peer in self.known():
            rec = self.record(peer)
            peers[peer] = {
                "score": self.score(peer),
                "successes": rec.successes,
                "failures": rec.failures,
                "last_outcome": rec.last_outcome or "",
                "last_reason": rec.last_reason,
                "last_time": rec.last_time if rec.last_time is not None else 0.0,
                "history": [
                    {"time": c.time if c.time is not None else 0.0, "score": c.new,
                     "outcome": c.outcome, "reason": c.reason}
                    for c in rec.history if c.counts
                ],
            }
        return {"version": 1, "peers": peers}

    def import_state(self, state: dict[str, Any]) -> None:
        for peer, data in (state.get("peers") or {}).items():
            score = float(data.get("score", NEUTRAL))
            self.scores[peer] = min(1.0, max(0.0, score))
            rec = self.record(peer)
            rec.successes = int(data.get("successes", 0))
            rec.failures = int(data.get("failures", 0))
            rec.last_outcome = data.get("last_outcome") or None
            rec.last_reason = str(data.get("last_reason", ""))
            rec.last_time = float(data["last_time"]) if data.get("last_time") else None
            rec.history.clear()
            prev = NEUTRAL
            for item in _tail(data.get("history") or [], self.history_size):
                new = float(item.get("score", prev))
                outcome = item.get("outcome", "")
                change = ScoreChange(peer, float(item.get("time", 0.0)) or None, prev, new,
                                     outcome == "success", str(item.get("reason", "")), self.alpha,
                                     self._next_change_id,
                                     kind="outcome" if outcome in ("success", "failure") else "undo")
                self._next_change_id += 1
                rec.history.append(change)
                prev = new
            rec.last_failure_reason = _latest_failure_reason(rec)


def _latest_failure_reason(rec: PeerRecord) -> str:
    """The reason of the latest failure still in ``rec``'s history that was not undone ("": none)."""
    return next((c.reason for c in reversed(rec.history)
                 if c.kind == "outcome" and not c.undone and not c.success), "")


def _tail(items: Iterable[Any], n: int) -> list[Any]:
    items = list(items)
    return items[-n:]


def check_unit(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
