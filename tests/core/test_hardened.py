import dataclasses
import math

import pytest

from collab_tui import NetworkedKernelTrainer
from collab_tui.core.engines import make_policy
from collab_tui.core.hardened import HardenedPolicy, HardenedSettings, wilson_bounds
from collab_tui.core.policy import DEADLINE_MISSED, SeedPolicy
from collab_tui.core.sessions import CollaborationSession

from .helpers import sync


def trainer(**kw):
    t = NetworkedKernelTrainer("A", "networking", policy=make_policy("hardened"), **kw)
    t.handle(sync(("B", "storage"), ("N", "networking")), now=0.0)
    return t


def outcomes(t, peer, pattern, start=0.0, step=1.0):
    """Feed 's'/'f' outcomes through the seed's seam, one per ``step`` seconds."""
    now = start
    for ch in pattern:
        t._update_reputation(peer, ch == "s", "test", now)
        now += step
    return now


def decide_at(t, now, peer, ctype="code_review"):
    t.now = now
    return t.decide(ctype, peer)


def test_seed_numbers_are_unchanged_under_the_hardened_policy():
    t = trainer()
    t._update_reputation("B", True, "ok", 1.0)
    t._update_reputation("N", False, "bad", 1.0)
    assert t.reputation["B"] == 0.65 and t.reputation["N"] == 0.35
    assert t._should_accept_collaboration("code_review", "B") is True
    assert t._should_accept_collaboration("code_review", "N") is False


def test_unknown_peer_is_on_probation():
    d = decide_at(trainer(), 5.0, "stranger")
    assert d.accept and d.rule == "probation"
    assert "unknown peer on probation: reputation 0.50 ≥ 0.50, no outcomes yet" in d.reason


def test_unknown_peer_refused_when_threshold_above_neutral():
    d = decide_at(trainer(trust_threshold=0.6), 5.0, "stranger")
    assert not d.accept and d.rule == "trust"
    assert d.reason == "unknown peer: reputation 0.50 < threshold 0.60"


def test_one_missed_deadline_from_unknown_refuses_then_one_second_chance_then_none():
    t = trainer()
    t._update_reputation("X", False, DEADLINE_MISSED, 10.0)
    assert t.request_context("code_review", "X").last_failure_missed_deadline
    d = decide_at(t, 20.0, "X")
    assert not d.accept and d.rule == "trust"
    assert d.reason == "reputation 0.35 < threshold 0.50; 0 of 1 succeeded; re-probe in 140 s"
    d = decide_at(t, 160.0, "X")
    assert d.accept and d.rule == "re-probe" and "re-probe after 150 s ≥ 150 s" in d.reason
    t._update_reputation("X", False, DEADLINE_MISSED, 160.0)
    d = decide_at(t, 10_000.0, "X")
    assert not d.accept and d.reason.endswith("no re-probe: never delivered")


def test_a_never_delivered_peer_whose_failure_was_a_bad_delivery_gets_no_second_chance():
    t = trainer()
    t._update_reputation("G", False, "invalid component", 10.0)
    assert not t.request_context("code_review", "G").last_failure_missed_deadline
    d = decide_at(t, 10_000.0, "G")
    assert not d.accept and d.rule == "trust"
    assert d.reason.endswith("no re-probe: never delivered, failed with a bad delivery")
    assert t.policy.probe_wait(0, 1, missed_deadline=False) is None


def test_last_failure_kind_comes_from_the_latest_failure():
    t = trainer()
    t._update_reputation("K", False, "invalid component", 1.0)
    t._update_reputation("K", True, "valid component delivered", 2.0)
    t._update_reputation("K", False, DEADLINE_MISSED, 3.0)
    assert t.request_context("code_review", "K").last_failure_missed_deadline
    t._update_reputation("K", True, "valid component delivered", 4.0)
    assert t.request_context("code_review", "K").last_failure_missed_deadline
    assert not t.request_context("code_review", "nobody").last_failure_missed_deadline


