"""REPUTATION_QUERY / REPUTATION_REPORT through the trainer core: time is an argument, no sockets."""
import math

import pytest

from collab_tui.core import reports as rp
from collab_tui.core import wire
from collab_tui.core.engines import make_policy
from collab_tui.core.events import DecisionMade, ProtocolProblem, ReportsAwaited, Send
from collab_tui.core.trainer import NetworkedKernelTrainer


def frame(msg_type, sender, payload, recipient=None):
    return {"type": msg_type, "message_id": wire.new_id(), "sender_id": sender, "recipient_id": recipient,
            "timestamp": 0.0, "payload": payload}


def request(sender, rid="r1", deadline=10.0):
    return frame(wire.COLLABORATION_REQUEST, sender, {"request_id": rid, "collaboration_type": "code_review",
                                                       "feature": "x", "deadline_s": deadline}, "me")


def trainer(policy="shared", **kw):
    t = NetworkedKernelTrainer("me", policy=make_policy(policy), **kw)
    t.handle(frame(wire.TRAINING_SYNC, "hub", {"active_ais": ["A", "B", "C", "M", "H"]}), 0.0)
    t.joined = True
    return t


def sends(actions, msg_type=None):
    return [a.message for a in actions if isinstance(a, Send) and (msg_type is None or a.message.type == msg_type)]


def answer(t, query_msg, observations, sender=None):
    return t.handle(frame(rp.REPUTATION_REPORT, sender or query_msg.recipient_id,
                          {"query_id": query_msg.payload["query_id"], "observations": observations}, "me"), t.now)


def bad(subject, n=3):
    return [{"subject": subject, "successes": 0, "failures": n, "last_outcome_at": 1.0}]


# ---- the seed's score is untouched -------------------------------------------
def test_reports_never_change_the_seed_score_which_stays_exact():
    t = trainer(trusted_reporters=["A"])
    t.handle(frame(rp.REPUTATION_REPORT, "A", {"query_id": None, "observations": bad("X", 50)}, "me"), 1.0)
    assert "X" not in t.reputation
    t._update_reputation("X", True)
    assert t.reputation["X"] == 0.65
    t._update_reputation("Y", False)
    assert t.reputation["Y"] == 0.35


def test_the_seed_policy_never_asks_and_decides_at_once():
    t = trainer("seed")
    out = t.handle(request("M"), 1.0)
    assert not sends(out, rp.REPUTATION_QUERY)
    assert any(isinstance(e, DecisionMade) for e in out)


# ---- asking before deciding ------------------------------------------------------
def test_an_unknown_peer_waits_for_answers_then_reports_decide():
    t = trainer(trusted_reporters=["A", "B"])
    out = t.handle(request("M"), 1.0)
    queries = sends(out, rp.REPUTATION_QUERY)
    assert {q.recipient_id for q in queries} <= {"A", "B", "C", "H"} and {"A", "B"} <= {q.recipient_id for q in queries}
    assert all(q.payload["subjects"] in (["M"], None) for q in queries)
    awaited = [e for e in out if isinstance(e, ReportsAwaited)]
    assert awaited and awaited[0].due_at == pytest.approx(1.3)
    assert not any(isinstance(e, DecisionMade) for e in out)
    assert t.next_deadline() == pytest.approx(1.3)
    by = {q.recipient_id: q for q in queries}
    assert not any(isinstance(e, DecisionMade) for e in answer(t, by["A"], bad("M")))
    for q in queries:
        if q.recipient_id != "A":
            out = answer(t, q, bad("M") if q.recipient_id == "B" else [])
    made = [e for e in out if isinstance(e, DecisionMade)]
    assert made, "the last answer decides"
    d = made[0].incoming.decision
    assert not d.accept and d.rule == "reports"
    assert d.reason.startswith("reports: 0 ✓ / 6 ✗ from 2 reporters (belief ≥ 1.00)")
    assert "✗ REJECT — reports: 0 ✓ / 6 ✗ from 2 reporters" in made[0].describe()     # the headless line
    assert sends(out, wire.COLLABORATION_RESPONSE)[0].payload["accepted"] is False


def test_without_answers_the_decision_goes_ahead_after_the_bounded_wait():
    t = trainer()
    out = t.handle(request("M", deadline=0.4), 5.0)
    due = next(e for e in out if isinstance(e, ReportsAwaited)).due_at
    assert due == pytest.approx(5.1)                  # never past a quarter of the request's deadline
    assert t.tick(5.05) == []
    out = t.tick(due)
    d = next(e for e in out if isinstance(e, DecisionMade)).incoming.decision
    assert d.accept and d.rule != "reports"           # nobody answered: decided on what is known
    assert t.next_deadline() is None or t.next_deadline() > due


