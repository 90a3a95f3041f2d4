import math
import sys

import pytest

from collab_tui import NetworkedKernelTrainer
from collab_tui.core.engines import make_policy
from collab_tui.sim import cli
from collab_tui.sim.behaviours import RIDER, WHITEWASHER, rider_can_afford_failure
from collab_tui.sim.network import Scenario, run
from collab_tui.sim.report import Case, chart, run_cases
from collab_tui.sim.stats import mean_ci

SMALL = dict(n=30, malicious=0.7, warmup_per_pair=12, measure_per_pair=12)


def test_hardened_refuses_fewer_honest_requests_than_seed_at_70_percent_malicious():
    sc = Scenario(attack="always-fail", **SMALL)
    seed = run(sc, "seed-0.3", 7)
    hard = run(sc, "hardened", 7)
    assert hard["honest_refused"] < seed["honest_refused"]
    assert hard["recovered_within_10"] > seed["recovered_within_10"]


def test_any_engine_beats_none_on_failures():
    sc = Scenario(attack="always-fail", **SMALL)
    none = run(sc, "none", 3)
    assert none["failed_per_accepted"] > 0.5          # 70% of requesters always fail
    for engine in ("seed-0.3", "hardened"):
        assert run(sc, engine, 3)["failed_per_accepted"] < none["failed_per_accepted"] / 2


def test_runs_are_deterministic_per_seed():
    sc = Scenario(attack="camouflage", **SMALL)
    assert run(sc, "hardened", 11) == run(sc, "hardened", 11)
    assert run(sc, "hardened", 11) != run(sc, "hardened", 12)


def test_whitewasher_with_tokens_bound_gets_one_free_failure_per_decider():
    sc = Scenario(attack=WHITEWASHER, **SMALL).with_attack(tokens_bound=True)
    for engine in ("seed-0.3", "hardened"):
        m = run(sc, engine, 5)
        assert m["free_failures"] == 1.0
    free_ids = run(Scenario(attack=WHITEWASHER, **SMALL), "hardened", 5)
    bound = run(sc, "hardened", 5)
    assert free_ids["failed_per_accepted"] > bound["failed_per_accepted"]   # new ids pay off


def test_threshold_rider_fails_only_when_it_stays_acceptable():
    t = NetworkedKernelTrainer("A", policy=make_policy("seed"))
    t.reputation["R"] = 0.8                 # 0.8 -> 0.56 after a failure: still ≥ 0.5
    assert rider_can_afford_failure(t, "R", "general") is True
    t.reputation["R"] = 0.7                 # 0.7 -> 0.49: would be refused
    assert rider_can_afford_failure(t, "R", "general") is False
    assert t.reputation["R"] == 0.7 and "R" not in t.book.records   # asking changed nothing


def test_rider_fails_less_against_hardened_than_against_seed():
    sc = Scenario(attack=RIDER, **SMALL)
    assert run(sc, "hardened", 2)["failed_per_accepted"] < run(sc, "seed-0.3", 2)["failed_per_accepted"]


def test_mean_ci():
    m, hw, n = mean_ci([1.0, 2.0, 3.0, float("nan")])
    assert (m, n) == (2.0, 3) and hw == pytest.approx(4.303 * 1.0 / math.sqrt(3))
    assert math.isnan(mean_ci([5.0])[1])
    assert mean_ci([])[2] == 0


def test_run_cases_collects_every_seed():
    sc = Scenario(attack="always-fail", n=12, malicious=0.5, warmup_per_pair=3, measure_per_pair=3)
    results, cpu = run_cases([Case("x", sc, "seed-0.3")], range(3), jobs=1, progress=False)
    assert len(results[0]["failed_per_accepted"]) == 3 and cpu > 0


def test_cli_prints_a_table(capsys):
    code = cli.main(["--n", "12", "--seeds", "2", "--attacks", "always-fail,whitewasher", "--engines",
                     "seed-0.3,hardened", "--warmup", "3", "--measure", "3", "--jobs", "1", "--no-chart"])
    out = capsys.readouterr().out
    assert code == 0
    assert "failed/accepted" in out and "N=12 70% always-fail" in out and "hardened α0.3" in out
    assert "N=12 70% whitewasher (new id, cost 5)" in out


def test_cli_rejects_bad_flags(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--engines", "magic"])
    assert "unknown engine 'magic'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--malicious", "1.5"])
    assert "expected a number between 0 and 1, got '1.5'" in capsys.readouterr().err


def test_chart_is_skipped_with_a_message_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    notes = []
    assert chart(str(tmp_path / "c.png"), [], [], note=notes.append) is False
    assert notes == ["chart skipped: matplotlib is not installed (pip install matplotlib)"]
    assert not (tmp_path / "c.png").exists()


def test_hardened_forgives_an_honest_outage_that_the_seed_never_does():
    sc = Scenario(attack="camouflage", **SMALL).with_attack(camouflage_success=0.6)
    seed = run(sc, "seed-0.3", 4)
    hard = run(sc, "hardened", 4)
    assert hard["recovered_within_10"] > 0.5 and seed["recovered_within_10"] == 0.0
    assert hard["honest_refused"] < seed["honest_refused"]


def test_rider_models_the_failure_run_it_would_start():
    t = NetworkedKernelTrainer("A", policy=make_policy("hardened"))
    for i, ok in enumerate([True, True, False, False]):
        t._update_reputation("R", ok, "", float(i))
    t.now = 10.0
    assert rider_can_afford_failure(t, "R", "general") is True    # a 3rd failure in a row: an outage run
    t._update_reputation("R", False, "", 10.0)
    assert rider_can_afford_failure(t, "R", "general") is False   # a 4th is judged in full: 2 of 6


def test_kept_refusals_match_fresh_decisions():
    # check_cache re-decides every kept refusal with the real policy and raises on a difference
    for attack in ("always-fail", "camouflage", "on-off", RIDER, WHITEWASHER):
        sc = Scenario(attack=attack, n=24, malicious=0.7, warmup_per_pair=10, measure_per_pair=10)
        for engine in ("seed-0.3", "hardened"):
            assert run(sc, engine, 9, check_cache=True) == run(sc, engine, 9)


def test_second_chance_only_after_a_missed_deadline():
    sc = Scenario(attack=WHITEWASHER, **SMALL).with_attack(tokens_bound=True)
    assert run(sc, "hardened", 5)["failures_per_identity"] == 1.0      # bad deliveries: no second chance
    misses = run(sc.with_attack(attacker_misses_deadlines=True), "hardened", 5)
    assert 1.0 < misses["failures_per_identity"] <= 2.0                  # missed deadlines: one more


def test_trusted_pairs_recover_from_an_outage_within_10_meetings():
    sc = Scenario(attack="camouflage", **SMALL)
    m = run(sc, "hardened", 4)
    assert m["trusted_recovered_within_10"] == 1.0
    assert run(sc, "seed-0.3", 4)["trusted_recovered_within_10"] == 0.0
