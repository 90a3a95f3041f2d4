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