def test_last_failure_kind_outlives_the_bounded_history():
    # the sim keeps 4 history entries: a missed deadline followed by 4 deliveries has left the
    # history, and was read as a bad delivery (no vouching for an honest peer's bad luck)
    t = trainer(history_size=4)
    t._update_reputation("K", False, DEADLINE_MISSED, 1.0)
    for i in range(4):
        t._update_reputation("K", True, "valid component delivered", 2.0 + i)
    assert all(c.success for c in t.book.records["K"].history)
    assert t.request_context("code_review", "K").last_failure_missed_deadline
    t._update_reputation("B", False, "invalid component", 1.0)
    for i in range(4):
        t._update_reputation("B", True, "valid component delivered", 2.0 + i)
    assert not t.request_context("code_review", "B").last_failure_missed_deadline


def test_evidence_rule_refuses_a_mixed_record_despite_a_good_score():
    t = trainer()
    outcomes(t, "C", "sf" * 8 + "ssss")   # 12 of 20, ends on a run of successes
    assert t.reputation["C"] >= 0.5
    d = decide_at(t, 21.0, "C")
    assert not d.accept and d.rule == "evidence"
    assert "record favours a 83% collaborator over a 95% one: log-odds -8.17 < -2.5 (12 of 20 succeeded)" in d.reason
    # the seed would have accepted it
    assert SeedPolicy().decide(t.request_context("code_review", "C")).accept


def test_unknown_and_mixed_are_no_longer_the_same():
    t = trainer()
    outcomes(t, "M", "sf" * 50)
    t.reputation["M"] = 0.5                # same score as a stranger
    assert decide_at(t, 101.0, "stranger").accept
    assert not decide_at(t, 101.0, "M").accept


def test_established_peer_forgiven_after_a_short_outage():
    t = trainer()
    now = outcomes(t, "B", "s" * 30 + "fff")
    assert t.reputation["B"] < 0.5
    d = decide_at(t, now, "B")
    assert d.accept and d.rule == "forgiven"
    assert "forgiven: 30 of 30 succeeded before 3 failures in a row (log-odds 4.05 ≥ -2.5)" in d.reason
    # the seed locks it out
    assert not SeedPolicy().decide(t.request_context("code_review", "B")).accept


def test_young_peer_with_a_short_run_of_failures_is_forgiven():
    t = trainer()
    now = outcomes(t, "Y", "s" * 8 + "ff")
    d = decide_at(t, now, "Y")
    assert d.accept and d.rule == "forgiven" and "8 of 8 succeeded before 2 failures in a row" in d.reason


def test_outage_run_counts_once_a_success_ends_it():
    t = trainer()
    now = outcomes(t, "O", "ss" + "fff")           # judged on 2 of 2 while the run lasts
    assert decide_at(t, now, "O").rule == "forgiven"
    now = outcomes(t, "O", "s", start=now)          # 3 of 6: now the run counts
    d = decide_at(t, now, "O")
    assert not d.accept and d.rule == "evidence" and "(3 of 6 succeeded)" in d.reason


def test_a_run_longer_than_the_grace_is_judged_in_full_then_re_probed_soon():
    t = trainer()
    now = outcomes(t, "R", "s" * 8 + "ffff")
    d = decide_at(t, now, "R")
    assert not d.accept and d.rule == "evidence" and "log-odds -3.81 < -2.5" in d.reason
    # refused for the burst only (8 of 8 before it passes): looked at again after run_probe_after_s,
    # not after the back-off the full record would get
    assert t.policy.probe_wait(8, 4) > 5000.0
    wait = t.policy.settings.run_probe_after_s
    assert f"re-probe in {wait - 1:.0f} s" in d.reason
    d = decide_at(t, now - 1 + wait, "R")
    assert d.accept and d.rule == "re-probe"


def test_a_long_run_after_a_bad_record_gets_no_quick_re_probe():
    t = trainer()
    now = outcomes(t, "Q", "sf" * 3 + "s" + "ffff")   # 4 of 11; before the run 4 of 7: fails the test too
    d = decide_at(t, now - 1 + t.policy.settings.run_probe_after_s, "Q")
    assert not d.accept and d.rule == "evidence"


def test_re_probe_is_rationed():
    p = HardenedPolicy()
    assert p.probe_wait(0, 1) == 150.0            # a never-delivered peer: one second chance
    assert p.probe_wait(0, 2) is None
    assert p.probe_wait(12, 3) == 600.0           # refused on its score only: the base window
    assert p.probe_wait(8, 4) < p.probe_wait(8, 5) < p.probe_wait(8, 6)   # ×8 per failure past the line
    assert p.probe_wait(8, 5) == pytest.approx(8 * p.probe_wait(8, 4))
    assert p.probe_wait(12, 9) is None            # past the cap: no more probes until the record fades
    assert p.excess_failures(12, 9) > p.settings.probe_cap