def test_a_subject_asked_about_is_not_asked_about_again_within_the_cache_age():
    t = trainer()
    assert sends(t.handle(request("M", "r1"), 1.0), rp.REPUTATION_QUERY)
    assert not sends(t.handle(request("M", "r2"), 2.0), rp.REPUTATION_QUERY)
    assert sends(t.handle(request("M", "r3"), 1.0 + t.asking.settings.cache_s), rp.REPUTATION_QUERY)


def test_queries_are_bounded_by_k_and_by_the_budget():
    t = NetworkedKernelTrainer("me", policy=make_policy("shared"),
                               ask_settings=rp.AskSettings(k=3, explore=1, queries_per_s=1, query_burst=4))
    t.handle(frame(wire.TRAINING_SYNC, "hub", {"active_ais": [f"p{i}" for i in range(50)]}), 0.0)
    first = sends(t.handle(request("x1"), 0.0), rp.REPUTATION_QUERY)
    second = sends(t.handle(request("x2"), 0.0), rp.REPUTATION_QUERY)
    third = sends(t.handle(request("x3"), 0.0), rp.REPUTATION_QUERY)
    assert len(first) == 3 and len(second) == 1 and third == []     # burst of 4 spent
    assert any(isinstance(e, DecisionMade) for e in t.handle(request("x4"), 0.0))  # decided at once


def test_an_answer_counts_only_from_the_peer_asked_and_only_about_what_was_asked():
    t = trainer()
    q = sends(t.handle(request("M"), 1.0), rp.REPUTATION_QUERY)[0]
    assert answer(t, q, bad("M"), sender="H" if q.recipient_id != "H" else "C") == []
    assert not t.witness.has_reports("M")
    answer(t, q, bad("M") + bad("Z"))
    assert t.witness.has_reports("M") and (q.payload["subjects"] is None or not t.witness.has_reports("Z"))
    answer(t, q, bad("Q"))                             # a second answer to the same query: dropped
    assert not t.witness.has_reports("Q")


# ---- answering -------------------------------------------------------------------
def test_every_query_is_answered_from_our_first_hand_records_only():
    t = trainer("seed")
    t._update_reputation("X", True, now=3.0)
    t._update_reputation("X", False, now=4.0)
    t._update_reputation("A", True, now=5.0)
    t.handle(frame(rp.REPUTATION_REPORT, "B", {"query_id": None, "observations": bad("Y", 9)}, "me"), 6.0)
    out = t.handle(frame(rp.REPUTATION_QUERY, "A", {"query_id": "q1", "subjects": ["X", "Y", "A"]}, "me"), 7.0)
    [report] = sends(out, rp.REPUTATION_REPORT)
    assert report.recipient_id == "A" and report.payload["query_id"] == "q1"
    assert report.payload["observations"] == [{"subject": "X", "successes": 1, "failures": 1,
                                               "last_outcome_at": 4.0}]   # not hearsay (Y), not A itself
    out = t.handle(frame(rp.REPUTATION_QUERY, "C", {"query_id": "q2", "subjects": None}, "me"), 7.0)
    assert [o["subject"] for o in sends(out)[0].payload["observations"]] == ["A", "X"]   # most recent first


def test_operator_marks_are_first_hand_and_shared():
    t = trainer("seed")
    t.shared_knowledge["benchmarks"]["k"] = {"source": "X", "mark": None, "mark_change_id": None,
                                             "component": {}, "validation": "passed", "reason": ""}
    t.mark_component("k", False, 2.0)
    out = t.handle(frame(rp.REPUTATION_QUERY, "A", {"query_id": "q", "subjects": ["X"]}, "me"), 3.0)
    assert sends(out)[0].payload["observations"][0]["failures"] == 1


def test_a_query_flood_is_answered_up_to_the_limit_and_never_amplified():
    t = trainer("seed")
    answered = 0
    for i in range(100):
        out = t.handle(frame(rp.REPUTATION_QUERY, "A", {"query_id": f"q{i}", "subjects": None}, "me"), 1.0)
        answered += len(sends(out))
        assert len(sends(out)) <= 1
    assert answered == t.asking.settings.answer_burst
    assert sends(t.handle(frame(rp.REPUTATION_QUERY, "B", {"query_id": "x", "subjects": None}, "me"), 1.0))


