"""TRAINING_SYNC split over several frames (``more``): the trainer takes the union."""
from collab_tui import NetworkedKernelTrainer

from .helpers import frame, kinds, sync


def part(peers, more, *, first=False):
    payload = {"active_ais": [p for p, _ in peers],
               "collaboration_opportunities": [{"ai_id": p, "specialization": s, "capabilities": []}
                                               for p, s in peers],
               "more": more}
    if first:
        payload["global_knowledge_base"] = {}
    return frame("TRAINING_SYNC", "hub", payload)


def test_union_of_every_frame_and_joined_only_after_the_last():
    t = NetworkedKernelTrainer("A", "networking")
    out = t.handle(part([("B", "storage"), ("C", "gpu")], True, first=True), 0.0)
    assert "Joined" not in kinds(out) and not t.joined
    assert t.online == {"B", "C"}
    out = t.handle(part([("D", "storage")], True), 0.0)
    assert "Joined" not in kinds(out)
    out = t.handle(part([("E", "kernel")], False), 0.0)
    joined = [e for e in out if type(e).__name__ == "Joined"]
    assert len(joined) == 1 and joined[0].active_ais == ["B", "C", "D", "E"]
    assert t.joined and t.online == {"B", "C", "D", "E"}
    assert set(t.known_ai_info) == {"B", "C", "D", "E"}


def test_a_new_sync_after_a_reconnect_starts_afresh():
    t = NetworkedKernelTrainer("A", "networking")
    t.handle(part([("B", "storage")], True, first=True), 0.0)
    t.handle(part([("C", "gpu")], False), 0.0)
    t.disconnected(1.0)
    assert t.online == set() and not t.joined
    t.handle(part([("C", "gpu")], False, first=True), 2.0)
    assert t.online == {"C"} and t.joined


def test_a_sync_cut_short_by_a_disconnect_does_not_leak_into_the_next():
    t = NetworkedKernelTrainer("A", "networking")
    t.handle(part([("B", "storage")], True, first=True), 0.0)
    t.disconnected(1.0)
    t.handle(sync(("C", "gpu")), 2.0)
    assert t.online == {"C"} and t.joined


def test_more_absent_means_one_frame():
    t = NetworkedKernelTrainer("A", "networking")
    out = t.handle(sync(("B", "storage")), 0.0)
    assert "Joined" in kinds(out) and t.joined and t.online == {"B"}


def test_id_churn_does_not_grow_known_peers_without_bound():
    """A peer cycling through fresh ids (join, leave, join as the next id) must not grow a
    trainer's memory by one entry per id for ever: offline peers we never dealt with are
    kept up to ``MAX_OFFLINE_STRANGERS``, most recently seen first; peers online and peers
    with a record stay whatever their number."""
    from collab_tui.core.presence import MAX_OFFLINE_STRANGERS

    t = NetworkedKernelTrainer("A", "networking")
    t.handle(part([("B", "storage")], False, first=True), 0.0)
    t.book.update("dealt-with", False, "missed deadline", 0.5)      # a record: evidence, kept
    t.handle(frame("PEER_JOINED", "hub", {"ai_id": "dealt-with", "specialization": "gpu"}), 0.5)
    t.handle(frame("PEER_LEFT", "hub", {"ai_id": "dealt-with"}), 0.6)
    churn = 3 * MAX_OFFLINE_STRANGERS
    for i in range(churn):
        t.handle(frame("PEER_JOINED", "hub", {"ai_id": f"ww.{i}", "specialization": "gpu"}), 1.0 + i)
        t.handle(frame("PEER_LEFT", "hub", {"ai_id": f"ww.{i}"}), 1.5 + i)
    offline = [p for p in t.known_ai_info if p not in t.online]
    strangers = [p for p in offline if p != "dealt-with"]
    assert len(strangers) == MAX_OFFLINE_STRANGERS
    # the most recently seen are the ones kept; the online peer and the one with a record stay
    assert strangers == [f"ww.{i}" for i in range(churn - MAX_OFFLINE_STRANGERS, churn)]
    assert "B" in t.known_ai_info and "dealt-with" in t.known_ai_info
    # an id seen again moves to the newest end and survives the next round of churn
    t.handle(frame("PEER_JOINED", "hub", {"ai_id": f"ww.{churn - MAX_OFFLINE_STRANGERS}",
                                          "specialization": "gpu"}), 10_000.0)
    t.handle(frame("PEER_LEFT", "hub", {"ai_id": f"ww.{churn - MAX_OFFLINE_STRANGERS}"}), 10_000.5)
    t.handle(frame("PEER_JOINED", "hub", {"ai_id": "ww.new", "specialization": "gpu"}), 10_001.0)
    t.handle(frame("PEER_LEFT", "hub", {"ai_id": "ww.new"}), 10_001.5)
    assert f"ww.{churn - MAX_OFFLINE_STRANGERS}" in t.known_ai_info
    assert f"ww.{churn - MAX_OFFLINE_STRANGERS + 1}" not in t.known_ai_info


def test_a_reconnect_forgets_strangers_beyond_the_bound_but_keeps_everyone_online():
    from collab_tui.core.presence import MAX_OFFLINE_STRANGERS

    t = NetworkedKernelTrainer("A", "networking")
    many = [(f"P{i}", "gpu") for i in range(MAX_OFFLINE_STRANGERS + 100)]
    t.handle(part(many, False, first=True), 0.0)
    assert len(t.known_ai_info) == len(many)           # all online: none forgotten
    t.disconnected(1.0)
    t.handle(part([("P0", "gpu")], False, first=True), 2.0)
    assert t.online == {"P0"} and "P0" in t.known_ai_info
    assert len(t.known_ai_info) == 1 + MAX_OFFLINE_STRANGERS
