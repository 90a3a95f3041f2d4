"""Every operator key, driven through Pilot against a real trainer runner fed with frames."""
from __future__ import annotations

import asyncio
import tomllib

from textual.widgets import Input

from collab_tui.core.sessions import ACTIVE, CANCELLED, HELD
from collab_tui.io.config import TrainerConfig
from collab_tui.io.runner import ProducerResult
from collab_tui.ui.screens.details import DetailsScreen
from collab_tui.ui.screens.forms import RequestForm, SettingsForm
from collab_tui.ui.screens.help import HelpScreen

from .conftest import settle, started
from .scenario import accept_from, deliver, make_runner, request_from, sent_frames

SIZE = (160, 48)


def select(table, key: str) -> None:
    table.move_cursor(row=table.get_row_index(key))


def cell_text(table, key: str, column: str) -> str:
    return table.get_cell(key, column).plain


async def test_app_starts_the_runner_and_draws_state(make_app, clock):
    app = make_app()
    assert not app.runner.started
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        assert app.runner.started
        t = app.runner.trainer
        assert app.main.requests.row_count == len(t.incoming) + len(t.outgoing) == 11
        assert app.main.reputation.row_count == 4
        assert app.main.components.row_count == 7
        # newest first
        first = app.main.requests.ordered_keys()[0]
        assert first == "in:Flaky_7/req-f1"
        # verdict: glyph and word
        assert cell_text(app.main.requests, "in:Mallory/req-m1", "verdict") == "✗ REJECT"
        assert cell_text(app.main.requests, "in:AI_Node_2/req-a1", "verdict") == "✓ ACCEPT"
        assert "reputation 0.17 < threshold 0.50" in cell_text(app.main.requests, "in:Mallory/req-m1", "reason")
        status = app.main.status_line.render_status().plain
        assert "AI_Node_1 · networking" in status and "threshold 0.50" in status and "ws://127.0.0.1:9/" in status