def test_a_report_never_makes_us_send_anything():
    t = trainer()
    for i in range(50):
        out = t.handle(frame(rp.REPUTATION_REPORT, f"p{i % 5}", {"query_id": None if i % 2 else f"q{i}",
                                                                 "observations": bad(f"s{i}")}, "me"), float(i))
        assert sends(out) == []


def test_unsolicited_reports_are_kept_at_most_once_per_30_s_per_sender():
    t = trainer()
    t.handle(frame(rp.REPUTATION_REPORT, "A", {"query_id": None, "observations": bad("X")}, "me"), 100.0)
    t.handle(frame(rp.REPUTATION_REPORT, "A", {"query_id": None, "observations": bad("Y")}, "me"), 110.0)
    t.handle(frame(rp.REPUTATION_REPORT, "A", {"query_id": None, "observations": bad("Z")}, "me"), 131.0)
    assert t.witness.has_reports("X") and not t.witness.has_reports("Y") and t.witness.has_reports("Z")


# ---- broadcasting -----------------------------------------------------------------
def test_changed_observations_are_broadcast_at_most_every_30_s():
    t = trainer()
    t._outcome("X", True, "ok")
    [b] = sends(t.tick(0.0), rp.REPUTATION_REPORT)
    assert b.recipient_id is None and b.payload["query_id"] is None
    assert b.payload["observations"] == [{"subject": "X", "successes": 1, "failures": 0, "last_outcome_at": 0.0}]
    t.now = 5.0
    t._outcome("Y", False, "bad")
    assert t.next_deadline() == pytest.approx(30.0)
    assert sends(t.tick(29.0)) == []
    [b] = sends(t.tick(30.0))
    assert [o["subject"] for o in b.payload["observations"]] == ["Y"]
    assert sends(t.tick(90.0)) == []                  # nothing changed: nothing sent


# ---- validation of hostile frames ---------------------------------------------------
@pytest.mark.parametrize("payload, message", [
    ({"query_id": None, "observations": "x"}, "'observations' must be a list"),
    ({"query_id": None, "observations": [{}] * 257}, "more than 256"),
    ({"query_id": 5, "observations": []}, "'query_id' must be a string"),
    ({"query_id": None, "observations": [7]}, "observation 0 is not an object"),
    ({"query_id": None, "observations": [{"subject": "a b", "successes": 1, "failures": 0}]}, "trainer id"),
    ({"query_id": None, "observations": [{"subject": "x" * 65, "successes": 1, "failures": 0}]}, "trainer id"),
    ({"query_id": None, "observations": [{"subject": "X", "successes": -1, "failures": 0}]}, "finite numbers ≥ 0"),
    ({"query_id": None, "observations": [{"subject": "X", "successes": math.nan, "failures": 0}]}, "finite"),
    ({"query_id": None, "observations": [{"subject": "X", "successes": math.inf, "failures": 0}]}, "finite"),
    ({"query_id": None, "observations": [{"subject": "X", "successes": True, "failures": 0}]}, "finite"),
    ({"query_id": None, "observations": [{"subject": "X", "successes": "3", "failures": 0}]}, "finite"),
    ({"query_id": None, "observations": [{"subject": "X", "successes": 1, "failures": 0,
                                          "last_outcome_at": "yesterday"}]}, "last_outcome_at"),
])
def test_hostile_reports_are_refused_whole_with_a_clear_reason(payload, message):
    t = trainer()
    out = t.handle(frame(rp.REPUTATION_REPORT, "A", payload, "me"), 1.0)
    problems = [e for e in out if isinstance(e, ProtocolProblem)]
    assert problems and message in problems[0].detail and problems[0].detail.startswith("REPUTATION_REPORT: ")
    assert t.witness.report_count() == 0


@pytest.mark.parametrize("payload, message", [
    ({"subjects": ["X"]}, "'query_id' must be a string"),
    ({"query_id": "q", "subjects": "X"}, "'subjects' must be a list"),
    ({"query_id": "q", "subjects": ["X"] * 257}, "more than 256"),
    ({"query_id": "q", "subjects": [3]}, "trainer id"),
])
def test_hostile_queries_are_not_answered(payload, message):
    t = trainer()
    out = t.handle(frame(rp.REPUTATION_QUERY, "A", payload, "me"), 1.0)
    assert sends(out) == [] and message in out[0].detail


