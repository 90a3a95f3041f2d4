"""WitnessBook: reporters weighted by how well their reports agreed with our own outcomes."""
import math

import pytest

from collab_tui.core import witness
from collab_tui.core.witness import BAD, GOOD, ReporterModel, WitnessBook


def obs(subject, s, f):
    return (subject, float(s), float(f), None)


def judge(book, record, subject, good, reporters_say):
    """Every reporter in ``reporters_say`` reports on ``subject``; then we see ``good``."""
    for reporter, (s, f) in reporters_say.items():
        book.ingest(reporter, [obs(subject, s, f)], 0.0)
    see(book, record, subject, good)


def own(record):
    """An ``own_counts`` for a WitnessBook from a dict we keep updating (our own record)."""
    return record.get


def see(book, record, subject, success):
    """We meet ``subject`` and see ``success``: our record grows, then the book learns."""
    s, f = record.get(subject, (0, 0))
    record[subject] = (s + 1, f) if success else (s, f + 1)
    book.learn(subject, success)


def test_an_unchecked_reporter_is_believed_only_at_the_prior_and_its_crowd_is_bounded():
    book = WitnessBook("me")
    for r in range(30):                                     # thirty strangers all accuse X of 8 failures
        book.ingest(f"r{r}", [obs("X", 0, 8)], 0.0)
    assert book.weight("r0", BAD) == pytest.approx(1 / (1 + math.exp(1.0)))      # the prior, 0.27
    v = book.view("X")
    assert v.reporters == 30 and v.log_odds == pytest.approx(-witness.CROWD_CAP)   # they can tip, not decide
    assert v.combined >= -witness.WEAK_CAP > -1.5                                 # ...not even with the prior


def test_passed_checks_earn_belief_and_a_caught_claim_takes_it_away():
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    for i in range(6):
        book.ingest("R", [obs(f"cheat{i}", 0, 2), obs(f"ok{i}", 3, 0)], float(i))
        see(book, record, f"cheat{i}", False)
        see(book, record, f"ok{i}", True)
    assert book.weight("R", BAD) > 0.5 and book.weight("R", GOOD) > 0.5
    before = book.weight("R", BAD)
    record["victim"] = (4, 0)                                # it delivered to us four times...
    book.ingest("R", [obs("victim", 0, 8)], 5.0)             # ...and R says it failed eight of eight
    assert book.witnesses["R"].caught == 1
    assert book.weight("R", BAD) < before / 5 and book.weight("R", GOOD) < 0.2   # both kinds pay


def test_colluders_lose_their_belief_as_our_experience_contradicts_them():
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    ring = [f"m{i}" for i in range(5)]
    honest = ["h1", "h2"]
    for i in range(8):
        for r in ring:       # the ring praises attackers and badmouths honest peers
            book.ingest(r, [obs(f"m-friend{i}", 8, 0), obs(f"h-victim{i}", 0, 8)], float(i))
        for h in honest:
            book.ingest(h, [obs(f"m-friend{i}", 0, 1), obs(f"h-victim{i}", 5, 0)], float(i))
        see(book, record, f"m-friend{i}", False)
        see(book, record, f"h-victim{i}", True)
    for r in ring:
        assert book.weight(r, GOOD) < 1e-3 and book.weight(r, BAD) < 1e-3
    for h in honest:
        assert book.weight(h, GOOD) > 0.9 and book.weight(h, BAD) > 0.9
    for r in ring:           # on a newcomer the ring outnumbers the honest reporters 5 to 2 and loses
        book.ingest(r, [obs("newbie", 0, 8)], 9.0)
    for h in honest:
        book.ingest(h, [obs("newbie", 6, 0)], 9.0)
    v = book.view("newbie")
    assert v.reporters == 2 and v.log_odds > 2.0 and v.raw_failures == 0


