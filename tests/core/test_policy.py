import pytest

from collab_tui import NetworkedKernelTrainer
from collab_tui.core.policy import ComplementTable
from collab_tui.core.sessions import CollaborationSession

from .helpers import frame, sync


def trainer(**kw):
    t = NetworkedKernelTrainer("A", "networking", **kw)
    t.handle(sync(("B", "storage"), ("N", "networking"), ("G", "general")), now=0.0)
    return t


def test_unseen_initiator_counts_as_neutral_and_is_accepted_at_default_threshold():
    t = trainer()
    d = t.decide("code_review", "stranger")
    assert d.accept and d.score == 0.5 and d.rule == "capacity"
    assert t._should_accept_collaboration("code_review", "stranger") is True


def test_below_threshold_refused_with_numbers():
    t = trainer()
    t.reputation["B"] = 0.42
    d = t.decide("cross_specialization", "B")
    assert not d.accept and d.rule == "trust"
    assert d.reason == "reputation 0.42 < threshold 0.50"
    assert t._should_accept_collaboration("cross_specialization", "B") is False


def test_threshold_raised_refuses_neutral_strangers():
    t = trainer(trust_threshold=0.6)
    assert t.decide("code_review", "stranger").reason == "reputation 0.50 < threshold 0.60"


def fill_sessions(t, n):
    for i in range(n):
        t.collaboration_sessions[f"s{i}"] = CollaborationSession(
            f"s{i}", f"r{i}", "responder", "X", "t", "f", 0.0, 100.0)


def test_complement_accepts_even_at_capacity():
    t = trainer()
    fill_sessions(t, 3)
    d = t.decide("cross_specialization", "B")
    assert d.accept and d.rule == "complement" and "storage complements networking" in d.reason


def test_same_specialization_does_not_complement_and_falls_to_capacity():
    t = trainer()
    fill_sessions(t, 3)
    d = t.decide("feature_development", "N")
    assert not d.accept and d.rule == "capacity_full"
    assert d.reason == "at capacity: 3 of 3 sessions active"


def test_general_complements_everyone():
    t = trainer()
    fill_sessions(t, 3)
    assert t.decide("feature_development", "G").rule == "complement"


def test_other_types_use_capacity_only():
    t = trainer()
    fill_sessions(t, 2)
    d = t.decide("cross_specialization_not", "B")
    assert d.accept and d.rule == "capacity" and d.reason.startswith("2 of 3 sessions active")
    fill_sessions(t, 3)
    assert not t.decide("code_review", "B").accept


def test_unknown_specialization_falls_back_to_capacity():
    t = trainer()
    fill_sessions(t, 3)
    assert t.decide("cross_specialization", "unknown").rule == "capacity_full"


def test_seed_style_dict_sessions_are_counted():
    t = trainer()
    for i in range(3):
        t.collaboration_sessions[f"d{i}"] = {"status": "active"}
    assert not t._should_accept_collaboration("code_review", "B")
    t.collaboration_sessions["d0"] = {"status": "completed"}
    assert t._should_accept_collaboration("code_review", "B")


def test_complement_table_from_config_overrides_default():
    t = trainer(complements={"networking": ["security"]})
    fill_sessions(t, 3)
    assert t.decide("cross_specialization", "B").rule == "capacity_full"  # storage no longer complements
    table = ComplementTable.from_mapping({"networking": ["security"]})
    assert table.complements("networking", "security")
    assert table.complements("storage", "networking")  # default rule for specs not in the table


def test_known_ai_info_from_sync_and_peer_joined():
    t = trainer()
    assert t._get_ai_info("B") == {"specialization": "storage", "capabilities": []}
    t.handle(frame("PEER_JOINED", "hub", {"ai_id": "C", "specialization": "security", "capabilities": ["x"]}), 1.0)
    assert t._get_ai_info("C") == {"specialization": "security", "capabilities": ["x"]}
    assert t._get_ai_info("nobody") is None
    t.handle(frame("PEER_LEFT", "hub", {"ai_id": "C"}), 2.0)
    assert "C" not in t.online and t._get_ai_info("C") is not None


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="trust threshold"):
        NetworkedKernelTrainer("A", trust_threshold=1.2)
    t = trainer()
    with pytest.raises(ValueError):
        t.configure(trust_threshold=0.7, reputation_alpha=-0.1)
    assert t.trust_threshold == 0.5  # all or nothing
    t.configure(trust_threshold=0.7)
    assert t.trust_threshold == 0.7
