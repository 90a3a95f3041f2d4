"""Components received: source, request, validation result, the operator's mark."""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence


from .cells import Cell, IdCell, clean, clock_time
from .rows import Column
from .table import TrainerTable

VALIDATION = {"passed": "✓ passed", "failed": "✗ failed", "validating": "… validating", "unchecked": "? unchecked"}


class ComponentsTable(TrainerTable):
    COLUMNS = (
        Column("time", "Time", 8, priority=100),
        Column("component", "Component", 22, min_width=12, priority=80),
        Column("source", "Source", 16, min_width=10, priority=90),
        Column("request", "Request", 8, priority=30),
        Column("validation", "Validation", 12, priority=95),
        Column("mark", "Mark", 7, priority=85),
        Column("reason", "Reason", 40, min_width=16, priority=70, flex=3),
    )
    default_sort = ("time", True)
    max_rows = 500
    PLACEHOLDER = "No components received yet — what peers deliver for our requests appears here."

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        return self.trainer.shared_knowledge["benchmarks"]

    def all_rows(self) -> Iterator[tuple[str, Sequence[Cell]]]:
        for key, record in list(self.records.items()):
            yield key, self.cells(key, record)

    def build_row(self, key: str, now: float) -> Sequence[Cell] | None:
        record = self.records.get(key)
        return self.cells(key, record) if record is not None else None

    def refresh_rows(self, keys: Iterable[str]) -> None:
        self.apply([(k, self.build_row(k, 0.0)) for k in keys])

    def rebuild_from_state(self) -> None:
        self.rebuild(self.all_rows())

    def cells(self, key: str, record: dict[str, Any]) -> Sequence[Cell]:
        p = self.palette
        comp = record.get("component") or {}
        if comp.get("invalid"):
            name = f"(invalid) {key}"
        else:
            name = f"{comp.get('name', key)} v{comp.get('version', '?')}"
        validation = record.get("validation", "?")
        colour = {"passed": p.success, "failed": p.error}.get(validation, p.warning)
        mark = record.get("mark")
        mark_cell = (Cell("✓ good", f"bold {p.success}", sort_value=2) if mark == "good"
                     else Cell("✗ bad", f"bold {p.error}", sort_value=0) if mark == "bad"
                     else Cell("—", p.muted, sort_value=1))
        return (
            Cell(clock_time(record.get("received_at")), sort_value=record.get("received_at") or 0.0),
            Cell(clean(name)),
            IdCell(clean(record.get("source", "?"))),
            Cell(clean((record.get("request_id") or "—")[:8])),
            Cell(clean(VALIDATION.get(validation, validation)), colour),
            mark_cell,
            Cell(clean(record.get("reason", ""))),
        )
