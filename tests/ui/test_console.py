"""The operator's console keeps its word: marks land where meant, holds respect deadlines,
exits are clean, numbers agree, forms behave. Pilot against a real trainer runner."""
from __future__ import annotations

from textual.widgets import Button, OptionList, Static

from collab_tui.ui.screens.choice import ConfirmScreen, DeliveryPicker

from .conftest import settle, started
from .scenario import accept_from, deliver, make_runner, request_from

SIZE = (160, 48)


async def _our_request_with_two_deliveries(app, pilot, clock):
    """Our broadcast request, answered by two peers: AI_Node_3 delivers a good component,
    Mallory a corrupt one (so Mallory sinks below the threshold)."""
    runner = app.runner
    request_id = runner.send_request("feature_development", "pager", 30.0)
    accept_from(runner, "AI_Node_3", request_id)
    accept_from(runner, "Mallory", request_id)
    good = deliver(runner, "AI_Node_3", request_id)
    bad = deliver(runner, "Mallory", request_id, good=False)
    await settle(pilot, lambda: good in app.main.components.rows and bad in app.main.components.rows)
    app.main.requests.focus()
    app.main.requests.select_key("out:" + request_id)
    await pilot.pause()
    return request_id, good, bad


async def test_mark_on_a_request_with_several_deliveries_asks_which(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        t = app.runner.trainer
        _, good, bad = await _our_request_with_two_deliveries(app, pilot, clock)
        before = t.book.score("AI_Node_3")
        await pilot.press("g")
        await settle(pilot, lambda: isinstance(app.screen, DeliveryPicker))
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert len(labels) == 2
        assert labels[0].startswith("Mallory  ✗ failed") and labels[1].startswith("AI_Node_3  ✓ passed")
        assert t.shared_knowledge["benchmarks"][good]["mark"] is None  # nothing marked yet
        options.highlighted = 1
        await pilot.press("enter")
        await settle(pilot, lambda: t.shared_knowledge["benchmarks"][good]["mark"] == "good")
        assert t.shared_knowledge["benchmarks"][bad]["mark"] is None
        assert t.book.score("AI_Node_3") > before


async def test_escape_in_the_delivery_picker_marks_nothing(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        t = app.runner.trainer
        _, good, bad = await _our_request_with_two_deliveries(app, pilot, clock)
        await pilot.press("b")
        await settle(pilot, lambda: isinstance(app.screen, DeliveryPicker))
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, DeliveryPicker))
        assert t.shared_knowledge["benchmarks"][good]["mark"] is None
        assert t.shared_knowledge["benchmarks"][bad]["mark"] is None


async def test_marking_a_failed_component_good_asks_with_the_consequence(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        t = app.runner.trainer
        _, good, bad = await _our_request_with_two_deliveries(app, pilot, clock)
        app.main.components.focus()
        app.main.components.select_key(bad)
        await pilot.pause()
        old = t.book.score("Mallory")
        peer, _, new = t.mark_preview(bad, True)
        await pilot.press("g")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one("#question", Static).render())
        assert "failed validation" in question
        assert f"lifts Mallory from {old:.2f} to {new:.2f}" in question
        # the safe answer has the focus: enter cancels
        assert app.screen.focused is app.screen.query_one("#no", Button)
        await pilot.press("enter")
        await settle(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert t.shared_knowledge["benchmarks"][bad]["mark"] is None and t.book.score("Mallory") == old
        await pilot.press("g")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#yes")
        await settle(pilot, lambda: t.shared_knowledge["benchmarks"][bad]["mark"] == "good")
        assert t.book.score("Mallory") == new


async def test_marking_a_failed_component_bad_does_not_ask(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        t = app.runner.trainer
        _, good, bad = await _our_request_with_two_deliveries(app, pilot, clock)
        app.main.components.focus()
        app.main.components.select_key(bad)
        await pilot.pause()
        await pilot.press("b")
        await settle(pilot, lambda: t.shared_knowledge["benchmarks"][bad]["mark"] == "bad")
        assert not isinstance(app.screen, ConfirmScreen)


def test_mark_consequence_names_the_threshold_crossing_with_true_digits():
    from collab_tui.ui.main_screen import mark_consequence
    assert mark_consequence("X", 0.35, 0.54, 0.5) == ("lifts X from 0.35 to 0.54, above your threshold 0.50: "
                                                      "its requests would be accepted again")
    assert mark_consequence("X", 0.2, 0.44, 0.5) == "lifts X from 0.20 to 0.44, still below your threshold 0.50"
    assert mark_consequence("X", 0.9, 0.9996, 1.0) == ("lifts X from 0.90 to 0.9996, still below your threshold "
                                                       "1.0000")


# ---- the n form -----------------------------------------------------------------

async def test_enter_in_the_request_form_moves_to_the_next_field(make_app, clock):
    from textual.widgets import Input, Select
    from collab_tui.ui.screens.forms import RequestForm
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        before = len(app.runner.trainer.outgoing)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, RequestForm))
        form = app.screen
        assert isinstance(form.focused, Select)       # the type comes first, as a choice
        await pilot.press("tab")
        assert form.focused is form.query_one("#feature", Input)
        await pilot.press(*"dma", "enter")
        assert form.focused is form.query_one("#deadline", Input)
        assert app.screen is form and len(app.runner.trainer.outgoing) == before   # nothing sent


