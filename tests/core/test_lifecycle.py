"""The collaboration lifecycle, both sides, driven frame by frame with simulated time."""
import pytest

from collab_tui import NetworkedKernelTrainer
from collab_tui.core.components import build_component, sha256_hex
from collab_tui.core.trainer import CommandError

from .helpers import frame, kinds, request, response, sent, share, sync


def make(**kw):
    t = NetworkedKernelTrainer("A", "networking", **kw)
    t.handle(sync(("B", "storage"), ("C", "networking")), 0.0)
    return t


# ---- receiver -------------------------------------------------------------

def test_receiver_answers_accept_produces_and_delivers():
    t = make()
    out = t.handle(request("B", "r1"), 1.0)
    frames = sent(out)
    assert frames[0]["type"] == "COLLABORATION_RESPONSE" and frames[0]["recipient_id"] == "B"
    assert frames[0]["payload"] == {"request_id": "r1", "accepted": True, "overridden": False,
                                    "reason": "storage complements networking; reputation 0.50 ≥ 0.50"}
    produce = [i for i in out if type(i).__name__ == "Produce"][0]
    session = t.collaboration_sessions[produce.session_key]
    assert session["status"] == "active" and t.active_session_count() == 1
    out = t.production_finished(produce.session_key, True, "artifact", "", 2.0)
    share_frame = sent(out)[0]
    assert share_frame["type"] == "OS_COMPONENT_SHARE" and share_frame["recipient_id"] == "B"
    comp = share_frame["payload"]["component"]
    assert comp["sha256"] == sha256_hex("artifact") and share_frame["payload"]["collaboration_complete"] is True
    assert session.status == "delivered" and t.active_session_count() == 0


def test_receiver_answers_refusals_too():
    t = make()
    t.reputation["B"] = 0.2
    out = t.handle(request("B", "r1"), 1.0)
    [resp] = sent(out)
    assert resp["payload"]["accepted"] is False
    assert resp["payload"]["reason"] == "reputation 0.20 < threshold 0.50"
    assert not any(type(i).__name__ == "Produce" for i in out)


def test_malformed_and_duplicate_requests_are_reported_not_crashing():
    t = make()
    out = t.handle(frame("COLLABORATION_REQUEST", "B", {"request_id": "x", "collaboration_type": "t",
                                                        "deadline_s": "soon"}), 1.0)
    assert kinds(out) == ["ProtocolProblem"] and "deadline_s" in out[0].detail
    t.handle(request("B", "r1"), 1.0)
    assert kinds(t.handle(request("B", "r1"), 1.5)) == ["ProtocolProblem"]
    assert kinds(t.handle("not json", 2.0)) == ["ProtocolProblem"]


def test_hold_window_delays_the_verdict_and_override_flips_it():
    t = make(hold_s=5.0)
    out = t.handle(request("B", "r1"), 1.0)
    assert sent(out) == [] and t.incoming["B/r1"].status == "held"
    assert t.next_deadline() == 6.0
    assert sent(t.tick(5.9)) == []
    out = t.override("B/r1", False, 3.0)
    [resp] = sent(out)
    assert resp["payload"]["accepted"] is False and resp["payload"]["overridden"] is True
    assert "rejected by operator" in resp["payload"]["reason"]
    assert sent(t.tick(7.0)) == []  # nothing more once answered


def test_held_verdict_sent_when_window_ends():
    t = make(hold_s=2.0)
    t.handle(request("B", "r1"), 1.0)
    out = t.tick(3.0)
    assert sent(out)[0]["payload"]["accepted"] is True
    assert any(type(i).__name__ == "Produce" for i in out)


def test_override_reject_after_accept_cancels_and_drops_the_work():
    t = make()
    out = t.handle(request("B", "r1"), 1.0)
    produce = [i for i in out if type(i).__name__ == "Produce"][0]
    out = t.override("B/r1", False, 1.5)
    assert sent(out)[0]["payload"]["accepted"] is False
    assert t.collaboration_sessions[produce.session_key].status == "cancelled"
    assert t.production_finished(produce.session_key, True, "late", "", 2.0) == []
    with pytest.raises(CommandError, match="already rejected"):
        t.override("B/r1", False, 2.0)
    out = t.override("B/r1", True, 2.5)  # accept after reject grants again
    assert sent(out)[0]["payload"]["accepted"] is True
    assert any(type(i).__name__ == "Produce" for i in out)


