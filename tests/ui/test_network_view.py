"""What the network says (shared evidence, issue 11) in the TUI: the Reputation table's
"Network says" column beside our own bar, sorting by it, the details view's reporters, and
reasons decided by reports in the Requests table. A real runner fed with real frames."""
from __future__ import annotations

from collab_tui.core import reports as rp
from collab_tui.core.engines import make_policy
from collab_tui.ui.screens.details import DetailsScreen

from .conftest import settle, started
from .scenario import frame, make_runner, request_from, sent_frames

SIZE = (160, 48)
PINNED = ["AI_Node_2", "AI_Node_3"]


def report(runner, reporter: str, observations: list[tuple[str, int, int]], query_id: str | None = None) -> None:
    runner.feed(frame(rp.REPUTATION_REPORT, reporter, {
        "query_id": query_id,
        "observations": [{"subject": s, "successes": ok, "failures": bad, "last_outcome_at": 1.0}
                         for s, ok, bad in observations]}))


def shared_runner(clock, **trainer_kwargs):
    return make_runner(clock, trainer_kwargs={"policy": make_policy("shared"), "trusted_reporters": PINNED,
                                              **trainer_kwargs})


async def open_mallory_details(app, pilot, clock, unbelieved: str) -> DetailsScreen:
    """A pinned reporter and ``unbelieved`` (unasked, contradicted) tell of Mallory; open her details."""
    await started(pilot, clock)
    report(app.runner, "AI_Node_2", [("Mallory", 0, 9)])
    report(app.runner, unbelieved, [("Mallory", 5, 0)])
    app.main.tick()
    table = app.main.reputation
    table.focus()
    table.select_key("Mallory")
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, DetailsScreen))
    return app.screen


def net_text(app, peer: str) -> str:
    return app.main.reputation.get_cell(peer, "net").plain


async def test_the_network_column_shows_what_believed_reporters_say(make_app, clock):
    app = make_app(runner=shared_runner(clock))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        table = app.main.reputation
        assert "net" in table.visible_columns()
        assert net_text(app, "Mallory") == "—"                      # nobody has said anything yet
        report(app.runner, "AI_Node_2", [("Mallory", 0, 9), ("Flaky_7", 6, 0)])
        report(app.runner, "AI_Node_3", [("Mallory", 0, 4)])
        app.main.tick()                                           # reports carry no row event
        mallory = table.get_cell("Mallory", "net")
        assert mallory.plain.endswith(" · 2") and " net 0." in mallory.plain
        assert mallory.plain.startswith("▒") or mallory.plain.startswith("·")     # below the threshold
        assert table.palette.error in mallory.style
        flaky = table.get_cell("Flaky_7", "net")
        assert flaky.plain.startswith("█") and flaky.plain.endswith(" · 1") and table.palette.success in flaky.style
        assert net_text(app, "AI_Node_3") == "—"
        await settle(pilot, lambda: any(" net " in line for line in table.lines_shown()))
        # sortable by the network's view: nobody-said first, then lowest to highest
        table.sort_by("net")
        order = table.ordered_keys()
        assert order.index("Mallory") < order.index("Flaky_7")
        assert all(net_text(app, p) == "—" for p in order[:order.index("Mallory")])
        table.sort_by("net")                                      # again: reversed
        assert table.ordered_keys()[0] == "Flaky_7"
        assert "Network says ▼" in next(iter(table.lines_shown()))


async def test_a_reporter_not_believed_is_heard_but_does_not_count(make_app, clock):
    """An unpinned reporter nobody has judged yet: its claim is listed, the column stays '—'."""
    app = make_app(runner=shared_runner(clock))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        report(app.runner, "Flaky_7", [("AI_Node_3", 0, 7)])
        app.main.tick()
        assert net_text(app, "AI_Node_3") == "—"