# ---- the view for the UI -------------------------------------------------------------
def test_network_view_gives_the_score_the_reporters_and_one_row_each():
    t = trainer(trusted_reporters=["A"])
    t.handle(frame(rp.REPUTATION_REPORT, "A", {"query_id": None, "observations": bad("X", 4)}, "me"), 1.0)
    t.handle(frame(rp.REPUTATION_REPORT, "B", {"query_id": None, "observations": bad("X", 4)}, "me"), 1.0)
    v = t.network_view("X")
    # A is pinned (believed fully); B is unknown and nobody asked it: listed, counted for nothing
    assert [(r.reporter, round(r.weight, 2), r.pinned) for r in v.rows] == [("A", 1.0, True), ("B", 0.0, False)]
    assert v.reporters == 1 and v.raw_failures == 4 and v.score < 1e-3
    assert t.network_view("nobody").score is None


def test_unsolicited_claims_of_a_reporter_not_proven_judge_it_and_are_pooled_only_once_asked():
    """A broadcast reaches every trainer, a liar's as much as anyone's: what a reporter not yet
    proven sends unasked is checked against our records (that is how it earns belief) but never
    pooled; the same claim in an answer to our query is pooled as any answer is."""
    t = trainer()
    for i in range(3):
        t._update_reputation("Y", True, "valid component delivered", 1.0 + i)
    claims = [{"subject": "Y", "successes": 3, "failures": 0, "last_outcome_at": 1.0}, *bad("X", 4)]
    t.handle(frame(rp.REPUTATION_REPORT, "B", {"query_id": None, "observations": claims}, "me"), 5.0)
    assert t.witness.judged("B") == 1                          # its claim about Y was checked at once
    assert t.network_view("X").reporters == 0 and t.network_view("X").score is None
    assert [(r.reporter, r.weight, r.unasked) for r in t.network_view("X").rows] == [("B", 0.0, True)]
    out = t.handle(request("X"), 6.0)                          # X asks: we ask the reporters we know
    query = next(q for q in sends(out, rp.REPUTATION_QUERY) if q.recipient_id == "B")
    answer(t, query, bad("X", 4))
    v = t.network_view("X")
    assert v.reporters == 1 and v.raw_failures == 4 and v.log_odds < 0
    assert [(r.reporter, r.unasked) for r in v.rows] == [("B", False)]


def test_the_wait_for_answers_never_runs_past_the_hold_window():
    t = trainer(hold_s=0.1)
    out = t.handle(request("M", deadline=60.0), 10.0)
    due = next(e for e in out if isinstance(e, ReportsAwaited)).due_at
    assert due == pytest.approx(10.05)                 # half the hold window: the operator keeps the rest
    record = next(e for e in t.tick(due) if isinstance(e, DecisionMade)).incoming
    assert record.received_at == 10.0 and record.hold_until == pytest.approx(10.1)   # from arrival, not decision
    assert record.status == "held"


@pytest.mark.parametrize("liars, praised, accused", [
    ("collude", {"malicious-2"}, {"honest-1", "X"}),
    ("badmouth", set(), {"honest-1", "X"}),
    ("ballot", {"malicious-2"}, set()),
    ("none", set(), {"X"}),                      # the truth: it saw X fail once
])
def test_malicious_bots_lie_as_told(liars, praised, accused):
    from collab_tui.bots import LyingTrainer
    t = LyingTrainer("malicious-1", liars=liars, accomplice=lambda p: p.startswith("malicious-"))
    t.handle(frame(wire.TRAINING_SYNC, "hub", {"active_ais": ["honest-1", "malicious-2", "X", "asker"]}), 0.0)
    t._update_reputation("X", False, now=1.0)
    out = t.handle(frame(rp.REPUTATION_QUERY, "asker", {"query_id": "q", "subjects": None}, "malicious-1"), 2.0)
    observations = sends(out)[0].payload["observations"]
    rp.parse_report({"query_id": "q", "observations": observations})        # well-formed lies
    assert {o["subject"] for o in observations if o["successes"] > o["failures"]} == praised
    assert {o["subject"] for o in observations if o["failures"] > o["successes"]} == accused
    assert "asker" not in {o["subject"] for o in observations}