def test_override_cannot_reject_a_delivered_session():
    t = make()
    out = t.handle(request("B", "r1"), 1.0)
    produce = [i for i in out if type(i).__name__ == "Produce"][0]
    t.production_finished(produce.session_key, True, "x", "", 2.0)
    with pytest.raises(CommandError, match="too late"):
        t.override("B/r1", False, 3.0)


def test_responder_session_expires_at_deadline():
    t = make()
    out = t.handle(request("B", "r1", deadline=5.0), 1.0)
    key = [i for i in out if type(i).__name__ == "Produce"][0].session_key
    t.tick(6.0)
    assert t.collaboration_sessions[key].status == "expired"
    assert t.production_finished(key, True, "x", "", 6.5) == []


def test_producer_failure_withdraws_the_accept():
    t = make()
    out = t.handle(request("B", "r1"), 1.0)
    key = [i for i in out if type(i).__name__ == "Produce"][0].session_key
    [resp] = sent(t.production_finished(key, False, "", "exit status 3", 2.0))
    assert resp["payload"]["accepted"] is False and "exit status 3" in resp["payload"]["reason"]


# ---- initiator --------------------------------------------------------------

def start(t, deadline=10.0, now=1.0):
    rid, out = t.start_request("feature_development", "tcp offload", deadline, now)
    [req] = sent(out)
    assert req["type"] == "COLLABORATION_REQUEST" and req["recipient_id"] is None
    assert req["payload"]["deadline_s"] == deadline
    return rid


def test_initiator_success_moves_score_to_065():
    t = make()
    rid = start(t)
    t.handle(response("B", rid, True), 2.0)
    assert t.collaboration_sessions[f"out:{rid}/B"].status == "active"
    out = t.handle(share("B", rid), 3.0)
    assert t.reputation["B"] == 0.65
    assert t.collaboration_sessions[f"out:{rid}/B"].status == "completed"
    stored = t.shared_knowledge["benchmarks"]["c1"]
    assert stored["source"] == "B" and stored["received_at"] == 3.0 and stored["validation"] == "passed"
    assert "ReputationChanged" in kinds(out) and "StateChanged" in kinds(out)


def test_every_response_is_tracked():
    t = make()
    rid = start(t)
    t.handle(response("B", rid, True, "yes"), 2.0)
    t.handle(response("C", rid, False, "reputation 0.10 < threshold 0.50"), 2.0)
    o = t.outgoing[rid]
    assert o.accepted_by == ["B"] and o.responses["C"].reason.startswith("reputation")


@pytest.mark.parametrize("component,reason", [
    ("not an object", "not an object"),
    ({"id": "c1", "name": "n", "version": "1"}, "missing content, sha256"),
    ({**build_component("c1", "n", "1", "abc"), "sha256": "0" * 64}, "sha256 mismatch"),
    ({**build_component("c1", "n", "1", "abc"), "sha256": "zz"}, "not 64 hex digits"),
    (build_component("c1", "n", "1", "x" * 300_000), "too large"),
])
def test_malformed_components_are_failures_with_reason(component, reason):
    t = make()
    rid = start(t)
    t.handle(response("B", rid, True), 2.0)
    t.handle(share("B", rid, component=component), 3.0)
    assert t.reputation["B"] == 0.35
    session = t.collaboration_sessions[f"out:{rid}/B"]
    assert session.status == "failed" and reason in session.detail
    assert reason in t.book.records["B"].last_reason


def test_deadline_missed_is_a_failure():
    t = make()
    rid = start(t, deadline=5.0, now=1.0)
    t.handle(response("B", rid, True), 2.0)
    assert t.next_deadline() == 6.0
    assert t.tick(5.9) == []
    t.tick(6.0)
    assert t.reputation["B"] == 0.35 and t.book.records["B"].last_reason == "deadline missed"
    # a late delivery is stored but changes nothing
    t.handle(share("B", rid), 7.0)
    assert t.reputation["B"] == 0.35


def test_unsolicited_valid_component_earns_nothing_but_garbage_costs():
    t = make()
    t.handle(share("B", None), 1.0)
    assert "B" not in t.reputation
    t.handle(share("C", "nope", component={"id": "x"}), 1.0)
    assert t.reputation["C"] == 0.35


def test_reject_after_accept_cancels_without_penalty():
    t = make()
    rid = start(t)
    t.handle(response("B", rid, True), 2.0)
    t.handle(response("B", rid, False, "changed my mind"), 2.5)
    assert t.collaboration_sessions[f"out:{rid}/B"].status == "cancelled"
    t.tick(20.0)
    assert "B" not in t.reputation


