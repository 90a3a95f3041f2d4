"""WitnessBook: reporters weighted by how well their reports agreed with our own outcomes."""
import pytest

from collab_tui.core.witness import BAD, GOOD, WitnessBook


def obs(subject, s, f):
    return (subject, float(s), float(f), None)


def judge(book, subject, good, reporters_say):
    """Every reporter in ``reporters_say`` reports on ``subject``; then we see ``good``."""
    for reporter, (s, f) in reporters_say.items():
        book.ingest(reporter, [obs(subject, s, f)], 0.0)
    book.learn(subject, good)


def test_a_reporter_gains_weight_only_after_its_reports_proved_right():
    book = WitnessBook("me")
    book.ingest("R", [obs("X", 0, 3)], 0.0)
    assert book.view("X").empty                       # an unknown reporter counts for nothing
    for i in range(6):
        judge(book, f"bad{i}", False, {"R": (0, 2)})  # it said bad, and they failed us
    # ...which a reporter accusing everyone would also have done: it has told us little yet
    assert book.weight("R", BAD) < 0.2
    for i in range(10):
        judge(book, f"good{i}", True, {"R": (4, 0)})  # it praised these, and they delivered
        judge(book, f"cheat{i}", False, {"R": (0, 2)})
    assert book.weight("R", BAD) > 0.5 and book.weight("R", GOOD) > 0.5
    v = book.view("X")
    assert v.reporters == 1 and v.log_odds < -1.5
    assert v.describe().startswith("reports: 0 ✓ / 3 ✗ from 1 reporter (accuracy ≥ 0.9")


def test_colluders_lose_their_weight_as_our_experience_contradicts_them():
    book = WitnessBook("me")
    ring = [f"m{i}" for i in range(5)]
    honest = ["h1", "h2"]
    for i in range(8):
        # the ring praises an attacker that then fails us, and badmouths an honest peer that delivers
        judge(book, f"m-friend{i}", False, {**{r: (8, 0) for r in ring}, **{h: (0, 1) for h in honest}})
        judge(book, f"h-victim{i}", True, {**{r: (0, 8) for r in ring}, **{h: (5, 0) for h in honest}})
    for r in ring:
        assert book.weight(r, GOOD) == 0.0 and book.weight(r, BAD) == 0.0
    for h in honest:
        assert book.weight(h, GOOD) > 0.5 and book.weight(h, BAD) > 0.5
    # on a new subject the ring outnumbers the honest reporters 5 to 2 and still does not count
    for r in ring:
        book.ingest(r, [obs("newbie", 0, 8)], 1.0)
    for h in honest:
        book.ingest(h, [obs("newbie", 6, 0)], 1.0)
    v = book.view("newbie")
    assert v.reporters == 2 and v.log_odds > 2.0 and v.raw_failures == 0


def test_a_slanderer_is_believed_when_it_praises_and_not_when_it_accuses():
    # each kind of claim is judged apart: its praise proves right, its accusations too often wrong
    book = WitnessBook("me")
    for i in range(12):
        judge(book, f"good{i}", True, {"S": (6, 0)})          # right when it praises
        if i % 3 == 0:
            judge(book, f"victim{i}", True, {"S": (0, 6)})    # wrong when it accuses honest peers...
        if i % 3 != 2:
            judge(book, f"cheat{i}", False, {"S": (0, 6)})    # ...though right about real cheats
    assert book.weight("S", GOOD) > 0.4
    assert book.weight("S", BAD) == 0.0
    book.ingest("S", [obs("honest", 0, 8)], 2.0)
    assert book.view("honest").empty


def test_reports_about_ourselves_and_by_a_reporter_about_itself_are_ignored():
    book = WitnessBook("me")
    assert book.ingest("R", [obs("me", 9, 0), obs("R", 9, 0), obs("X", 1, 0)], 0.0) == 1
    assert book.ingest("me", [obs("X", 1, 0)], 0.0) == 0
    assert set(book.by_subject) == {"X"}


def test_a_reporter_below_our_threshold_as_a_collaborator_counts_for_nothing():
    scores = {"R": 0.2}
    book = WitnessBook("me", collaborator_score=scores.get)
    for i in range(6):
        judge(book, f"bad{i}", False, {"R": (0, 2)})
        judge(book, f"ok{i}", True, {"R": (2, 0)})
    assert book.weight("R", BAD) == 0.0 and book.weight("R", GOOD) == 0.0
    scores["R"] = 0.9                                  # ...but a good collaborator earns nothing by it
    assert 0.0 < book.weight("R", BAD) < 1.0


def test_a_pinned_reporter_weighs_one_from_the_start():
    book = WitnessBook("me", trusted=["T", "me"])
    assert book.trusted == {"T"}                        # we never pin ourselves
    book.ingest("T", [obs("X", 0, 2)], 0.0)
    v = book.view("X", rows=True)
    assert v.reporters == 1 and v.raw_failures == 2.0 and v.log_odds == -3.0
    assert v.rows[0].pinned and v.rows[0].weight == 1.0
    book.set_trusted([])
    assert book.view("X").empty


def test_a_report_is_judged_against_what_we_already_saw_when_it_arrives():
    mine = {"X": (0, 2)}
    book = WitnessBook("me", own_counts=mine.get)
    book.ingest("R", [obs("X", 0, 4)], 0.0)
    assert book.witnesses["R"].agree[BAD] == 1.0
    book.learn("X", False)                                # one report, one judgement
    assert book.witnesses["R"].agree[BAD] == 1.0


def test_one_claim_weighs_at_most_the_cap_however_many_outcomes_it_claims():
    book = WitnessBook("me", trusted=["T"])
    book.ingest("T", [obs("X", 0, 1_000_000)], 0.0)
    assert book.view("X").log_odds == pytest.approx(-3.0)
    book.ingest("T", [obs("Y", 0, 1)], 0.0)
    assert book.view("Y").log_odds == pytest.approx(-1.5)     # one outcome: half a claim


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
    book = WitnessBook("me", trusted=["P"])
    for i in range(8):
        judge(book, f"bad{i}", False, {"good": (0, 2), "liar": (5, 0)})
        judge(book, f"ok{i}", True, {"good": (4, 0), "liar": (0, 5)})
    candidates = ["P", "good", "liar", "u1", "u2", "u3", "subject"]
    chosen = book.best_reporters(candidates, 4, 2, subject="subject", now=100.0)
    assert chosen[:2] == ["P", "good"]
    assert "liar" not in chosen and "subject" not in chosen and len(chosen) == 4
    assert book.best_reporters(candidates, 4, 2, subject="subject", allowed={"good", "u1"}, now=100.0) \
        == ["good", "u1"]


def test_the_total_of_reports_is_bounded_oldest_of_the_least_recently_heard_first():
    book = WitnessBook("me", max_reports=10, trusted=["P"])
    book.ingest("P", [obs(f"p{i}", 1, 0) for i in range(4)], 0.0)
    for r in range(5):
        book.ingest(f"r{r}", [obs(f"s{r}-{i}", 1, 0) for i in range(4)], float(r + 1))
    assert book.report_count() == 10 == sum(len(w.reports) for w in book.witnesses.values())
    assert len(book.witnesses["P"].reports) == 4                       # pinned kept
    assert len(book.witnesses["r4"].reports) == 4 and not book.witnesses["r0"].reports
    assert all(book.by_subject.get(s) for w in book.witnesses.values() for s in w.reports)
    assert sum(len(ix) for ix in book.by_subject.values()) == 10
