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