def test_partial_delivery_then_complete():
    t = make()
    rid = start(t)
    t.handle(response("B", rid, True), 2.0)
    t.handle(share("B", rid, complete=False, cid="p1"), 3.0)
    assert "B" not in t.reputation
    t.handle(share("B", rid, cid="p2"), 4.0)
    assert t.reputation["B"] == 0.65


def test_validator_verdicts():
    t = make(validator_enabled=True)
    rid = start(t)
    t.handle(response("B", rid, True), 2.0)
    out = t.handle(share("B", rid), 3.0)
    assert "Validate" in kinds(out) and t.collaboration_sessions[f"out:{rid}/B"].status == "validating"
    t.tick(30.0)  # arrived in time: the deadline no longer applies while validating
    assert "B" not in t.reputation
    t.validation_finished("c1", "fail", "exit status 1: bad", True, 31.0)
    assert t.reputation["B"] == 0.35 and "validator failed" in t.book.records["B"].last_reason


def test_validator_that_cannot_start_is_not_the_peers_fault():
    t = make(validator_enabled=True)
    rid = start(t)
    t.handle(response("B", rid, True), 2.0)
    t.handle(share("B", rid), 3.0)
    t.validation_finished("c1", "error", "validator could not start: no such file", False, 4.0)
    assert "B" not in t.reputation
    assert t.shared_knowledge["benchmarks"]["c1"]["validation"] == "unchecked"


def test_operator_marks_move_reputation_and_undo_exactly():
    t = make()
    rid = start(t)
    t.handle(response("B", rid, True), 2.0)
    t.handle(share("B", rid), 3.0)
    assert t.reputation["B"] == 0.65
    t.mark_component("c1", False, 4.0)
    assert t.reputation["B"] == pytest.approx(0.455)
    assert t.book.records["B"].last_reason == "marked bad by operator"
    t.mark_component("c1", True, 5.0)  # flip: undo bad, apply good
    assert t.reputation["B"] == pytest.approx(0.755)
    t.unmark_component("c1", 6.0)
    assert t.reputation["B"] == 0.65
    with pytest.raises(CommandError, match="no mark"):
        t.unmark_component("c1", 7.0)


def test_component_ids_from_different_sources_do_not_overwrite():
    t = make()
    t.handle(share("B", None, cid="same"), 1.0)
    t.handle(share("C", None, cid="same", content="other"), 1.0)
    bench = t.shared_knowledge["benchmarks"]
    assert bench["same"]["source"] == "B" and bench["same@C"]["source"] == "C"


def test_hub_errors_and_unknown_frames_surface_as_events():
    t = make()
    out = t.handle(frame("ERROR", "hub", {"code": "rate_limited", "detail": "slow down", "ref_message_id": None}), 1.0)
    assert kinds(out) == ["HubError"] and out[0].code == "rate_limited"
    assert kinds(t.handle(frame("WHAT", "B", {}), 1.0)) == ["ProtocolProblem"]


def test_component_store_is_bounded_by_count_and_bytes():
    t = make(validator_enabled=True)
    t.components.max_bytes = 10_000
    rid = start(t)
    t.handle(response("B", rid, True), 2.0)
    t.handle(share("B", rid, cid="being-validated", content="v" * 3000), 3.0)
    for i in range(10):
        t.handle(share("C", None, cid=f"u{i}", content="x" * 3000), 4.0 + i)
    bench = t.shared_knowledge["benchmarks"]
    assert "being-validated" in bench  # never evicted while its validator runs
    assert sum(len(r["component"]["content"]) for r in bench.values()) <= 10_000
    assert "u9" in bench and "u0" not in bench  # the oldest go first
    t.validation_finished("being-validated", "pass", "", False, 20.0)
    assert t.reputation["B"] == 0.65
    assert t.components.bytes == sum(len(r["component"]["content"]) for r in bench.values())
    t.components.max_count = 3
    t.handle(share("C", None, cid="last", content="y"), 30.0)
    assert list(bench)[-1] == "last" and len(bench) == 3   # the count bound too, oldest first


# ---- holds and deadlines ------------------------------------------------------

def test_hold_longer_than_the_deadline_is_capped_at_the_deadline():
    t = make(hold_s=30.0)
    t.handle(request("B", "r1", deadline=10.0), 1.0)
    record = t.incoming["B/r1"]
    assert record.hold_until == 11.0 and t.next_deadline() == 11.0