def test_truthful_praise_earns_a_slanderer_no_belief_in_its_accusations():
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    for i in range(12):
        book.ingest("S", [obs(f"friend{i}", 6, 0)], float(i))     # it praises peers that deliver
        see(book, record, f"friend{i}", True)
    assert book.weight("S", GOOD) > 0.9
    assert book.weight("S", BAD) == pytest.approx(1 / (1 + math.exp(1.0)))   # accusations: still the prior
    praise = book.weight("S", GOOD)
    book.ingest("S", [obs("honest", 0, 8)], 20.0)               # an accusation nobody checked...
    assert book.view("honest").log_odds >= -witness.CROWD_CAP   # ...cannot refuse anyone on its own
    see(book, record, "honest", True)                           # checked: it lied
    assert book.weight("S", BAD) < 0.15 and book.weight("S", GOOD) < praise


def liar_rate(caught, checks):
    """The reporter model's catch rate for liars caught ``caught`` times in ``checks``, with nothing
    else to go on: the default 0.3 counts as ``Q_PSEUDO`` checks."""
    return (caught + witness.Q_PSEUDO * witness.Q_DEFAULT) / (checks + witness.Q_PSEUDO)


def test_a_passed_check_is_worth_more_when_the_liars_we_caught_were_caught_every_time():
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    for kind in (GOOD, BAD):                                      # before data: q = 0.3
        assert book.check_worth(kind) == pytest.approx(math.log(0.98 / 0.7))
    for i in range(10):                                           # blatant liars, caught on every claim
        record[f"s{i}"] = (2, 0)
        for r in range(3):
            book.ingest(f"liar{r}", [obs(f"s{i}", 0, 8)], float(i))
    q = liar_rate(30, 30)
    assert book.liar_catch_rate(BAD) == pytest.approx(q, abs=1e-3) and q > 0.85
    assert book.check_worth(BAD) == pytest.approx(math.log(0.98 / (1 - q)), abs=1e-2)
    assert book.liar_catch_rate(GOOD) == pytest.approx(witness.Q_DEFAULT)   # no praise of theirs checked


def test_liars_caught_on_praise_say_nothing_yet_of_how_often_an_accusation_is_caught():
    # liars caught on every praise, none of their accusations checked yet: a passed accusation is
    # worth what the default says, not what the praise says (one pass does not prove an accuser)
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    for i in range(10):
        record[f"bad{i}"], record[f"ok{i}"] = (0, 2), (2, 0)
        for r in range(3):
            book.ingest(f"liar{r}", [obs(f"bad{i}", 8, 0)], float(i))
            book.ingest(f"honest{r}", [obs(f"ok{i}", 2, 0)], float(i))   # honest reporters praise too
    assert book.population().rare_worth(BAD) is None     # accusations are rare for everyone here
    assert book.liar_catch_rate(GOOD) == pytest.approx(liar_rate(30, 30), abs=1e-3)
    assert book.liar_catch_rate(BAD) == pytest.approx(witness.Q_DEFAULT)
    assert book.check_worth(BAD) == pytest.approx(math.log(0.98 / (1 - witness.Q_DEFAULT)))
    record["x"] = (0, 1)
    book.ingest("accuser", [obs("x", 0, 8)], 20.0)            # true, and checked at once
    assert book.weight("accuser", BAD) < witness.PROVEN
    # once sixteen of those liars' accusations were checked (all caught), a pass is strong evidence
    for i in range(16):
        record[f"good{i}"] = (2, 0)
        book.ingest("liar0", [obs(f"good{i}", 0, 8)], 30.0 + i)
    assert book.liar_catch_rate(BAD) == pytest.approx(liar_rate(16, 16), abs=0.01)   # the accuser: hardly a liar
    record["y"] = (0, 1)
    book.ingest("accuser2", [obs("y", 0, 8)], 40.0)
    assert book.weight("accuser2", BAD) > witness.PROVEN


