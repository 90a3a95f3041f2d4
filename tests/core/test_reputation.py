import pytest

from collab_tui import NetworkedKernelTrainer
from collab_tui.core.reputation import ReputationBook, ewma


def test_one_success_from_neutral_is_exactly_065():
    t = NetworkedKernelTrainer("A")
    change = t._update_reputation("B", success=True)
    assert t.reputation["B"] == 0.65
    assert (change.old, change.new) == (0.5, 0.65)


def test_one_failure_from_neutral_is_exactly_035():
    t = NetworkedKernelTrainer("A")
    t._update_reputation("B", success=False)
    assert t.reputation["B"] == 0.35


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.3, 0.5, 0.7, 1.0])
def test_ewma_matches_seed_formula(alpha):
    old = 0.5
    for success in [True, False, True, True, False, False, True]:
        seed = alpha * (1.0 if success else 0.0) + (1 - alpha) * old
        new = ewma(old, success, alpha)
        assert new == pytest.approx(seed, abs=1e-12)
        assert 0.0 <= new <= 1.0
        old = new


def test_alpha_is_live_and_validated():
    t = NetworkedKernelTrainer("A", reputation_alpha=0.5)
    t._update_reputation("B", True)
    assert t.reputation["B"] == 0.75
    t.reputation_alpha = 0.1
    t._update_reputation("B", False)
    assert t.reputation["B"] == pytest.approx(0.675)
    with pytest.raises(ValueError, match="alpha"):
        t.reputation_alpha = 1.5


def test_counts_last_outcome_and_bounded_history():
    book = ReputationBook(alpha=0.3, history_size=5)
    for i in range(8):
        book.update("B", i % 2 == 0, f"event {i}", now=100.0 + i)
    rec = book.records["B"]
    assert (rec.successes, rec.failures) == (4, 4)
    assert len(rec.history) == 5
    assert rec.last_outcome == "failure" and rec.last_reason == "event 7" and rec.last_time == 107.0
    assert book.trend("B") == [c.new for c in rec.history]


def test_undo_replays_later_outcomes_exactly():
    book = ReputationBook(alpha=0.3)
    book.update("B", True, "a")
    mark = book.update("B", False, "marked bad by operator")
    book.update("B", True, "b")
    book.update("B", True, "c")
    book.undo("B", mark.change_id, "undo mark")
    reference = ReputationBook(alpha=0.3)
    for reason in "abc":
        reference.update("B", True, reason)
    assert book.score("B") == pytest.approx(reference.score("B"), abs=1e-12)
    assert (book.records["B"].successes, book.records["B"].failures) == (3, 0)
    with pytest.raises(LookupError):
        book.undo("B", mark.change_id, "again")


def test_state_round_trip():
    book = ReputationBook(alpha=0.3)
    book.update("B", True, "delivered", now=10.0)
    book.update("C", False, "deadline missed", now=11.0)
    state = book.export_state()
    other = ReputationBook(alpha=0.3)
    other.import_state(state)
    assert other.scores == book.scores
    assert other.records["C"].last_reason == "deadline missed"
    assert other.export_state() == state


def test_the_latest_failure_reason_follows_undo_and_a_reload():
    book = ReputationBook(history_size=10)
    book.update("B", False, "deadline missed", 1.0)
    late = book.update("B", False, "sha256 mismatch", 2.0)
    book.update("B", True, "valid component delivered", 3.0)
    assert book.records["B"].last_failure_reason == "sha256 mismatch"
    book.undo("B", late.change_id, "operator: not its fault", 4.0)
    assert book.records["B"].last_failure_reason == "deadline missed"
    other = ReputationBook(history_size=10)
    other.import_state(book.export_state())
    assert other.records["B"].last_failure_reason == "deadline missed"
    book.update("C", True, "valid component delivered", 1.0)
    assert book.records["C"].last_failure_reason == ""
