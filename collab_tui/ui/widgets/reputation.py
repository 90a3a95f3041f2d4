"""One row per known peer: score bar with the threshold marked, what the network says,
evidence, trend, last outcome."""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence


from ...core.numbers import score_text
from ...core.reputation import NEUTRAL
from .cells import Cell, IdCell, ago, clean, network_cell, score_bar, sparkline
from .rows import Column
from .table import TrainerTable

BAR_WIDTH = 20
TREND_WIDTH = 12


class ReputationTable(TrainerTable):
    COLUMNS = (
        Column("peer", "Peer", 18, min_width=12, priority=100),
        Column("spec", "Specialization", 14, min_width=8, priority=30),
        Column("bar", "Trust  ┃ threshold", BAR_WIDTH, priority=80),
        Column("score", "Score", 6, min_width=5, priority=95),
        Column("net", "Network says", 17, priority=45),
        Column("sf", "✓/✗", 7, min_width=5, priority=60),
        Column("obs", "Obs", 4, priority=20),
        Column("trend", "Trend", TREND_WIDTH, priority=50),
        Column("last", "Last outcome", 16, priority=70, flex=1),
        Column("when", "When", 10, min_width=8, priority=40),
    )
    default_sort = ("peer", False)
    max_rows = 5000
    AGE_COLUMN = 9      # "when": beyond max_rows, the peers heard of least recently go
    PLACEHOLDER = "No peers known yet — peers appear here once the hub tells us about them."

    def peers(self) -> list[str]:
        return sorted(set(self.trainer.book.known()) | set(self.trainer.known_ai_info))

    def all_rows(self) -> Iterator[tuple[str, Sequence[Cell]]]:
        now = self.clock()
        for peer in self.peers():
            yield peer, self.cells(peer, now)

    def build_row(self, peer: str, now: float) -> Sequence[Cell] | None:
        return self.cells(peer, now)

    def refresh_rows(self, peers: Iterable[str]) -> None:
        now = self.clock()
        self.apply([(peer, self.cells(peer, now)) for peer in peers])

    def refresh_all(self) -> None:
        self.refresh_rows(set(self.peers()))

    def rebuild_from_state(self) -> None:
        self.rebuild(self.all_rows())

    def tick(self) -> None:
        """Keep the "when" column's relative times current, and what the network says (reports
        arrive, and reporters' weights move with our own outcomes, without a row event); drop
        the rows of peers the trainer forgot (``MAX_RECORDS``, ``MAX_OFFLINE_STRANGERS``)."""
        now = self.clock()
        book = self.trainer.book
        when = self._column_index["when"]
        net = self._column_index["net"]
        known = self.trainer.known_ai_info
        changed: list[tuple[str, Sequence[Cell] | None]] = []
        for peer, cells in self.rows.items():
            rec = book.records.get(peer)
            if rec is None and peer not in known and peer not in book.scores:
                changed.append((peer, None))     # forgotten (records and strangers are bounded)
                continue
            new = cells
            if rec is not None and rec.last_time is not None:
                cell = Cell(ago(rec.last_time, now), sort_value=rec.last_time)
                if cells[when] != cell:
                    new = new[:when] + (cell,) + new[when + 1:]
            if cells[net].plain != "—" or self.trainer.witness.has_reports(peer):
                cell = self.network(peer)
                if cells[net] != cell:
                    new = new[:net] + (cell,) + new[net + 1:]
            if new is not cells:
                changed.append((peer, new))
        if changed:
            self.apply(changed)

    def network(self, peer: str) -> Cell:
        """The "Network says" cell: the score of the reports we believe, and how many counted."""
        t = self.trainer
        if not t.witness.has_reports(peer):
            return network_cell(None, 0, t.trust_threshold, self.palette)
        view = t.network_view(peer)
        return network_cell(view.score, view.reporters, t.trust_threshold, self.palette)

    def cells(self, peer: str, now: float) -> Sequence[Cell]:
        p = self.palette
        t = self.trainer
        score = t.reputation.get(peer, NEUTRAL)
        threshold = t.trust_threshold
        rec = t.book.records.get(peer)
        info = t.known_ai_info.get(peer, {})
        online = peer in t.online
        above = score >= threshold
        successes = rec.successes if rec else 0
        failures = rec.failures if rec else 0
        if rec and rec.last_outcome:
            glyph = {"success": "✓", "failure": "✗", "undo": "↺"}.get(rec.last_outcome, "·")
            colour = {"success": p.success, "failure": p.error}.get(rec.last_outcome, p.warning)
            last = Cell(clean(f"{glyph} {rec.last_reason or rec.last_outcome}"), colour)
        else:
            last = Cell("— no outcome yet", p.muted, sort_value="~")
        return (
            IdCell(clean(peer), "" if online else p.muted, sort_value=peer.casefold(),
                   prefix="● " if online else "○ "),
            Cell(clean(info.get("specialization", "?"))),
            score_bar(score, threshold, BAR_WIDTH, p),
            Cell(score_text(score, threshold), f"bold {p.success if above else p.error}", sort_value=score),
            self.network(peer),
            Cell(f"{successes}/{failures}", sort_value=successes - failures),
            Cell(str(successes + failures), sort_value=successes + failures),
            sparkline(t.book.trend(peer), TREND_WIDTH, p),
            last,
            Cell(ago(rec.last_time if rec else None, now), sort_value=(rec.last_time or 0.0) if rec else 0.0),
        )

    @property
    def selected_peer(self) -> str | None:
        return self.selected_key