def test_the_catch_rate_is_learned_per_kind_of_claim():
    # liars that slander (caught every time: our record says the peer is good) and praise bad
    # peers (caught half the time: those peers succeed with us as often as they fail)
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    for i in range(10):
        record[f"good{i}"], record[f"lucky{i}"], record[f"bad{i}"] = (2, 0), (2, 0), (0, 2)
        for r in range(3):
            book.ingest(f"liar{r}", [obs(f"good{i}", 0, 8), obs(f"lucky{i}", 8, 0), obs(f"bad{i}", 8, 0)],
                        float(i))
    # every one of 30 accusations caught, and 30 of 60 praises
    q_bad, q_good = liar_rate(30, 30), liar_rate(30, 60)
    assert book.liar_catch_rate(BAD) == pytest.approx(q_bad, abs=1e-3)     # a passed accusation is
    assert book.check_worth(BAD) == pytest.approx(math.log(0.98 / (1 - q_bad)), abs=1e-2)  # strong
    assert book.liar_catch_rate(GOOD) == pytest.approx(q_good, abs=1e-3)   # a passed praise, weaker
    assert book.check_worth(GOOD) == pytest.approx(math.log(0.98 / (1 - q_good)), abs=1e-2)
    # an honest reporter's two true accusations now count for more than its two true praises
    record["x1"], record["x2"], record["y1"], record["y2"] = (0, 3), (0, 3), (3, 0), (3, 0)
    book.ingest("honest", [obs("x1", 0, 2), obs("x2", 0, 2), obs("y1", 2, 0), obs("y2", 2, 0)], 20.0)
    assert book.weight("honest", BAD) > book.weight("honest", GOOD)
    assert book.population().rare_worth(BAD) is None       # these liars accuse: the kind says nothing


def test_liars_truthful_60_percent_of_the_time_do_not_become_proven_accusers_by_two_true_accusations():
    # such liars are caught on most of their praise (they praise bad peers) and few of their
    # accusations (they accuse bad peers, truly, more often than they slander honest ones): a
    # passed accusation is weak evidence, whatever their praise says
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    for i in range(12):
        record[f"bad{i}"], record[f"bad{i}b"], record[f"bad{i}c"], record[f"ok{i}"] = (0, 2), (0, 2), (0, 2), (2, 0)
        for r in range(4):
            lies = [obs(f"bad{i}", 8, 0), obs(f"bad{i}b", 0, 8), obs(f"bad{i}c", 0, 8)]   # 1 lie, 2 truths
            if i % 4 == r:
                lies.append(obs(f"ok{i}", 0, 8))                                           # now and then, slander
            book.ingest(f"liar{r}", lies, float(i))
    q_bad = book.liar_catch_rate(BAD)
    assert q_bad < 0.3 < 0.85 < book.liar_catch_rate(GOOD)
    record["z1"], record["z2"] = (0, 2), (0, 2)
    book.ingest("liar9", [obs("z1", 0, 8), obs("z2", 0, 8)], 30.0)      # a fresh one, two true accusations
    assert book.weight("liar9", BAD) < witness.PROVEN
    assert book.weight("liar9", BAD) == pytest.approx(
        1 / (1 + math.exp(-(witness.PRIOR + (1 + witness.FORGET) * math.log(0.98 / (1 - q_bad))))), abs=0.02)


def test_an_honest_reporter_caught_once_does_not_make_the_liars_look_careful():
    # the liars are caught on every accusation; an honest reporter with forty passed accusations and
    # one caught (a stale record) is not one of them, and its passes do not dilute their rate
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    for i in range(40):
        record[f"bad{i}"] = (0, 2)
        book.ingest("honest", [obs(f"bad{i}", 0, 3)], float(i))
    record["stale"] = (3, 0)
    book.ingest("honest", [obs("stale", 0, 3)], 41.0)                   # caught once
    for i in range(12):
        record[f"good{i}"] = (2, 0)
        for r in range(2):
            book.ingest(f"liar{r}", [obs(f"good{i}", 0, 8)], 50.0 + i)
    assert book.liar_catch_rate(BAD) == pytest.approx(liar_rate(24, 24), abs=0.02)
    assert book.liar_catch_rate(BAD) > 0.75


def test_the_reporter_model_tells_liars_from_honest_reporters_by_their_catches():
    # 20 honest reporters, caught once in 30 checks (both kinds); 40 ballot-stuffers, praise only,
    # caught 13 times in 30
    honest = [((20, 10), (1, 0))] * 20
    liars = [((30, 0), (13, 0))] * 40
    model = ReporterModel.fit(honest + liars)
    assert model.liars == pytest.approx(41 / 62, abs=1e-3)       # 40 of 60, with one pseudo-reporter each way
    assert model.caught[1][GOOD] == pytest.approx((520 + 8 * 0.3) / (1200 + 8), abs=0.01)
    assert model.caught[0][GOOD] < 0.06 and model.caught[0][BAD] < 0.03
    assert model.share[1][BAD] < 0.01                            # liars hardly ever accuse...
    assert model.rare_worth(BAD) == pytest.approx(witness.WORTH_HIGH)   # ...so a passed accusation is strong
    assert model.rare_worth(GOOD) is None                        # praise is what liars make most
    assert ReporterModel.fit([]).rare_worth(BAD) is None          # before any data: nothing is rare


