"""Components shared with us, and the operator's good / bad marks on them.

``ComponentStore`` keeps every component a peer delivered (valid or not) under a unique
key, oldest first, within a count and a byte budget; ``items`` is the very dict the seed
calls ``shared_knowledge["benchmarks"]``. ``OperatorMarks`` (mixed into
``NetworkedKernelTrainer``) turns a mark into a reputation outcome for the component's
source, and can show its consequence first.
"""
from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

from . import wire
from .events import ComponentReceived, Output, ReputationChanged, StateChanged
from .reputation import ReputationBook
from .sessions import CommandError

#: How many components are kept, and how much content across all of them (a flood of large
#: valid ones is bounded too).
MAX_COMPONENTS = 500
MAX_COMPONENT_STORE_BYTES = 32 * 1024 * 1024


class ComponentStore:
    """Stored components by key, oldest first, evicted beyond ``max_count`` / ``max_bytes``.

    A record is a dict (the seed's shape): ``component``, ``source``, ``received_at``,
    ``request_id``, ``collaboration_complete``, ``validation`` ("passed", "failed",
    "validating", "unchecked"), ``reason``, ``mark``, ``mark_change_id``. One being
    validated is never evicted.
    """

    def __init__(self, max_count: int = MAX_COMPONENTS, max_bytes: int = MAX_COMPONENT_STORE_BYTES) -> None:
        self.items: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.bytes = 0
        self.evicted = 0            # components dropped by the budgets so far...
        self.evicted_failed = 0     # ...of which had failed validation (for ``totals``)

    def __contains__(self, key: str) -> bool:
        return key in self.items

    def __len__(self) -> int:
        return len(self.items)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.items.get(key)

    def add(self, cid: str, component: Any, source: str, now: float,
            fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Store *component* from *source* under *cid* (made unique), then evict; returns (key, record)."""
        key = cid
        if key in self.items and self.items[key]["source"] != source:
            key = f"{cid}@{source}"
        if key in self.items:
            key = f"{key}#{wire.new_id()[:6]}"
        record = {"component": component, "source": source, "received_at": now, "request_id": None,
                  "collaboration_complete": False, "validation": "passed", "reason": "",
                  "mark": None, "mark_change_id": None}
        record.update(fields)
        self.items[key] = record
        self.bytes += _content_size(record)
        self.evict()
        return key, record

    def evict(self) -> None:
        """Drop the oldest components beyond the count and byte budgets (never one being validated)."""
        items = self.items
        if len(items) <= self.max_count and self.bytes <= self.max_bytes:
            return
        for key in list(items):
            if len(items) <= self.max_count and self.bytes <= self.max_bytes:
                break
            if items[key]["validation"] == "validating":
                continue
            record = items.pop(key)
            self.bytes -= _content_size(record)
            self.evicted += 1
            self.evicted_failed += record["validation"] == "failed"

    def received(self) -> int:
        """Components received since start, the evicted ones included (no scan: the status line
        asks on every redraw)."""
        return self.evicted + len(self.items)

    def totals(self) -> tuple[int, int]:
        """(components received since start, of which failed validation), the evicted ones included."""
        failed = sum(1 for r in self.items.values() if r["validation"] == "failed")
        return self.received(), self.evicted_failed + failed


def _content_size(record: dict[str, Any]) -> int:
    content = record["component"].get("content") if isinstance(record["component"], dict) else None
    return len(content) if isinstance(content, str) else 0


class OperatorMarks:
    """The operator's good / bad marks on stored components (mixed into the trainer)."""

    def mark_component(self, component_key: str, good: bool, now: float) -> list[Output]:
        self.now = now
        record = self.components.get(component_key)
        if record is None:
            raise CommandError("no such component")
        want = "good" if good else "bad"
        if record["mark"] == want:
            raise CommandError(f"already marked {want}")
        out: list[Output] = []
        if record["mark"] is not None:
            out += self.unmark_component(component_key, now)
        change = self._update_reputation(record["source"], good, f"marked {want} by operator", now)
        record["mark"], record["mark_change_id"] = want, change.change_id
        return [*out, ComponentReceived(component_key, record), ReputationChanged(change), StateChanged()]

    def mark_preview(self, component_key: str, good: bool) -> tuple[str, float, float]:
        """(source, score now, score after ``mark_component(component_key, good)``), changing nothing.

        The mark is replayed on a copy of the source's record alone (an earlier opposite
        mark undone first, as ``mark_component`` does), so the operator can be told the
        consequence before confirming.
        """
        record = self.components.get(component_key)
        if record is None:
            raise CommandError("no such component")
        peer = record["source"]
        trial = ReputationBook(self.book.alpha, self.book.history_size)
        if peer in self.book.scores:
            trial.scores[peer] = self.book.scores[peer]
        if peer in self.book.records:
            trial.records[peer] = copy.deepcopy(self.book.records[peer])
        if record["mark"] is not None and record["mark"] != ("good" if good else "bad"):
            try:
                trial.undo(peer, record["mark_change_id"], "preview")
            except LookupError:
                pass
        trial.update(peer, good, "preview")
        return peer, self.book.score(peer), trial.score(peer)

    def unmark_component(self, component_key: str, now: float) -> list[Output]:
        self.now = now
        record = self.components.get(component_key)
        if record is None:
            raise CommandError("no such component")
        if record["mark"] is None:
            raise CommandError("component has no mark to undo")
        try:
            note = self.book.undo(record["source"], record["mark_change_id"],
                                  f"undo: operator removed the '{record['mark']}' mark", now)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        record["mark"], record["mark_change_id"] = None, None
        return [ComponentReceived(component_key, record), ReputationChanged(note), StateChanged()]