@pytest.mark.parametrize("me, praised, accused", [
    ("malicious-4", {"malicious-2", "honest-1", "X"}, set()),     # the sacrifice: praises every peer
    ("malicious-1", set(), {"honest-1", "X"}),                    # the accomplice: slanders honest ones only
])
def test_framing_bots_split_the_ring_in_two(me, praised, accused):
    from collab_tui.bots import LyingTrainer
    from collab_tui.sim.behaviours import framing_role
    assert framing_role(me) == ("sacrifice" if praised else "accomplice")
    t = LyingTrainer(me, liars="framing", accomplice=lambda p: p.startswith("malicious-"))
    t.handle(frame(wire.TRAINING_SYNC, "hub", {"active_ais": ["honest-1", "malicious-2", "X", "asker"]}), 0.0)
    out = t.handle(frame(rp.REPUTATION_QUERY, "asker", {"query_id": "q", "subjects": None}, me), 2.0)
    observations = sends(out)[0].payload["observations"]
    rp.parse_report({"query_id": "q", "observations": observations})
    assert {o["subject"] for o in observations if o["successes"] > o["failures"]} == praised
    assert {o["subject"] for o in observations if o["failures"] > o["successes"]} == accused


def good(subject, n=8):
    return [{"subject": subject, "successes": n, "failures": 0, "last_outcome_at": 1.0}]


@pytest.mark.parametrize("reason, vouched", [("deadline missed", True), ("invalid component", False)])
def test_reports_vouch_for_a_peer_after_missed_deadlines_never_after_a_bad_delivery(reason, vouched):
    t = trainer(trusted_reporters=["A", "B", "C", "H"])
    t._update_reputation("M", True, "valid component delivered", 1.0)
    for i in range(3):                                   # three failures, one more success, one more failure:
        t._update_reputation("M", False, reason, 2.0 + i)    # hardened refuses on the record (2 ✓ / 4 ✗)
    t._update_reputation("M", True, "valid component delivered", 4.5)
    t._update_reputation("M", False, reason, 5.0)
    ctx = t.request_context("code_review", "M")
    assert ctx.failure_streak == 1                       # one missed deadline: no outage refusal
    assert not t.policy.hardened.decide(ctx).accept
    for reporter in ("A", "B", "C", "H"):                # four pinned reporters saw it deliver eight of eight
        t.handle(frame(rp.REPUTATION_REPORT, reporter, {"query_id": None, "observations": good("M")}, "me"), 6.0)
    d = t.decide("code_review", "M")
    assert d.accept is vouched
    if vouched:
        assert d.rule == "reports" and "vouch" in d.reason
    else:
        assert d.rule != "reports" or not d.accept


def test_reports_vouch_for_an_honest_peer_whose_missed_deadlines_left_the_bounded_history():
    # 8 of 11 with the failures early: the hardened record rule refuses (an 83% collaborator is
    # likelier than a 95% one); the latest four outcomes, all that a 4-entry history keeps, are
    # deliveries. Reports that it delivered everywhere else vouch for it: its failures were missed
    # deadlines, and that is known after they left the history.
    t = trainer(trusted_reporters=["A", "B", "C", "H"], history_size=4)
    for i, ok in enumerate("sfsffsssss"):
        t._update_reputation("M", ok == "s", "valid component delivered" if ok == "s" else "deadline missed", 1.0 + i)
    ctx = t.request_context("code_review", "M")
    assert ctx.failure_streak == 0 and ctx.last_failure_missed_deadline
    assert not t.policy.hardened.decide(ctx).accept
    for reporter in ("A", "B", "C", "H"):
        t.handle(frame(rp.REPUTATION_REPORT, reporter, {"query_id": None, "observations": good("M")}, "me"), 20.0)
    d = t.decide("code_review", "M")
    assert d.accept and d.rule == "reports" and "vouch" in d.reason


@pytest.mark.parametrize("reason, asks", [("sha256 mismatch", False), ("deadline missed", True)])
def test_a_peer_that_never_delivered_is_asked_about_only_when_its_latest_failure_was_a_missed_deadline(reason, asks):
    # a bad delivery is first-hand evidence no report outweighs: nothing to ask; a missed deadline
    # may be an outage, so the others are asked what they saw. Judged by the latest failure after
    # an undo: the sha256 mismatch undone leaves the missed deadline before it, and vice versa.
    t = trainer()
    other = "deadline missed" if reason != "deadline missed" else "sha256 mismatch"
    t._update_reputation("M", False, reason, 1.0)
    change = t._update_reputation("M", False, other, 2.0)
    t.book.undo("M", change.change_id, "operator undo", 3.0)
    assert bool(t.ask_about("M", 4.0)) is asks