def test_a_passed_accusation_counts_when_liars_never_accuse():
    # ballot-stuffers praise bad peers that succeed with us about half the time, and accuse nobody;
    # honest reporters praise good peers and accuse bad ones, and are right
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    for i in range(12):
        record[f"good{i}"], record[f"lucky{i}"], record[f"bad{i}"] = (2, 0), (2, 0), (0, 2)
        for r in range(6):
            book.ingest(f"liar{r}", [obs(f"lucky{i}", 8, 0), obs(f"bad{i}", 8, 0)], float(i))
        for r in range(3):
            book.ingest(f"honest{r}", [obs(f"good{i}", 3, 0), obs(f"bad{i}", 0, 2)], float(i))
    by_catch_rate = math.log(0.98 / (1.0 - book.liar_catch_rate(BAD)))
    assert by_catch_rate < 1.0                                   # the liars' catch rate alone: weak
    assert book.check_worth(BAD) == pytest.approx(witness.WORTH_HIGH)   # accusations are not what liars make
    assert book.check_worth(GOOD) == pytest.approx(math.log(0.98 / (1.0 - book.liar_catch_rate(GOOD))))
    # a new honest reporter: one true accusation makes it believed; one true praise does not
    record["x"], record["y"] = (0, 3), (3, 0)
    book.ingest("new", [obs("x", 0, 2), obs("y", 2, 0)], 20.0)
    assert book.weight("new", BAD) > 0.75 > 0.5 > book.weight("new", GOOD)


def test_a_claim_within_the_noise_passes_its_check():
    # an honest reporter that saw a 60% peer fail once, while it succeeded with us once: two honest
    # records of a mixed peer disagree a little; eight failures against four successes do not
    assert witness.consistency(0, 1, 1, 0) > -witness.NOISE
    assert witness.consistency(0, 8, 4, 0) < -witness.NOISE - 3
    assert witness.consistency(0, 3, 0, 2) > 0 and witness.consistency(5, 0, 3, 0) > 0


def test_how_strangers_turned_out_sets_the_prior_for_a_stranger():
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    assert book.stranger_prior() == pytest.approx(math.log(0.3 / 0.7), abs=0.05)
    for i in range(20):
        see(book, record, f"bad{i}", False)                      # first meetings that failed
    assert book.stranger_prior() == pytest.approx(math.log(0.2 / 0.8))           # the floor
    for i in range(200):
        see(book, record, f"good{i}", True)
    assert book.stranger_prior() == 0.0                          # never above neutral


def test_reports_about_ourselves_and_by_a_reporter_about_itself_are_ignored():
    book = WitnessBook("me")
    assert book.ingest("R", [obs("me", 9, 0), obs("R", 9, 0), obs("X", 1, 0)], 0.0) == 1
    assert book.ingest("me", [obs("X", 1, 0)], 0.0) == 0
    assert set(book.by_subject) == {"X"}


def test_a_reporter_below_our_threshold_as_a_collaborator_counts_for_nothing():
    scores = {"R": 0.2}
    record = {}
    book = WitnessBook("me", collaborator_score=scores.get, own_counts=own(record))
    for i in range(6):
        judge(book, record, f"bad{i}", False, {"R": (0, 2)})
        judge(book, record, f"ok{i}", True, {"R": (2, 0)})
    assert book.weight("R", BAD) == 0.0 and book.weight("R", GOOD) == 0.0
    scores["R"] = 0.9                                  # ...but a good collaborator earns nothing by it
    assert 0.0 < book.weight("R", BAD) < 1.0


