"""Peers' records are bounded: a peer cycling through fresh ids leaves one record per id,
and without a bound every trainer's memory and state file would grow by one per id for ever."""
from __future__ import annotations

import collab_tui.core.trainer as trainer_module
from collab_tui.core.trainer import FORGET_BATCH, MAX_RECORDS, NetworkedKernelTrainer

from .helpers import frame, request, sync


def churn(t: NetworkedKernelTrainer, count: int, start: float = 100.0, prefix: str = "ww") -> None:
    """``count`` throwaway ids, each failing us once (a whitewasher's record per id)."""
    for i in range(count):
        t._update_reputation(f"{prefix}.{i}", False, "collaboration deadline missed", start + i)


def test_id_churn_keeps_records_bounded_and_the_evidence_that_matters(monkeypatch):
    monkeypatch.setattr(trainer_module, "MAX_RECORDS", 64)
    monkeypatch.setattr(trainer_module, "FORGET_BATCH", 8)
    t = NetworkedKernelTrainer("A", "networking", trusted_reporters=["pinned"])
    for k in range(20):                                    # a long-standing collaborator
        t._update_reputation("veteran", True, "valid component delivered", float(k))
    t._update_reputation("pinned", False, "collaboration deadline missed", 1.0)
    t._update_reputation("online-one", False, "collaboration deadline missed", 2.0)
    # a peer we are working for right now, gone offline with its session still running
    t.handle(sync(("busy", "storage")), 3.0)
    t._update_reputation("busy", True, "valid component delivered", 3.5)
    t.handle(request("busy", "r-busy", deadline=10_000.0), 4.0)
    t.handle(frame("PEER_LEFT", "hub", {"ai_id": "busy"}), 5.0)
    assert any(s.peer == "busy" and s.running for s in t.collaboration_sessions.values())
    t.handle(frame("PEER_JOINED", "hub", {"ai_id": "online-one", "specialization": "gpu"}), 6.0)
    churn(t, 1000)
    assert len(t.book.records) <= 64 and len(t.book.scores) <= 64
    assert t.records_forgotten == 1004 - len(t.book.records)
    # evidence that matters stays: many outcomes, a pinned reporter, a peer online, a session
    for peer in ("veteran", "pinned", "online-one", "busy"):
        assert peer in t.book.records and peer in t.reputation
    assert t.book.records["veteran"].successes == 20
    # the throwaway ids kept are the newest; the oldest are strangers again (neutral 0.5)
    kept = [p for p in t.book.records if p.startswith("ww.")]
    assert "ww.999" in kept and "ww.0" not in kept
    assert min(int(p.split(".")[1]) for p in kept) >= 1000 - 64
    assert t.decide("federated", "ww.0").score == 0.5
    # what we broadcast never names a forgotten peer
    assert not {"ww.0", "ww.1"} & set(t._changed_subjects)
    assert len(t.export_state()["peers"]) == len(t.book.records)


def test_the_real_bound_holds_under_three_times_its_churn():
    t = NetworkedKernelTrainer("A", "networking")
    churn(t, 3 * MAX_RECORDS)
    assert MAX_RECORDS - FORGET_BATCH <= len(t.book.records) <= MAX_RECORDS
    assert f"ww.{3 * MAX_RECORDS - 1}" in t.book.records


def test_a_state_file_from_before_the_bound_is_read_down_to_it(monkeypatch):
    monkeypatch.setattr(trainer_module, "MAX_RECORDS", 32)
    monkeypatch.setattr(trainer_module, "FORGET_BATCH", 4)
    old = NetworkedKernelTrainer("A", "networking")
    old.book.update("veteran", True, "valid component delivered", 1.0)
    old.book.update("veteran", True, "valid component delivered", 2.0)
    for i in range(100):                          # written straight to the book: no bound applied
        old.book.update(f"ww.{i}", False, "collaboration deadline missed", 10.0 + i)
    state = old.export_state()
    assert len(state["peers"]) == 101
    t = NetworkedKernelTrainer("A", "networking")
    t.import_state(state)
    assert len(t.book.records) <= 32 and "veteran" in t.book.records and "ww.99" in t.book.records