def test_two_missed_deadlines_after_a_good_record_are_an_outage_refused_for_90_s():
    # eight good deliveries, then missed deadlines: one is bad luck (accepted); two in a row look like
    # an outage: the peer is refused for 90 s after the last (a request now would most likely miss its
    # deadline too), reports cannot vouch it through those 90 s, and it is trusted again after them
    t = trainer(trusted_reporters=["A", "B", "C", "H"])
    for i in range(8):
        t._update_reputation("M", True, "valid component delivered", 1.0 + i)
    t._update_reputation("M", False, "deadline missed", 10.0)
    t.now = 10.0
    assert t.decide("code_review", "M").accept
    t._update_reputation("M", False, "deadline missed", 11.0)
    t.now = 11.0
    assert t.policy.hardened.decide(t.request_context("code_review", "M")).accept    # hardened's outage grace
    d = t.decide("code_review", "M")
    assert not d.accept and d.rule == "outage"
    assert d.reason == "2 missed deadlines in a row after 8 deliveries: an outage? refused for 90 s, 90 s left"
    for reporter in ("A", "B", "C", "H"):                # four pinned reporters saw it deliver eight of eight
        t.handle(frame(rp.REPUTATION_REPORT, reporter, {"query_id": None, "observations": good("M")}, "me"), 12.0)
    t.now = 100.0
    d = t.decide("code_review", "M")
    assert not d.accept and d.rule == "outage" and d.reason.endswith("1 s left")
    t.now = 101.0
    d = t.decide("code_review", "M")
    assert d.accept and "reports: 32 ✓ / 0 ✗ from 4 reporters" in d.reason


def test_an_outage_refusal_ends_where_stable_until_says():
    # the simulation keeps a refusal until ``stable_until``: never past the end of an outage refusal
    t = trainer()
    for i in range(8):
        t._update_reputation("M", True, "valid component delivered", 1.0 + i)
    for i in range(2):
        t._update_reputation("M", False, "deadline missed", 10.0 + i)
    t.now = 30.0
    ctx = t.request_context("code_review", "M")
    assert ctx.network is None or ctx.network.empty
    assert t.policy.decide(ctx).rule == "outage"
    assert t.policy.stable_until(ctx) == 101.0


def test_a_bad_delivery_after_a_missed_deadline_is_judged_by_the_strict_rules_not_as_an_outage():
    t = trainer()
    for i in range(8):
        t._update_reputation("M", True, "valid component delivered", 1.0 + i)
    t._update_reputation("M", False, "deadline missed", 10.0)
    t._update_reputation("M", False, "invalid component", 11.0)
    t.now = 11.0
    d = t.decide("code_review", "M")
    assert not d.accept and d.rule != "outage" and "re-probe in 60 s" in d.reason    # the strict rules


def test_a_bad_delivery_after_a_good_record_is_refused_until_the_re_probe():
    # eight good deliveries, then one invalid component: hardened still trusts the peer (0.72 ≥ 0.5);
    # shared refuses it at once, on our own evidence, and looks at it again after the re-probe wait
    t = trainer()
    for i in range(8):
        t._update_reputation("M", True, "valid component delivered", 1.0 + i)
    t._update_reputation("M", False, "invalid component", 10.0)
    t.now = 10.0
    ctx = t.request_context("code_review", "M")
    assert t.policy.hardened.decide(ctx).accept
    d = t.decide("code_review", "M")
    assert not d.accept and d.rule == "evidence"
    assert "bad delivery" in d.reason and "8 ✓ / 1 ✗" in d.reason and "re-probe in 600 s" in d.reason
    wait = t.policy.hardened.probe_wait(8, 1, False)
    assert wait == 600.0
    assert t.policy.stable_until(ctx) <= 10.0 + wait             # the sim may keep the refusal until then
    t.now = 10.0 + wait - 1
    assert not t.decide("code_review", "M").accept
    t.now = 10.0 + wait
    d = t.decide("code_review", "M")
    assert d.accept and d.rule == "re-probe" and "bad delivery" in d.reason
    t._update_reputation("M", True, "valid component delivered", t.now)    # the re-probe went well
    assert t.decide("code_review", "M").accept


def test_a_run_of_bad_deliveries_is_re_probed_by_the_strict_rules_until_the_cap():
    # the first bad delivery waits 600 s; once a re-probe fails too, the run is judged by the strict
    # hardened rules: hardened's quick look after a burst (60 s, while the record before the run
    # passes), and none once the record is past the refusal line by more than the cap
    t = trainer()
    for i in range(8):
        t._update_reputation("M", True, "valid component delivered", 1.0 + i)
    reasons = []
    for i in range(7):
        t.now = 100_000.0 * i + 10.0
        t._update_reputation("M", False, "invalid component", t.now)
        d = t.decide("code_review", "M")
        assert not d.accept
        reasons.append(d.reason)
    assert reasons[0].endswith("bad delivery (8 ✓ / 1 ✗); re-probe in 600 s")
    assert all(r.endswith("re-probe in 60 s") for r in reasons[1:6])
    assert reasons[6].endswith("no more re-probes")