def test_a_pinned_reporter_weighs_one_from_the_start():
    book = WitnessBook("me", trusted=["T", "me"])
    assert book.trusted == {"T"}                        # we never pin ourselves
    book.ingest("T", [obs("X", 0, 2)], 0.0)
    v = book.view("X", rows=True)
    assert v.reporters == 1 and v.raw_failures == 2.0 and v.log_odds < -4.0      # two failures, believed fully
    assert v.rows[0].pinned and v.rows[0].weight == 1.0
    book.set_trusted([])
    assert book.weight("T", BAD) < 0.3 and book.view("X").log_odds >= -witness.CROWD_CAP


def test_a_report_is_judged_against_what_we_already_saw_when_it_arrives():
    mine = {"X": (0, 2)}
    book = WitnessBook("me", own_counts=mine.get)
    book.ingest("R", [obs("X", 0, 4)], 0.0)
    assert book.witnesses["R"].agree[BAD] == 1.0
    book.learn("X", False)                                # one report, one judgement
    assert book.witnesses["R"].agree[BAD] == 1.0
    book.ingest("R", [obs("X", 0, 4)], 1.0)               # the same claim again: still judged once
    assert book.witnesses["R"].checks == 1


def test_one_claim_counts_at_most_the_cap_however_many_outcomes_it_claims():
    book = WitnessBook("me", trusted=["T"])
    book.ingest("T", [obs("X", 0, 1_000_000)], 0.0)
    book.ingest("T", [obs("Y", 0, witness.CLAIM_CAP)], 0.0)
    assert book.view("X").log_odds == pytest.approx(book.view("Y").log_odds)
    assert witness.capped(30, 10) == (6.0, 2.0)               # scaled to eight outcomes, its rate kept


def test_caps_drop_the_oldest_first():
    book = WitnessBook("me", max_subjects=3, max_reporters_per_subject=2, max_reporters=3, trusted=["P"])
    book.ingest("R", [obs(f"s{i}", 1, 0) for i in range(5)], 0.0)
    assert list(book.witnesses["R"].reports) == ["s2", "s3", "s4"]
    assert "s0" not in book.by_subject
    book.ingest("A", [obs("s4", 1, 0)], 1.0)
    book.ingest("B", [obs("s4", 1, 0)], 2.0)
    assert list(book.by_subject["s4"]) == ["A", "B"]         # R, the oldest, dropped for s4
    assert "s4" not in book.witnesses["R"].reports
    book.ingest("P", [obs("s9", 1, 0)], 3.0)
    book.ingest("C", [obs("s9", 1, 0)], 4.0)
    assert "P" in book.witnesses and len(book.witnesses) == 3  # pinned kept, least recently heard dropped
    assert sum(len(w.reports) for w in book.witnesses.values()) == book.report_count()


def test_asking_prefers_pinned_then_proven_witnesses_and_explores_the_rest():
    record = {}
    book = WitnessBook("me", trusted=["P"], own_counts=own(record))
    for i in range(8):
        judge(book, record, f"bad{i}", False, {"good": (0, 2), "liar": (5, 0)})
        judge(book, record, f"ok{i}", True, {"good": (4, 0), "liar": (0, 5)})
    candidates = ["P", "good", "liar", "u1", "u2", "u3", "subject"]
    chosen = book.best_reporters(candidates, 4, 2, subject="subject", now=100.0)
    assert chosen[:2] == ["P", "good"]
    assert "liar" not in chosen and "subject" not in chosen and len(chosen) == 4
    assert book.best_reporters(candidates, 4, 2, subject="subject", allowed={"good", "u1"}, now=100.0) \
        == ["good", "u1"]


def test_believed_reporters_that_know_the_subject_are_asked_first():
    record = {}
    book = WitnessBook("me", own_counts=own(record), trusted=["P"])
    for i in range(6):                                            # three truthful reporters, judged
        judge(book, record, f"bad{i}", False, {"a": (0, 2), "b": (0, 2), "c": (0, 2), "liar": (5, 0)})
    book.ingest("c", [obs("subject", 3, 0)], 50.0)                # only c has met the subject
    book.ingest("liar", [obs("subject", 0, 5)], 50.0)             # a liar claims to know everyone
    candidates = ["P", "a", "b", "c", "liar"]
    ranked = book.best_reporters(candidates, 5, 0, now=100.0)
    assert ranked[0] == "P" and ranked.index("c") > 1              # by belief alone, c is not first
    chosen = book.best_reporters(candidates, 2, 0, subject="subject", now=100.0)
    assert chosen == ["P", "c"]                                   # pinned, then the one that knows it
    assert "liar" not in book.best_reporters(candidates, 4, 0, subject="subject", now=100.0)