async def test_peer_details_list_each_reporter_with_accuracy_weight_and_claim(make_app, clock):
    app = make_app(runner=shared_runner(clock))
    async with app.run_test(size=SIZE) as pilot:
        body = (await open_mallory_details(app, pilot, clock, "Evil\x1b[31m\x07")).body.plain
        assert "what the network says" in body
        assert "from 1 reporter" in body                              # the pinned one counted
        line = next(line for line in body.splitlines() if line.strip().startswith("AI_Node_2"))
        assert "said 0 ✓ / 9 ✗ · accuracy 1.00 · weight 1.00 · pinned" in line
        evil = next(line for line in body.splitlines() if line.strip().startswith("Evil"))
        assert "said 5 ✓ / 0 ✗" in evil and "weight 0.0" in evil and "pinned" not in evil   # caught: its claim contradicts
        assert evil.endswith("unasked: not counted until believed")      # a broadcast, not an answer
        assert "unasked" not in line
        assert "\x1b" not in body and "\x07" not in body                # through peer_text


async def test_a_long_value_wraps_under_itself_at_80_columns(make_app, clock):
    """The details view is a grid: a reporter's row too long for 80 columns goes on under its
    value, never under the labels (what an operator reads down the left edge)."""
    app = make_app(runner=shared_runner(clock))
    async with app.run_test(size=(80, 24)) as pilot:
        details = await open_mallory_details(app, pilot, clock, "Flaky_7")   # its row is the long one
        static = details.query_one("#details-body Static")
        await settle(pilot, lambda: static.size.width > 0)
        width = static.size.width
        assert width < 80
        lines = ["".join(seg.text for seg in strip) for strip in static.render_lines(static.size.region)]
        start = next(i for i, line in enumerate(lines) if "said 5 ✓" in line)
        column = lines[start].index("said 5 ✓")
        rest = lines[start + 1:]
        wrapped = rest[:next((i for i, line in enumerate(rest) if not line[:column].isspace()), len(rest))]
        assert wrapped and wrapped[-1].rstrip().endswith("believed")    # it did wrap, and all of it is here
        for line in wrapped:
            assert line[:column].isspace() and not line[column].isspace()
        assert all(len(line) <= width for line in lines)


async def test_details_say_when_nothing_counted(make_app, clock):
    app = make_app(runner=shared_runner(clock))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        table = app.main.reputation
        table.focus()
        table.select_key("Flaky_7")
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, DetailsScreen))
        assert "nothing counted yet: no reporter has told us of it" in app.screen.body.plain


async def test_a_reason_decided_by_reports_shows_in_the_reason_column(make_app, clock):
    """A stranger asks; the trainer queries its pinned reporters, their answers decide, and the
    Requests row's Reason says so (the core's 'reports: …' text)."""
    app = make_app(runner=shared_runner(clock))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        before = len(sent_frames(app.runner))
        key = request_from(app.runner, "Mallory_2", "req-s1")
        queries = [f for f in sent_frames(app.runner)[before:] if f["type"] == rp.REPUTATION_QUERY]
        assert {q["recipient_id"] for q in queries} >= set(PINNED)
        for q in queries:
            bad = [("Mallory_2", 0, 5)] if q["recipient_id"] in PINNED else []
            report(app.runner, q["recipient_id"], bad, query_id=q["payload"]["query_id"])
        decision = app.runner.trainer.incoming[key].decision
        assert decision.reason.startswith("reports: 0 ✓ / 10 ✗ from 2 reporters"), decision.reason
        requests = app.main.requests
        await settle(pilot, lambda: "in:" + key in requests.rows)
        assert requests.get_cell("in:" + key, "reason").plain.startswith("reports: 0 ✓ / 10 ✗ from 2 reporters")