async def test_accept_key_overrides_a_rejection(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        select(app.main.requests, "in:Mallory/req-m1")
        await pilot.press("a")
        record = app.runner.trainer.incoming["Mallory/req-m1"]
        assert record.verdict.accept and record.overridden
        responses = [f for f in sent_frames(app.runner)
                     if f["type"] == "COLLABORATION_RESPONSE" and f["payload"]["request_id"] == "req-m1"]
        assert responses[-1]["payload"]["accepted"] is True and responses[-1]["payload"]["overridden"] is True
        assert cell_text(app.main.requests, "in:Mallory/req-m1", "verdict") == "✓ ACCEPT (op)"


async def test_reject_key_cancels_an_unfinished_session(clock, make_app):
    gate = asyncio.Event()

    async def slow_producer(request):
        await gate.wait()
        return ProducerResult(True, "late")

    app = make_app(make_runner(clock, producer=slow_producer))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        request_from(app.runner, "AI_Node_3", "req-slow", "code_review", "router")
        await settle(pilot, lambda: "in:AI_Node_3/req-slow" in app.main.requests.rows)
        session = app.runner.trainer.collaboration_sessions["in:AI_Node_3/req-slow"]
        assert session.status == ACTIVE
        select(app.main.requests, "in:AI_Node_3/req-slow")
        await pilot.press("r")
        assert session.status == CANCELLED
        assert cell_text(app.main.requests, "in:AI_Node_3/req-slow", "verdict") == "✗ REJECT (op)"
        assert "cancelled" in cell_text(app.main.requests, "in:AI_Node_3/req-slow", "next")


async def test_override_on_an_outgoing_row_explains_instead(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        out_key = next(k for k in app.main.requests.rows if k.startswith("out:"))
        select(app.main.requests, out_key)
        await pilot.press("a")
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("Select a request we received" in m for m in messages)


async def test_mark_bad_then_undo_on_a_component_row(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        book = app.runner.trainer.book
        key = next(k for k, r in app.runner.trainer.shared_knowledge["benchmarks"].items()
                   if r["source"] == "AI_Node_2")
        before = book.score("AI_Node_2")
        app.main.components.focus()
        select(app.main.components, key)
        await pilot.press("b")
        after = book.score("AI_Node_2")
        assert after < before
        assert book.records["AI_Node_2"].history[-1].reason == "marked bad by operator"
        assert cell_text(app.main.components, key, "mark") == "✗ bad"
        assert cell_text(app.main.reputation, "AI_Node_2", "score") == f"{after:.2f}"
        await pilot.press("u")
        assert abs(book.score("AI_Node_2") - before) < 1e-12
        assert cell_text(app.main.components, key, "mark") == "—"


async def test_mark_good_on_an_outgoing_requests_delivery(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        t = app.runner.trainer
        request_id = app.runner.send_request("feature_development", "pager", 30.0)
        accept_from(app.runner, "AI_Node_3", request_id)
        component = deliver(app.runner, "AI_Node_3", request_id)
        await settle(pilot, lambda: component in app.main.components.rows)
        before = t.book.score("AI_Node_3")
        app.main.requests.focus()
        select(app.main.requests, "out:" + request_id)
        await pilot.press("g")
        assert t.shared_knowledge["benchmarks"][component]["mark"] == "good"
        assert t.book.score("AI_Node_3") > before
        assert t.book.records["AI_Node_3"].history[-1].reason == "marked good by operator"


async def test_settings_form_validates_then_applies_and_saves(make_app, clock, tmp_path):
    path = tmp_path / "config.toml"
    app = make_app(config=TrainerConfig(), config_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("t")
        form = app.screen
        assert isinstance(form, SettingsForm)
        threshold = form.query_one("#threshold", Input)
        threshold.value = "1.7"
        await pilot.pause()
        error = form.query_one("#threshold-error")
        assert "trust threshold must be a number between 0 and 1, got '1.7'" in str(error.render())
        await pilot.press("enter")
        assert app.screen is form and app.runner.trainer.trust_threshold == 0.5   # not submitted
        threshold.value = "0.3"
        form.query_one("#hold", Input).value = "abc"
        await pilot.pause()
        assert "hold window must be" in str(form.query_one("#hold-error").render())
        form.query_one("#hold", Input).value = "5"
        form.query_one("#alpha", Input).value = "0.4"
        threshold.focus()
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen is app.main)
        t = app.runner.trainer
        assert (t.trust_threshold, t.reputation_alpha, t.hold_s) == (0.3, 0.4, 5.0)
        await settle(pilot, lambda: path.exists())   # written once the changes stop, off the event loop
        saved = tomllib.loads(path.read_text())
        assert saved["reputation"]["trust_threshold"] == 0.3
        assert saved["reputation"]["alpha"] == 0.4
        assert saved["decisions"]["hold_s"] == 5.0
        # Flaky_7 (0.46) is now above the threshold: its bar turns to the accepting side.
        assert "█" in cell_text(app.main.reputation, "Flaky_7", "bar")


async def test_settings_form_escape_changes_nothing(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("t")
        app.screen.query_one("#threshold", Input).value = "0.9"
        await pilot.press("escape")
        assert app.screen is app.main and app.runner.trainer.trust_threshold == 0.5


async def test_nudge_keys_move_threshold_and_alpha(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        t = app.runner.trainer
        bar_before = cell_text(app.main.reputation, "AI_Node_3", "bar")
        await pilot.press("plus")
        assert t.trust_threshold == 0.55
        bar_after = cell_text(app.main.reputation, "AI_Node_3", "bar")
        assert bar_after.index("┃") > bar_before.index("┃")      # the threshold mark moved
        assert "▒" in bar_after                                   # 0.50 is now below it
        await pilot.press("minus", "minus")
        assert t.trust_threshold == 0.45
        await pilot.press("right_square_bracket")
        assert t.reputation_alpha == 0.35
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert t.reputation_alpha == 0.25
        assert "threshold 0.45" in app.main.status_line.render_status().plain
        assert "α 0.25" in app.main.status_line.render_status().plain


async def test_nudge_stops_at_the_bounds(make_app, clock):
    app = make_app(make_runner(clock, threshold=1.0))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("plus")
        assert app.runner.trainer.trust_threshold == 1.0


async def test_hold_window_counts_down_and_accept_beats_it(make_app, clock):
    app = make_app(make_runner(clock, hold_s=10.0))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        request_from(app.runner, "Mallory", "req-held")
        await settle(pilot, lambda: "in:Mallory/req-held" in app.main.requests.rows)
        record = app.runner.trainer.incoming["Mallory/req-held"]
        assert record.status == HELD
        assert cell_text(app.main.requests, "in:Mallory/req-held", "hold") == "⏳ 10 s"
        clock.advance(4)
        app.main.tick()
        assert cell_text(app.main.requests, "in:Mallory/req-held", "hold") == "⏳ 6 s"
        select(app.main.requests, "in:Mallory/req-held")
        await pilot.press("a")
        assert record.verdict.accept and record.status != HELD
        assert cell_text(app.main.requests, "in:Mallory/req-held", "hold") == ""


async def test_new_request_form_sends_a_request(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, RequestForm)
        form.query_one("#deadline", Input).value = "-3"
        form.query_one("#recipient", Input).value = "Nobody"
        await pilot.pause()
        assert "deadline must be more than 0" in str(form.query_one("#deadline-error").render())
        assert "no known peer called 'Nobody'" in str(form.query_one("#recipient-error").render())
        form.query_one("#deadline", Input).value = "45"
        form.query_one("#recipient", Input).value = "AI_Node_2"
        form.query_one("#feature", Input).value = "dma engine"
        form.query_one("#recipient", Input).focus()
        await pilot.press("enter")   # enter in the last field sends
        await settle(pilot, lambda: app.screen is app.main)
        requests = [f for f in sent_frames(app.runner) if f["type"] == "COLLABORATION_REQUEST"]
        last = requests[-1]
        assert last["recipient_id"] == "AI_Node_2"
        assert last["payload"]["feature"] == "dma engine" and last["payload"]["deadline_s"] == 45.0
        assert app.main.requests.selected_key == "out:" + last["payload"]["request_id"]


async def test_enter_shows_details_with_reputation_history(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        select(app.main.requests, "in:Mallory/req-m1")
        await pilot.press("enter")
        details = app.screen
        assert isinstance(details, DetailsScreen)
        body = details.body.plain
        assert "req-m1" in body and "reputation 0.17 < threshold 0.50" in body
        history = details.query_one("#history")
        assert history.row_count == 3
        reasons = [history.get_row_at(i)[3].plain for i in range(3)]
        assert all(reason.startswith("sha256 mismatch") for reason in reasons)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_enter_on_a_reputation_row_shows_that_peer(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        app.main.reputation.focus()
        select(app.main.reputation, "AI_Node_2")
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        assert app.screen.peer == "AI_Node_2"
        assert "2 successes, 0 failures" in app.screen.body.plain


async def test_pause_queues_events_then_resume_applies_them(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("p")
        rows = app.main.requests.row_count
        request_from(app.runner, "AI_Node_3", "req-p1")
        request_from(app.runner, "AI_Node_3", "req-p2")
        # two requests (each several events: decision, response, session…) are two new rows
        await settle(pilot, lambda: "⏸ paused · 2 new" in app.main.status_line.render_status().plain)
        request_from(app.runner, "AI_Node_3", "req-p2")   # a duplicate: no new row
        await pilot.pause()
        assert app.main.status_line.paused_new == 2
        assert app.main.requests.row_count == rows
        await pilot.press("p")
        assert app.main.requests.row_count == rows + 2
        assert "paused" not in app.main.status_line.render_status().plain


async def test_filter_narrows_every_table_and_escape_clears(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"Mallory")
        await settle(pilot, lambda: app.main.filter_text == "Mallory")     # debounced
        assert app.main.requests.row_count == 4          # 3 rounds we asked + 1 request from it
        assert list(app.main.reputation.rows) == ["Mallory"]
        assert "filter: Mallory" in app.main.status_line.render_status().plain
        await pilot.press("escape")
        assert app.main.requests.row_count == 11 and app.main.reputation.row_count == 4


async def test_help_lists_every_key_and_shows_remaps(make_app, clock):
    config = TrainerConfig(keys={"accept": "A", "pause": "P"})
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = {row.binding_id: row.keys for _title, section in help_screen.sections for row in section}
        for binding_id in app.binding_ids():
            assert binding_id in rows
        assert rows["accept"] == "A" and rows["pause"] == "P" and rows["reject"] == "r"
        await pilot.press("escape")
        # the remapped key works, the old one no longer does
        select(app.main.requests, "in:Mallory/req-m1")
        await pilot.press("a")
        assert not app.runner.trainer.incoming["Mallory/req-m1"].overridden
        await pilot.press("A")
        assert app.runner.trainer.incoming["Mallory/req-m1"].overridden


async def test_unknown_binding_id_in_config_is_reported(make_app, clock):
    app = make_app(config=TrainerConfig(keys={"acept": "A"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("unknown binding id(s) acept" in n.message for n in app._notifications)


async def test_command_palette_runs_actions(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("ctrl+p")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
        await pilot.press(*"Raise the trust")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot, lambda: app.runner.trainer.trust_threshold == 0.55)


async def test_mouse_click_selects_row_and_header_sorts(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        table = app.main.reputation
        # rows are sorted by peer name: click the third row (Flaky_7)
        await pilot.click(table, offset=(4, 4))
        assert table.selected_key == "Flaky_7"
        # click the "Score" header: ascending by score, Mallory first; again: descending
        score_x = 1 + table.column_span("score")[0] + 1      # the border, then into the column
        await pilot.click(table, offset=(score_x, 1))
        assert table.ordered_keys()[0] == "Mallory"
        await pilot.click(table, offset=(score_x, 1))
        assert table.ordered_keys()[0] == "AI_Node_2"
        assert table.selected_key == "Flaky_7"     # the selection follows its row


async def test_q_quits_and_stops_the_runner(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("q")
        await settle(pilot, lambda: app.runner.stopped.is_set())
    assert app.return_code == 0


async def test_ctrl_q_quits_too(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("ctrl+q")
        await settle(pilot, lambda: app.runner.stopped.is_set())


async def test_a_remap_shows_in_help_palette_and_key_bar_alike(make_app, clock):
    """Keys are declared once (ui/keys.py): the help screen, the palette and the key bar all
    follow a [keys] remap, and every operator binding appears in each."""
    from collab_tui.ui import keys

    app = make_app(config=TrainerConfig(keys={"accept": "A", "new_request": "N"}))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        bar = {e.binding_id: e.key for e in app.main.key_bar.entries}
        assert bar["accept"] == "A" and bar["new_request"] == "N" and bar["reject"] == "r"
        palette = {c.title: c.help for c in app.get_system_commands(app.main)}
        for binding in keys.OPERATOR_BINDINGS:
            if binding.id != "help":
                assert binding.tooltip in palette, binding.id
        assert palette[keys.OPERATOR_BINDINGS[0].tooltip] == "key: A"
        await pilot.press("question_mark")
        rows = {row.binding_id: row for _title, section in app.screen.sections for row in section}
        assert {b.id for b in keys.OPERATOR_BINDINGS} <= set(rows)
        assert rows["new_request"].keys == "N" and rows["quit"].keys == "q"
        assert rows["accept"].description == keys.OPERATOR_BINDINGS[0].tooltip


async def test_a_settings_change_reaches_the_app_as_a_message(make_app, clock, tmp_path):
    """The screen posts SettingsChanged; the app (never the screen) keeps the config in step."""
    from collab_tui.ui.messages import SettingsChanged

    seen: list[SettingsChanged] = []
    app = make_app(config=TrainerConfig(), config_path=tmp_path / "config.toml")
    async with app.run_test(size=SIZE, message_hook=lambda m: seen.append(m) if isinstance(m, SettingsChanged)
                            else None) as pilot:
        await started(pilot, clock)
        await pilot.press("right_square_bracket")
        await settle(pilot, lambda: app.config.reputation.alpha == 0.35)
        assert seen
    assert tomllib.loads((tmp_path / "config.toml").read_text())["reputation"]["alpha"] == 0.35


async def test_history_reasons_wrap_in_their_column_at_80_columns(make_app, clock):
    """At 80×24 the history table fits its box: no sideways scrolling, and a long reason is
    all there, wrapped inside the Reason column."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock)
        long_reason = "sha256 mismatch: " + " ".join(f"word{i}" for i in range(20)) + " THE-END"
        app.runner.trainer.book.update("Mallory", False, long_reason, clock())
        select(app.main.requests, "in:Mallory/req-m1")
        await pilot.press("enter")
        details = app.screen
        assert isinstance(details, DetailsScreen)
        history = details.query_one("#history")
        await settle(pilot, lambda: history.size.width > 0 and history.virtual_size.width
                     <= history.scrollable_content_region.width)
        assert not history.show_horizontal_scrollbar
        lines = ["".join(seg.text for seg in strip) for strip in history.render_lines(history.region.reset_offset)]
        text = " ".join(lines)
        assert "word19" in text and "THE-END" in text                # nothing cut off
        reason_lines = [line for line in lines if "word" in line or "THE-END" in line]
        assert len(reason_lines) >= 2                                  # it wrapped
        await pilot.resize_terminal(160, 48)                           # wider: the column follows
        await settle(pilot, lambda: history.columns[list(history.columns)[3]].width > 60)