def test_the_total_of_reports_is_bounded_a_fair_share_the_longest_keeper_trimmed_first():
    book = WitnessBook("me", max_reports=20, trusted=["P"])
    book.ingest("P", [obs(f"p{i}", 1, 0) for i in range(4)], 0.0)
    book.ingest("flood", [obs(f"f{i}", 8, 0) for i in range(16)], 1.0)    # one long broadcast
    assert book.report_count() == 20
    for r in range(3):                                                  # then three short ones
        book.ingest(f"r{r}", [obs(f"s{r}-{i}", 1, 0) for i in range(2)], 2.0 + r)
    assert book.report_count() == 20 == sum(len(w.reports) for w in book.witnesses.values())
    assert len(book.witnesses["P"].reports) == 4                       # pinned kept
    assert all(len(book.witnesses[f"r{r}"].reports) == 2 for r in range(3))   # the few fresh records kept
    assert list(book.witnesses["flood"].reports) == [f"f{i}" for i in range(6, 16)]   # its oldest went
    # among reporters keeping as many, the least recently heard loses first
    for r in range(3, 8):
        book.ingest(f"r{r}", [obs(f"s{r}-{i}", 1, 0) for i in range(2)], 10.0 + r)
    assert book.report_count() == 20              # the flood trimmed to 2, then 22 with r7: flood and r0 lose one
    assert list(book.witnesses["flood"].reports) == ["f15"]
    assert [len(book.witnesses[f"r{r}"].reports) for r in range(8)] == [1, 2, 2, 2, 2, 2, 2, 2]
    assert all(book.by_subject.get(s) for w in book.witnesses.values() for s in w.reports)
    assert sum(len(ix) for ix in book.by_subject.values()) == 20


def test_a_flood_of_claims_never_pushes_out_what_a_proven_reporter_said():
    record = {}
    book = WitnessBook("me", own_counts=own(record), max_reporters_per_subject=4, max_reports=40)
    for i in range(6):                                            # "honest" is proven: its accusations pass
        judge(book, record, f"bad{i}", False, {"honest": (0, 2)})
    book.ingest("honest", [obs("X", 0, 3)], 10.0)
    for r in range(20):                                           # then twenty strangers praise X, one by one
        book.ingest(f"liar{r}", [obs("X", 8, 0)], 11.0 + r)
    assert book.is_proven("honest") and not book.is_proven("liar0")
    assert list(book.by_subject["X"]) == ["honest", "liar17", "liar18", "liar19"]  # the oldest strangers went
    rows = {row.reporter: row for row in book.view("X", rows=True).rows}
    assert rows["honest"].failures == 3 and rows["honest"].weight >= witness.PROVEN   # its accusation counts
    for r in range(20):                                           # over the total: strangers' reports go first
        book.ingest(f"flood{r}", [obs(f"s{r}-{i}", 8, 0) for i in range(4)], 40.0 + r)
    assert book.report_count() <= 40
    assert "X" in book.witnesses["honest"].reports and "bad5" in book.witnesses["honest"].reports
    # when every reporter of a subject is proven, the oldest goes, as before
    all_proven = WitnessBook("me", own_counts=own(record), max_reporters_per_subject=2, trusted=["P", "Q", "R"])
    for r, at in (("P", 1.0), ("Q", 2.0), ("R", 3.0)):
        all_proven.ingest(r, [obs("Y", 0, 2)], at)
    assert list(all_proven.by_subject["Y"]) == ["Q", "R"]