def test_a_proven_reporter_is_asked_for_everything_again_every_30_s():
    asking = rp.Asking()
    every, refresh = asking.settings.full_every_s, asking.settings.refresh_every_s
    assert refresh == rp.BROADCAST_EVERY_S                   # what it met since: like its broadcast, pulled
    asking.sent("q1", "R", ("M",), 0.0, everything=True)
    assert not asking.wants_everything("R", judged=0, now=every - 1)        # judged little: every 15 s
    assert asking.wants_everything("R", judged=0, now=every)
    assert not asking.wants_everything("R", judged=20, now=1000.0)          # judged, not proven: never again
    assert not asking.wants_everything("R", judged=20, now=refresh - 1, proven=True)
    assert asking.wants_everything("R", judged=20, now=refresh, proven=True)


def test_a_trainer_asks_its_proven_witnesses_for_everything_they_met_since():
    t = trainer(trusted_reporters=["A"])                     # pinned: proven from the start
    first = {q.recipient_id: q for q in sends(t.handle(request("M", "r1"), 1.0), rp.REPUTATION_QUERY)}
    assert first["A"].payload["subjects"] is None
    answer(t, first["A"], [{"subject": f"s{i}", "successes": 1, "failures": 0, "last_outcome_at": 1.0}
                           for i in range(10)])
    for i in range(10):                                      # we check A's claims ourselves: judged
        t._update_reputation(f"s{i}", True, now=2.0)
    assert t.witness.judged("A") >= t.asking.settings.full_until_judged
    soon = {q.recipient_id: q for q in sends(t.handle(request("N", "r2"), 10.0), rp.REPUTATION_QUERY)}
    assert soon["A"].payload["subjects"] == ["N"]            # asked within 30 s: only about N
    later = {q.recipient_id: q for q in sends(t.handle(request("O", "r3"), 31.0), rp.REPUTATION_QUERY)}
    assert later["A"].payload["subjects"] is None            # 30 s on: everything again


@pytest.mark.parametrize("field", ["wait_s", "full_every_s", "refresh_every_s"])
@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_ask_settings_refuse_a_negative_or_non_finite_period(field, value):
    with pytest.raises(ValueError, match=f"reports: {field} must be a finite number ≥ 0"):
        rp.AskSettings(**{field: value})


@pytest.mark.parametrize("field, value, message", [
    ("refuse_odds", -1.0, "shared refuse_odds and vouch_odds must not be negative"),
    ("outage_after", 0, "shared outage_after must be at least 1 and outage_pause_s not negative"),
    ("outage_pause_s", -1.0, "shared outage_after must be at least 1 and outage_pause_s not negative"),
    ("probe_one_in", -1, "shared probe_one_in must not be negative"),
    ("probe_contested", 0, "shared probe_contested must be at least 1"),
])
def test_shared_settings_refuse_values_that_make_no_sense(field, value, message):
    from collab_tui.core.shared import SharedSettings
    with pytest.raises(ValueError, match=message):
        SharedSettings(**{field: value})


def test_no_outage_refusal_when_its_seconds_are_zero():
    from collab_tui.core.shared import SharedPolicy, SharedSettings
    t = trainer()
    t.policy = SharedPolicy(settings=SharedSettings(outage_pause_s=0.0))
    for i in range(8):
        t._update_reputation("M", True, "valid component delivered", 1.0 + i)
    for i in range(2):
        t._update_reputation("M", False, "deadline missed", 10.0 + i)
    t.now = 11.0
    assert t.decide("code_review", "M").accept


def _thin_refusal(observations=0, proven=-0.9, combined=-2.3, now=0.0):
    from collab_tui.core.policy import RequestContext
    from collab_tui.core.witness import NetworkView

    view = NetworkView("X", proven, 1, 0.0, 1.0, 0.79, (), combined, proven)
    return RequestContext("X", "code_review", 0.5, 0.5, "networking", "storage", 0, 3,
                          observations=observations, successes=0, failures=observations, now=now, network=view)