def test_log_odds_weigh_a_failure_as_about_nine_successes():
    p = HardenedPolicy()
    assert p.log_odds(0, 0) == 0.0
    assert p.log_odds(9, 1) == pytest.approx(9 * math.log(0.95 / 0.83) - math.log(0.17 / 0.05))
    assert p.log_odds(9, 1) < 0 < p.log_odds(10, 1)


def test_old_record_fades_toward_the_prior():
    t = trainer()
    outcomes(t, "O", "sff", start=0.0)
    d = decide_at(t, 3 * 86_400.0, "O")     # weight 1/8: 3 outcomes count as 0.375
    assert d.accept and d.rule == "faded"
    assert "record faded to 0.38 observations (1 of 3 succeeded, weight 0.13): judged as new" in d.reason


def test_trusted_peer_still_goes_through_complement_and_capacity():
    t = trainer()
    outcomes(t, "B", "sss")
    outcomes(t, "N", "sss")
    for i in range(3):
        t.collaboration_sessions[f"s{i}"] = CollaborationSession(
            f"s{i}", f"r{i}", "responder", "X", "t", "f", 0.0, 100.0)
    d = decide_at(t, 5.0, "B", "cross_specialization")
    assert d.accept and d.rule == "complement" and "storage complements networking" in d.reason
    d = decide_at(t, 5.0, "N", "feature_development")
    assert not d.accept and d.rule == "capacity_full"


def test_decide_is_pure():
    t = trainer()
    outcomes(t, "X", "f")
    ctx = t.request_context("code_review", "X")
    first = t.policy.decide(ctx)
    assert [t.policy.decide(ctx) for _ in range(3)] == [first] * 3
    assert t.book.records["X"].observations == 1


def test_make_policy_names():
    assert make_policy("seed").name == "seed"
    assert make_policy("hardened", {"networking": ["storage"]}).complements.complements("networking", "storage")
    with pytest.raises(ValueError, match="reputation policy must be one of 'seed', 'hardened', 'shared', got 'magic'"):
        make_policy("magic")
    with pytest.raises(ValueError, match="hardened quality must be between 0 and 1"):
        HardenedSettings(quality=1.5)
    with pytest.raises(ValueError, match="hardened bad_rate must be below good_rate"):
        HardenedSettings(bad_rate=0.95)


def test_wilson_bounds():
    lo, hi = wilson_bounds(0, 0, 1.645)
    assert (lo, hi) == (0.0, 1.0)
    lo, hi = wilson_bounds(6, 10, 1.645)
    assert 0.3 < lo < 0.6 < hi < 0.85
    lo1, hi1 = wilson_bounds(60, 100, 1.645)
    assert lo < lo1 < 0.6 < hi1 < hi      # more evidence, narrower interval


def test_stable_until_never_names_a_time_after_the_verdict_changes():
    p = HardenedPolicy()
    t = trainer()
    cases = {"R": "s" * 8 + "ffff", "X": "f", "C": "sf" * 8 + "ssss", "B": "s" * 30 + "fff", "S": "sss"}
    for peer, pattern in cases.items():
        outcomes(t, peer, pattern, start=0.0)
        ctx = t.request_context("code_review", peer)
        verdict = p.decide(ctx)
        until = p.stable_until(ctx)
        assert until > ctx.now or until == ctx.last_time
        # sample times up to ``until``: the verdict holds; it is re-asked afterwards
        horizon = min(until, ctx.now + 10 * 86_400.0)
        for k in range(1, 200):
            at = ctx.now + (horizon - ctx.now) * k / 200
            if at >= until:
                break
            later = p.decide(dataclasses.replace(ctx, now=at))
            assert (later.accept, later.rule) == (verdict.accept, verdict.rule), (peer, at)


def test_stable_until_for_time_independent_verdicts():
    t = trainer()
    ctx = t.request_context("code_review", "stranger")
    assert HardenedPolicy().stable_until(ctx) == math.inf
    assert SeedPolicy().stable_until(ctx) == math.inf