def caught_ring_and_proven_witnesses(book, record, ring=("m1", "m2", "m3"), honest=("h1", "h2")):
    """A ring of colluders we caught lying (they praise attackers and slander honest peers we met)
    and two honest reporters our own checks proved, all of whom also spoke of ten peers we never met."""
    for i in range(6):
        for r in ring:
            book.ingest(r, [obs(f"bad{i}", 8, 0), obs(f"good{i}", 0, 8)], float(i))
        for h in honest:
            book.ingest(h, [obs(f"bad{i}", 0, 2), obs(f"good{i}", 3, 0)], float(i))
        see(book, record, f"bad{i}", False)
        see(book, record, f"good{i}", True)
    for i in range(10):                     # peers we never met: attackers the ring praises and the witnesses
        for r in ring:                      # accuse, honest peers the ring slanders and the witnesses praise
            book.ingest(r, [obs(f"far{i}", 8, 0), obs(f"farh{i}", 0, 8)], 10.0)
        for h in honest:
            book.ingest(h, [obs(f"far{i}", 0, 1), obs(f"farh{i}", 2, 0)], 10.0)
        book.view(f"far{i}")
        book.view(f"farh{i}")


def test_a_reporter_that_contradicts_the_liars_we_caught_is_believed_before_we_share_a_peer_with_it():
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    caught_ring_and_proven_witnesses(book, record)
    contra, agree = book.against_worth()
    assert contra > 2.0 and agree < 0.0       # the proven witnesses contradicted them; the liars never each other
    for r in ("m1", "m2", "m3"):              # the ring praising a stranger ...
        book.ingest(r, [obs("stranger", 8, 0)], 20.0)
    book.ingest("new", [obs("stranger", 0, 1)], 20.0)   # ... a reporter we never checked once accuses it
    assert book.judged("new") == 0
    v = book.view("stranger")
    assert book.weight("new", BAD) > witness.PROVEN     # it contradicted the caught liars: believed
    assert book.weight("new", GOOD) < witness.PROVEN    # in accusations only
    assert v.proven < -1.5                              # one failure from a believed witness counts
    row = next(r for r in book.view("stranger", rows=True).rows if r.reporter == "new")
    assert row.against == (1, 1) and row.accuracy == 0.5     # for the details view: no own check yet

    fresh = WitnessBook("me")                            # without caught liars the same claim is the prior's
    fresh.ingest("new", [obs("stranger", 0, 1)], 20.0)
    fresh.view("stranger")
    assert fresh.weight("new", BAD) == pytest.approx(1 / (1 + math.exp(1.0)))


def test_agreeing_with_the_liars_we_caught_costs_belief_each_accusation_is_checked_once_praise_never():
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    caught_ring_and_proven_witnesses(book, record)
    prior = 1 / (1 + math.exp(1.0))
    for r in ("m1", "m2", "m3"):
        book.ingest(r, [obs("victim", 0, 8), obs("friend", 8, 0)], 20.0)
    book.ingest("echo", [obs("victim", 0, 8)], 20.0)    # slanders whom the ring slanders
    book.ingest("fan", [obs("friend", 8, 0)], 20.0)     # praises whom the ring praises
    for _ in range(3):
        book.view("victim")
        book.view("friend")
    assert book.witnesses["echo"].against == [1, 0]     # checked once, agreed
    assert book.weight("echo", BAD) < prior             # below the prior
    assert book.witnesses["fan"].against == [0, 0]      # praise is not checked this way
    assert book.weight("fan", GOOD) == pytest.approx(prior)


def test_liars_that_disagree_among_themselves_are_no_consensus_to_contradict():
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    caught_ring_and_proven_witnesses(book, record)
    book.ingest("m1", [obs("split", 8, 0)], 20.0)
    book.ingest("m2", [obs("split", 0, 8)], 20.0)
    book.ingest("new", [obs("split", 0, 1)], 20.0)
    book.view("split")
    assert book.witnesses["new"].against == [0, 0]
    assert book.weight("new", BAD) == pytest.approx(1 / (1 + math.exp(1.0)))


def test_a_caught_liar_is_checked_against_the_other_liars_never_against_itself():
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    caught_ring_and_proven_witnesses(book, record)
    book.ingest("m1", [obs("alone", 0, 8)], 20.0)      # one caught liar speaks of it: nobody to check against
    book.view("alone")
    assert book.witnesses["m1"].against == [10, 0]     # only the ten honest peers the ring slandered together
    record["met"] = (1, 0)                              # a peer we met: our own check, not this one
    for r in ("m1", "m2"):
        book.ingest(r, [obs("met", 0, 8)], 21.0)
    book.ingest("new", [obs("met", 0, 1)], 21.0)
    book.view("met")
    assert book.witnesses["new"].against == [0, 0]