def test_an_accusers_row_says_how_often_it_contradicted_the_caught_liars():
    """The weight of a reporter we never checked can come from contradicting the liars we caught
    (core/witness.py): its row says so, or "accuracy 0.50 · weight 0.9" would be a riddle."""
    from types import SimpleNamespace

    from collab_tui.core.witness import WitnessBook
    from collab_tui.ui.details_text import Details, network_into
    record = {}
    book = WitnessBook("me", own_counts=record.get)
    for i in range(6):                       # a ring caught lying, two witnesses proven
        for r in ("m1", "m2", "m3"):
            book.ingest(r, [(f"bad{i}", 8.0, 0.0, None), (f"good{i}", 0.0, 8.0, None)], float(i))
        for h in ("h1", "h2"):
            book.ingest(h, [(f"bad{i}", 0.0, 2.0, None), (f"good{i}", 3.0, 0.0, None)], float(i))
        record[f"bad{i}"], record[f"good{i}"] = (0, 1), (1, 0)
        book.learn(f"bad{i}", False)
        book.learn(f"good{i}", True)
    for i in range(10):
        for r in ("m1", "m2", "m3"):
            book.ingest(r, [(f"far{i}", 0.0, 8.0, None)], 10.0)
        for h in ("h1", "h2"):
            book.ingest(h, [(f"far{i}", 3.0, 0.0, None)], 10.0)
        book.ingest("h1", [(f"farbad{i}", 0.0, 1.0, None)], 10.0)
        for r in ("m1", "m2", "m3"):
            book.ingest(r, [(f"farbad{i}", 8.0, 0.0, None)], 10.0)
        book.view(f"far{i}")
        book.view(f"farbad{i}")
    for r in ("m1", "m2", "m3"):
        book.ingest(r, [("Mallory", 8.0, 0.0, None)], 20.0)
    book.ingest("Newbie", [("Mallory", 0.0, 1.0, None)], 20.0)
    body = Details()
    network_into(body, SimpleNamespace(network_view=lambda p: book.view(p, rows=True), trust_threshold=0.5),
                 "Mallory")
    line = next(x for x in body.plain.splitlines() if x.strip().startswith("Newbie"))
    assert "said 0 ✓ / 1 ✗ · accuracy 0.50" in line and line.endswith("contradicted the caught liars 1 of 1")
    ring = next(x for x in body.plain.splitlines() if x.strip().startswith("m1"))
    assert "contradicted" not in ring                        # praise: not checked this way


def test_details_of_a_stranger_say_what_the_caught_liars_agree_it_is():
    """A peer nobody we believe has spoken of can still be refused on what the liars we caught
    all say of it (core/witness.py, ``agreement_worth``): the details view says so, with its worth."""
    from types import SimpleNamespace

    from collab_tui.core.witness import BAD, GOOD, NetworkView
    from collab_tui.ui.details_text import Details, network_into
    for agreed, word in ((GOOD, "praise"), (BAD, "accuse")):
        body = Details()
        view = NetworkView("X", 0.0, 0, 0.0, 0.0, 1.0, (), -2.4, 0.0, agreed, -1.0 if agreed == GOOD else 0.7)
        network_into(body, SimpleNamespace(network_view=lambda p: view, trust_threshold=0.5), "X")
        line = next(x for x in body.plain.splitlines() if x.strip().startswith("caught liars"))
        assert f"all {word} it: {'-1.0' if agreed == GOOD else '+0.7'} log-odds" in line
    body = Details()
    network_into(body, SimpleNamespace(network_view=lambda p: NetworkView("X", 0.0, 0, 0.0, 0.0, 1.0),
                                       trust_threshold=0.5), "X")
    assert "caught liars" not in body.plain


def test_details_say_what_a_delivery_rate_reads_as():
    """Reports of 20 ✓ / 8 ✗ with a network score of 0.01 look like a contradiction until the
    operator sees the rates the engine weighs them against (71% is a camouflaged attacker's rate,
    not a good collaborator's): the details view puts them side by side."""
    from types import SimpleNamespace

    from collab_tui.core.witness import NetworkView
    from collab_tui.ui.details_text import Details, network_into
    body = Details()
    view = NetworkView("flaky", -4.6, 3, 20.0, 8.0, 1.0)
    network_into(body, SimpleNamespace(network_view=lambda p: view, trust_threshold=0.5), "flaky")
    line = next(x for x in body.plain.splitlines() if x.strip().startswith("reads as"))
    assert "71% delivered" in line and "good collaborator to deliver 95%" in line
    assert line.rstrip().endswith("2%, 30% or 60%")
    body = Details()
    network_into(body, SimpleNamespace(network_view=lambda p: NetworkView("X", 0.0, 0, 0.0, 0.0, 1.0),
                                       trust_threshold=0.5), "X")
    assert "reads as" not in body.plain                 # nothing counted: no rate to read