def test_held_verdict_at_its_deadline_is_answered_as_expired_and_stops_counting():
    t = make(hold_s=30.0, max_active_sessions=1)
    t.handle(request("B", "r1", deadline=10.0), 1.0)
    assert t.active_session_count() == 1
    # Before tick runs, a held accept past its deadline already no longer counts.
    t.now = 11.0
    assert t.active_session_count() == 0
    out = t.tick(11.0)
    [resp] = sent(out)
    assert resp["payload"]["accepted"] is False
    assert resp["payload"]["reason"].startswith("expired: the deadline (10 s) passed while the verdict was held")
    record = t.incoming["B/r1"]
    assert record.status == "lapsed" and record.verdict.rule == "lapsed" and not record.verdict.accept
    assert record.decision.accept  # the automatic verdict is kept for the record
    assert not any(type(i).__name__ == "Produce" for i in out)
    assert t.active_session_count() == 0
    with pytest.raises(CommandError, match="too late"):
        t.override("B/r1", True, 11.5)


def test_expired_holds_do_not_refuse_honest_peers_at_capacity():
    t = make(hold_s=30.0, max_active_sessions=1)
    t.handle(request("B", "r1", deadline=5.0), 1.0)
    d = t.handle(request("C", "r2", deadline=60.0), 2.0)[0].incoming.decision
    assert not d.accept and d.reason.startswith("at capacity: 1 of 1")
    out = t.handle(request("C", "r3", deadline=60.0), 7.0)  # r1's deadline (6.0) has passed
    assert out[0].incoming.decision.accept


def test_lowering_the_hold_applies_to_what_is_held_now():
    t = make(hold_s=30.0)
    t.handle(request("B", "r1", deadline=60.0), 1.0)
    t.handle(request("C", "r2", deadline=60.0), 10.0)
    out = t.configure(hold_s=5.0, now=12.0)
    # r1 arrived at 1.0: 1 + 5 ≤ 12, sent now; r2 arrived at 10.0: due at 15.0
    assert [f["recipient_id"] for f in sent(out)] == ["B"]
    assert t.incoming["B/r1"].status == "answered" and t.incoming["C/r2"].hold_until == 15.0
    assert t.next_deadline() == 15.0


def test_hold_zero_releases_everything_held():
    t = make(hold_s=30.0)
    t.handle(request("B", "r1", deadline=60.0), 1.0)
    t.handle(request("C", "r2", deadline=60.0), 2.0)
    out = t.configure(hold_s=0, now=3.0)
    assert sorted(f["recipient_id"] for f in sent(out)) == ["B", "C"]
    assert all(r.status == "answered" for r in t.incoming.values())
    assert t.next_deadline() is not None  # the sessions it started run to their deadlines


def test_raising_the_hold_does_not_extend_what_is_held():
    t = make(hold_s=5.0)
    t.handle(request("B", "r1", deadline=60.0), 1.0)
    t.configure(hold_s=50.0, now=2.0)
    assert t.incoming["B/r1"].hold_until == 6.0


def test_hold_warning_names_the_deadlines_it_outlasts():
    from collab_tui.core.sessions import hold_warning
    assert hold_warning(0, [4.0, 10.0]) is None
    assert hold_warning(3, [4.0, 10.0]) is None
    assert hold_warning(5, []) is None
    warning = hold_warning(12, [4.0, 10.0, 30.0])
    assert warning == ("hold 12 s is at least the deadline of 2 of the last 3 request(s) (shortest 4 s): "
                       "those would lapse unanswered while held")


def test_mark_preview_tells_the_consequence_and_changes_nothing():
    t = make()
    rid, _ = t.start_request("feature_development", "x", 30.0, 1.0)
    t.handle(response("B", rid), 2.0)
    bad = dict(build_component("c1", "comp", "1.0", "x"), sha256="0" * 64)
    t.handle(share("B", rid, component=bad), 3.0)
    assert t.reputation["B"] == pytest.approx(0.35)
    peer, old, new = t.mark_preview("c1", True)
    assert (peer, old) == ("B", pytest.approx(0.35)) and new == pytest.approx(0.545)
    assert t.reputation["B"] == pytest.approx(0.35) and t.shared_knowledge["benchmarks"]["c1"]["mark"] is None
    t.mark_component("c1", True, 4.0)
    assert t.reputation["B"] == pytest.approx(new)
    # switching an existing mark: the earlier one is undone first, as mark_component does
    peer, old, new = t.mark_preview("c1", False)
    t.mark_component("c1", False, 5.0)
    assert t.reputation["B"] == pytest.approx(new)