async def test_an_empty_feature_is_refused_with_a_message(make_app, clock):
    from textual.widgets import Input
    from collab_tui.ui.screens.forms import RequestForm
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        before = len(app.runner.trainer.outgoing)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, RequestForm))
        form = app.screen
        form.query_one("#recipient", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is form and len(app.runner.trainer.outgoing) == before
        assert "the feature must not be empty" in str(form.query_one("#feature-error").render())


async def test_type_other_takes_a_name_of_your_own(make_app, clock):
    from textual.widgets import Input, Select
    from collab_tui.ui.screens.forms import OTHER_TYPE, RequestForm
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, RequestForm))
        form = app.screen
        other = form.query_one("#type-other", Input)
        assert not other.display
        form.query_one("#type", Select).value = OTHER_TYPE
        await pilot.pause()
        assert other.display
        other.value = "fuzzing"
        form.query_one("#feature", Input).value = "parser fuzzer"
        form.query_one("#recipient", Input).focus()
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen is app.main)
        last = list(app.runner.trainer.outgoing.values())[-1]
        assert (last.collaboration_type, last.feature) == ("fuzzing", "parser fuzzer")


async def test_sending_to_an_offline_peer_says_queued(make_app, clock):
    from textual.widgets import Input
    from collab_tui.ui.screens.forms import RequestForm
    from .scenario import frame
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        app.runner.feed(frame("PEER_LEFT", "hub", {"ai_id": "AI_Node_2"}))
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, RequestForm))
        form = app.screen
        form.query_one("#feature", Input).value = "dma engine"
        form.query_one("#recipient", Input).value = "AI_Node_2"
        await pilot.pause()
        assert "AI_Node_2 is offline" in str(form.query_one("#recipient-note").render())
        form.query_one("#recipient", Input).focus()
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen is app.main)
        messages = [n.message for n in app._notifications]
        assert any("until AI_Node_2 is online" in m and m.startswith("Queued request") for m in messages)
        assert not any(m.startswith("Sent") for m in messages)


# ---- holds ---------------------------------------------------------------------

async def test_settings_form_warns_when_the_hold_outlasts_recent_deadlines(make_app, clock):
    from textual.widgets import Input
    from collab_tui.ui.screens.forms import SettingsForm
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        request_from(app.runner, "AI_Node_2", "short", deadline_s=8.0)
        await pilot.press("t")
        await settle(pilot, lambda: isinstance(app.screen, SettingsForm))
        form = app.screen
        warning = form.query_one("#hold-warning")
        assert not warning.has_class("shown")
        form.query_one("#hold", Input).value = "20"
        await pilot.pause()
        assert warning.has_class("shown")
        assert "(shortest 8 s): those would lapse unanswered while held" in str(warning.render())
        form.query_one("#hold", Input).value = "5"
        await pilot.pause()
        assert not warning.has_class("shown")


async def test_hold_countdown_stops_at_the_deadline_and_hold_zero_releases(make_app, clock):
    app = make_app(make_runner(clock, hold_s=60.0))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        t = app.runner.trainer
        request_from(app.runner, "AI_Node_2", "soon", deadline_s=8.0)
        request_from(app.runner, "AI_Node_3", "later", deadline_s=120.0)
        await settle(pilot, lambda: "in:AI_Node_2/soon" in app.main.requests.rows)
        assert t.incoming["AI_Node_2/soon"].hold_until == clock() + 8.0   # capped at its deadline
        app.main.configure(hold_s=0.0)
        await pilot.pause()
        assert all(r.status != "held" for r in t.incoming.values())