def test_a_stranger_refused_on_thin_reports_is_probed_once_in_32_seconds_never_on_strong_ones():
    """One proven reporter saw X fail once (-0.9), and the crowd and the stranger prior take it
    below the refusal line: refused, but not for ever (an honest peer's one bad day would lock it
    out, since nobody would meet it again): accepted in one second of 32, drawn with a secret
    per-trainer key so a peer cannot time its requests to the draw. Never when the reporters we
    believe refuse it on their own, nor once we have our own record of it."""
    policy = make_policy("shared")
    policy.salt = b"k" * 16
    decisions = [policy.decide(_thin_refusal(now=float(s))) for s in range(3200)]
    probes = [d for d in decisions if d.accept]
    assert 60 <= len(probes) <= 140                              # 100 expected
    assert probes[0].reason.startswith("probe: reports: 0 ✓ / 1 ✗ from 1 reporter")
    assert "the reporters we believe say -0.9 alone" in probes[0].reason
    assert all(d.rule == "reports" and "< -1.5" in d.reason for d in decisions if not d.accept)
    # the same second, the same peer: the same draw (a retry within the second changes nothing)
    assert [policy.decide(_thin_refusal(now=s + 0.5)).accept for s in range(64)] == \
        [d.accept for d in decisions[:64]]
    other = make_policy("shared")
    other.salt = b"j" * 16                                     # another trainer draws other seconds
    assert [other.decide(_thin_refusal(now=float(s))).accept for s in range(3200)] != [d.accept for d in decisions]
    assert not any(policy.decide(_thin_refusal(proven=-1.6, now=float(s))).accept for s in range(3200))
    assert not any(policy.decide(_thin_refusal(observations=1, now=float(s))).accept for s in range(3200))


def test_a_stranger_the_caught_liars_all_praise_is_refused_with_that_reason_and_still_probed():
    """Nobody we believe has said anything of X, but the liars we caught all praise it, and the
    strangers they praised have mostly failed us (-1.0): with the stranger prior it is below the
    line. The reason says so; the probe still meets it now and then, so the refusal cannot seal
    itself (what it does at that meeting is what the agreement is next weighed by)."""
    from collab_tui.core.policy import RequestContext
    from collab_tui.core.witness import GOOD, NetworkView

    view = NetworkView("X", 0.0, 0, 0.0, 0.0, 1.0, (), -2.4, 0.0, GOOD, -1.0)
    policy = make_policy("shared")
    policy.salt = b"k" * 16
    decisions = [policy.decide(RequestContext("X", "code_review", 0.5, 0.5, "networking", "storage", 0, 3,
                                              observations=0, now=float(s), network=view)) for s in range(640)]
    refused = [d for d in decisions if not d.accept]
    assert refused[0].rule == "reports"
    assert refused[0].reason == ("reports: 0 ✓ / 0 ✗ from 0 reporters; the liars we caught all praise it (-1.0); "
                                 "ours 0 ✓ / 0 ✗; log-odds -2.4 < -1.5")
    assert 8 <= len(decisions) - len(refused) <= 35               # one second in 32: 20 expected


def test_a_stranger_our_believed_accusers_disagree_on_is_probed_even_when_the_accusers_alone_refuse_it():
    """A framing ring's accomplices, believed as accusers on a few passed checks, slander an honest
    peer that three witnesses we believe as accusers praise: refused (-3.0 from the reporters we
    believe alone), but met one second in 32, which checks every accusation of it at once. With
    fewer such praisers (a camouflaged attacker's lucky streak with one or two honest witnesses),
    or none, a refusal that strong is never probed."""
    from collab_tui.core.policy import RequestContext
    from collab_tui.core.witness import NetworkView

    def ctx(contested, now):
        view = NetworkView("X", -3.0, 3, 2.0, 24.0, 0.6, (), -3.4, -3.0, None, 0.0, contested)
        return RequestContext("X", "code_review", 0.5, 0.5, "networking", "storage", 0, 3,
                              observations=0, now=now, network=view)
    policy = make_policy("shared")
    policy.salt = b"k" * 16
    assert policy.settings.probe_contested == 3
    decisions = [policy.decide(ctx(3, float(s))) for s in range(3200)]
    probes = [d for d in decisions if d.accept]
    assert 60 <= len(probes) <= 140                               # 100 expected
    assert "log-odds -3.4 < -1.5, but 3 reporters we believe as accusers praise it" in probes[0].reason
    for fewer in (0, 1, 2):
        assert not any(policy.decide(ctx(fewer, float(s))).accept for s in range(3200))