def test_what_the_caught_liars_agree_on_about_a_stranger_is_weighed_by_how_such_strangers_turned_out():
    """Colluders praise each other: at a large network's cold start the liars we caught name the
    attackers we were never told of. Their agreement is evidence as far as our own first meetings
    say: the log likelihood ratio of it between strangers that delivered and strangers that failed."""
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    ring = ("m1", "m2", "m3")
    caught_ring_and_proven_witnesses(book, record, ring)
    before = [list(m) for m in book.first_meetings]
    for i in range(6):                   # strangers the caught ring praises fail us, those it slanders deliver
        for r in ring:
            book.ingest(r, [obs(f"praised{i}", 8, 0), obs(f"slandered{i}", 0, 8)], 30.0 + i)
        see(book, record, f"praised{i}", False)
        see(book, record, f"slandered{i}", True)
    assert book.first_meetings[GOOD][1] == before[GOOD][1] + 6
    assert book.first_meetings[BAD][0] == before[BAD][0] + 6
    assert book.agreement_worth(GOOD) < -1.0 < 1.0 < book.agreement_worth(BAD)
    assert -witness.AGREE_HIGH <= book.agreement_worth(GOOD) and book.agreement_worth(BAD) <= witness.AGREE_HIGH

    for r in ring:
        book.ingest(r, [obs("next", 8, 0)], 40.0)
    v = book.view("next")                # nobody we believe said anything; the caught liars agree
    assert v.reporters == 0 and not v.empty and v.score is None
    assert v.agreed == GOOD and v.agreement == pytest.approx(book.agreement_worth(GOOD))
    assert v.combined == pytest.approx(book.stranger_prior() + v.agreement)
    assert v.proven == 0.0                                        # the probe's measure leaves it out
    assert v.describe().endswith(f"the liars we caught all praise it ({v.agreement:+.1f})")

    book.ingest("m1", [obs("lone", 8, 0)], 41.0)                  # one caught liar is no agreement
    book.ingest("m1", [obs("split", 8, 0)], 41.0)                 # nor are two that disagree
    book.ingest("m2", [obs("split", 0, 8)], 41.0)
    for subject in ("lone", "split"):
        assert book.view(subject).agreed is None and book.view(subject).empty
    record["met"] = (1, 0)                                        # a peer we met: our record, not theirs
    for r in ring:
        book.ingest(r, [obs("met", 8, 0)], 42.0)
    assert book.view("met").agreed is None


def test_the_caught_liars_agreement_is_neutral_until_first_meetings_tell_it_apart():
    book = WitnessBook("me")
    assert book.agreement_worth(GOOD) == 0.0 and book.agreement_worth(BAD) == 0.0
    book.first_meetings = [[5.0, 5.0], [0.0, 0.0], [5.0, 5.0]]     # praised strangers as good as the rest
    assert book.agreement_worth(GOOD) == pytest.approx(0.0)


def test_praise_from_a_witness_we_believe_as_an_accuser_marks_a_stranger_contested():
    """A framing ring's accomplices are believed as accusers on a few passed checks, and slander
    honest peers that honest witnesses praise: when a reporter we believe as an accuser praises a
    stranger others accuse, our witnesses disagree (``contested``, which the decision may probe)."""
    record = {}
    book = WitnessBook("me", own_counts=own(record))
    caught_ring_and_proven_witnesses(book, record)
    assert book.weight("h1", BAD) >= witness.PROVEN and book.weight("h2", BAD) >= witness.PROVEN
    for h in ("h1", "h2"):
        book.ingest(h, [obs("framed", 3, 0)], 20.0)
    book.ingest("m1", [obs("framed", 8, 0)], 20.0)                # a caught liar's praise does not count
    book.ingest("nobody", [obs("framed", 8, 0)], 20.0)            # nor does praise from one we never checked
    book.ingest("accuser", [obs("framed", 0, 8)], 20.0)
    assert book.view("framed").contested == 2
    book.ingest("h1", [obs("accused", 0, 2)], 21.0)               # an accusation is no vouching
    assert book.view("accused").contested == 0
    record["framed"] = (1, 0)                                     # once met, our own record speaks
    assert book.view("framed").contested == 0
