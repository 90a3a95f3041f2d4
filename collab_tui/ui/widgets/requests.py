"""The requests feed: requests we received (with our verdict) and requests we sent."""
from __future__ import annotations

import heapq
import math
from typing import Callable, Iterable, Iterator, Sequence


from ...core.sessions import (ACTIVE, CANCELLED, COMPLETED, DELIVERED, EXPIRED, FAILED, HELD,
                              VALIDATING, IncomingRequest, OutgoingRequest)
from ...core.numbers import score_text
from ...core.trainer import NetworkedKernelTrainer
from .cells import Cell, IdCell, clean, clock_time, verdict_cell
from .rows import Column
from .table import TrainerTable

IN_PREFIX = "in:"
OUT_PREFIX = "out:"


def incoming_row_key(record: IncomingRequest) -> str:
    return IN_PREFIX + record.key


def outgoing_row_key(record: OutgoingRequest) -> str:
    return OUT_PREFIX + record.request_id


class RequestsTable(TrainerTable):
    """Newest first by default; ``hold`` counts down held verdicts and outgoing deadlines.

    At 80 columns: Time, ⇄ Peer, Score, Verdict and Reason; at 100 the next step ("What
    happened next") too; Hold, Type and the peer's specialization from ~120.
    """

    COLUMNS = (
        Column("time", "Time", 8, priority=100),
        Column("peer", "⇄ Peer", 18, min_width=12, priority=95),
        Column("type", "Type", 20, min_width=10, priority=40),
        Column("spec", "Their spec.", 11, min_width=8, priority=20),
        Column("score", "Score", 6, min_width=5, priority=80),
        Column("verdict", "Verdict", 13, priority=90),
        Column("reason", "Reason", 56, min_width=20, priority=70, flex=3),
        Column("next", "What happened next", 24, min_width=16, priority=50, flex=2),
        Column("hold", "Hold", 7, priority=60),
    )
    default_sort = ("time", True)
    max_rows = 1000
    PLACEHOLDER = ("No requests yet — requests peers send us (←) and ours (→, press n) appear here, "
                   "newest first.")

    def __init__(self, trainer: NetworkedKernelTrainer, clock: Callable[[], float], *,
                 id: str | None = None) -> None:
        super().__init__(trainer, clock, id=id)
        #: Rows whose "hold" cell counts down, refreshed every second.
        self.live: set[str] = set()

    # ---- rows from trainer state --------------------------------------------
    def all_rows(self) -> Iterator[tuple[str, Sequence[Cell]]]:
        """Every request the trainer still holds, oldest first."""
        now = self.clock()
        items: list[tuple[float, str, Sequence[Cell]]] = []
        for record in list(self.trainer.incoming.values())[-self.max_rows:]:
            items.append((record.received_at, incoming_row_key(record), self.incoming_cells(record, now)))
        for record in list(self.trainer.outgoing.values())[-self.max_rows:]:
            items.append((record.sent_at, outgoing_row_key(record), self.outgoing_cells(record, now)))
        items.sort(key=lambda item: item[0])
        for _, key, cells in items:
            yield key, cells

    def row(self, key: str, now: float) -> Sequence[Cell] | None:
        if key.startswith(IN_PREFIX):
            record = self.trainer.incoming.get(key[len(IN_PREFIX):])
            return self.incoming_cells(record, now) if record else None
        record = self.trainer.outgoing.get(key[len(OUT_PREFIX):])
        return self.outgoing_cells(record, now) if record else None

    build_row = row

    def record_age(self, key: str) -> float | None:
        if key.startswith(IN_PREFIX):
            record = self.trainer.incoming.get(key[len(IN_PREFIX):])
            return record.received_at if record else None
        sent = self.trainer.outgoing.get(key[len(OUT_PREFIX):])
        return sent.sent_at if sent else None

    def relevant(self, keys: Iterable[str]) -> list[str]:
        """Rows shown (to update or drop) and new records recent enough to be kept: at most
        ``max_rows`` new ones, the newest. Under a flood most requests are never drawn —
        only the newest ``max_rows`` of a batch could be — so their cells are never built."""
        shown = self.store.ages
        cutoff = self.cutoff_age
        keep: list[str] = []
        new: list[tuple[float, str]] = []
        for key in keys:
            if key in shown:
                keep.append(key)
                continue
            age = self.record_age(key)
            if age is None or (cutoff is not None and age < cutoff):
                continue
            new.append((age, key))
        if len(new) > self.max_rows:
            new = heapq.nlargest(self.max_rows, new)
        return keep + [key for _, key in new]

    def refresh_rows(self, keys: Iterable[str]) -> None:
        now = self.clock()
        self.apply([(k, self.row(k, now)) for k in self.relevant(keys)])
        self.forget_hidden()

    def forget_hidden(self) -> None:
        """Rows no longer shown need no countdown."""
        if len(self.live) > 0:
            self.live.intersection_update(self.store.ages)

    def rebuild_from_state(self) -> None:
        self.live.clear()
        self.rebuild(self.all_rows())
        self.forget_hidden()

    def tick(self) -> None:
        if self.live:
            self.refresh_rows(set(self.live))

    # ---- cells ---------------------------------------------------------------
    def incoming_cells(self, r: IncomingRequest, now: float) -> Sequence[Cell]:
        p = self.palette
        key = incoming_row_key(r)
        held = r.status == HELD and r.hold_until is not None
        if held:
            self.live.add(key)
            left = max(0, math.ceil(r.hold_until - now))
            hold = Cell(f"⏳ {left} s", f"bold {p.warning}", sort_value=left)
        else:
            self.live.discard(key)
            hold = Cell("", sort_value=-1)
        return (
            Cell(clock_time(r.received_at), sort_value=r.received_at),
            IdCell(clean(r.initiator), prefix="← "),
            Cell(clean(r.collaboration_type)),
            Cell(clean(r.initiator_specialization or "?")),
            Cell(score_text(r.decision.score, r.decision.threshold), sort_value=r.decision.score),
            verdict_cell(r.verdict.accept, p, r.overridden),
            Cell(clean(r.verdict.reason)),
            self._incoming_next(r),
            hold,
        )

    def _incoming_next(self, r: IncomingRequest) -> Cell:
        p = self.palette
        prefix = "overridden · " if r.overridden else ""
        if r.status == HELD:
            return Cell("pending: held for the operator", p.warning)
        session = self.trainer.collaboration_sessions.get(r.session_key) if r.session_key else None
        if session is None:
            return Cell(prefix + ("sent: accepted" if r.verdict.accept else "sent: refused"), p.muted)
        status = session.status
        if status == ACTIVE:
            return Cell(prefix + "in progress: producing", p.accent)
        if status == DELIVERED:
            return Cell(clean(prefix + f"✓ delivered ({session.detail})" if session.detail
                              else prefix + "✓ delivered"), p.success)
        if status in (FAILED, EXPIRED):
            return Cell(clean(prefix + f"✗ {status}: {session.detail}"), p.error)
        if status == CANCELLED:
            return Cell(clean(prefix + f"cancelled: {session.detail}" if session.detail else prefix + "cancelled"),
                        p.warning)
        return Cell(clean(prefix + status))

    def outgoing_cells(self, o: OutgoingRequest, now: float) -> Sequence[Cell]:
        p = self.palette
        key = outgoing_row_key(o)
        info = self.trainer.known_ai_info.get(o.recipient or "", {})
        accepted = sum(1 for r in o.responses.values() if r.accepted)
        refused = len(o.responses) - accepted
        if o.responses:
            verdict = Cell(f"✓{accepted} ✗{refused}", f"bold {p.success if accepted else p.error}",
                           sort_value=1.5 if accepted else 0.5)
        else:
            verdict = Cell("… waiting", p.muted, sort_value=1)
        next_cell, running = self._outgoing_next(o, now)
        if running and now < o.deadline_at:
            self.live.add(key)
            left = max(0, math.ceil(o.deadline_at - now))
            hold = Cell(f"⌛ {left} s", p.muted, sort_value=left)
        else:
            self.live.discard(key)
            hold = Cell("", sort_value=-1)
        score = self.trainer.reputation.get(o.recipient) if o.recipient else None
        return (
            Cell(clock_time(o.sent_at), sort_value=o.sent_at),
            IdCell(clean(o.recipient or "(everyone)"), p.accent, sort_value=(o.recipient or "").casefold(),
                   prefix="→ "),
            Cell(clean(o.collaboration_type)),
            Cell(clean(info.get("specialization", "—") if o.recipient else "—")),
            Cell(score_text(score, self.trainer.trust_threshold) if score is not None else "—",
                 sort_value=score if score is not None else -1.0),
            verdict,
            Cell(clean(f"feature: {o.feature}" if o.feature else "(no feature)")),
            next_cell,
            hold,
        )

    def _outgoing_next(self, o: OutgoingRequest, now: float) -> tuple[Cell, bool]:
        """What became of our request, and whether anything is still running."""
        p = self.palette
        sessions = [s for peer in o.responses
                    if (s := self.trainer.collaboration_sessions.get(f"out:{o.request_id}/{peer}"))]
        by = {status: [s for s in sessions if s.status == status]
              for status in (ACTIVE, VALIDATING, COMPLETED, FAILED, CANCELLED)}
        running = bool(by[ACTIVE] or by[VALIDATING])
        if by[COMPLETED]:
            peers = ", ".join(s.peer for s in by[COMPLETED])
            return Cell(clean(f"✓ delivered by {peers}"), p.success), running
        if by[VALIDATING]:
            return Cell(clean(f"validating ({by[VALIDATING][0].peer})"), p.accent), running
        if by[ACTIVE]:
            return Cell(clean(f"in progress: {', '.join(s.peer for s in by[ACTIVE])}"), p.accent), running
        if by[FAILED]:
            s = by[FAILED][-1]
            return Cell(clean(f"✗ failed ({s.peer}): {s.detail}"), p.error), running
        if by[CANCELLED]:
            s = by[CANCELLED][-1]
            return Cell(clean(f"cancelled ({s.peer}): {s.detail}"), p.warning), running
        if o.responses:
            return Cell("no one accepted", p.muted), False
        if now >= o.deadline_at:
            return Cell("no answer before the deadline", p.muted), False
        return Cell("sent; awaiting answers", p.muted), True

    # ---- selection helpers ------------------------------------------------------
    def selected_incoming(self) -> IncomingRequest | None:
        key = self.selected_key
        if key and key.startswith(IN_PREFIX):
            return self.trainer.incoming.get(key[len(IN_PREFIX):])
        return None

    def selected_outgoing(self) -> OutgoingRequest | None:
        key = self.selected_key
        if key and key.startswith(OUT_PREFIX):
            return self.trainer.outgoing.get(key[len(OUT_PREFIX):])
        return None

    def delivered_component(self, o: OutgoingRequest) -> str | None:
        """The component a peer delivered for our request (the latest), if any."""
        best: tuple[float, str] | None = None
        for peer in o.responses:
            s = self.trainer.collaboration_sessions.get(f"out:{o.request_id}/{peer}")
            if s and s.component_key and s.component_key in self.trainer.shared_knowledge["benchmarks"]:
                when = s.ended_at or s.started_at
                if best is None or when >= best[0]:
                    best = (when, s.component_key)
        return best[1] if best else None
