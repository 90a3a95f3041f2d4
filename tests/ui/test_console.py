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
    from collab_tui.ui.details_text import mark_consequence
    assert mark_consequence("X", 0.35, 0.54, 0.5) == ("lifts X from 0.35 to 0.54, above your threshold 0.50: "
                                                      "its requests would be accepted again")
    assert mark_consequence("X", 0.2, 0.44, 0.5) == "lifts X from 0.20 to 0.44, still below your threshold 0.50"
    assert mark_consequence("X", 0.9, 0.9996, 1.0) == ("lifts X from 0.90 to 0.9996, still below your threshold "
                                                       "1.0000")


# ---- the n form -----------------------------------------------------------------


async def open_request_form(pilot, app):
    """Press ``n`` and wait for the request form; return it."""
    from collab_tui.ui.screens.forms import RequestForm
    await pilot.press("n")
    await settle(pilot, lambda: isinstance(app.screen, RequestForm))
    return app.screen


async def test_enter_in_the_request_form_moves_to_the_next_field(make_app, clock):
    from textual.widgets import Input, Select
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        before = len(app.runner.trainer.outgoing)
        form = await open_request_form(pilot, app)
        assert isinstance(form.focused, Select)       # the type comes first, as a choice
        await pilot.press("tab")
        assert form.focused is form.query_one("#feature", Input)
        await pilot.press(*"dma", "enter")
        assert form.focused is form.query_one("#deadline", Input)
        assert app.screen is form and len(app.runner.trainer.outgoing) == before   # nothing sent


async def test_an_empty_feature_is_refused_with_a_message(make_app, clock):
    from textual.widgets import Input
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        before = len(app.runner.trainer.outgoing)
        form = await open_request_form(pilot, app)
        form.query_one("#recipient", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is form and len(app.runner.trainer.outgoing) == before
        assert "the feature must not be empty" in str(form.query_one("#feature-error").render())


async def test_type_other_takes_a_name_of_your_own(make_app, clock):
    from textual.widgets import Input, Select
    from collab_tui.ui.screens.forms import OTHER_TYPE
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        form = await open_request_form(pilot, app)
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
    from .scenario import frame
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        app.runner.feed(frame("PEER_LEFT", "hub", {"ai_id": "AI_Node_2"}))
        form = await open_request_form(pilot, app)
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


# ---- responsiveness ---------------------------------------------------------------

async def test_fourteen_plus_presses_make_one_toast_and_one_config_write(make_app, clock, tmp_path,
                                                                         monkeypatch):
    import threading
    import tomllib
    from collab_tui.io import config_file as config_file_module
    from collab_tui.io.config import TrainerConfig

    writers: list[int] = []
    real_save = config_file_module.save_config

    def recording_save(config, path):
        writers.append(threading.get_ident())
        return real_save(config, path)

    monkeypatch.setattr(config_file_module, "save_config", recording_save)
    path = tmp_path / "config.toml"
    app = make_app(config=TrainerConfig(), config_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        app.runner.configure(trust_threshold=0.0)
        await pilot.pause()
        await settle(pilot, lambda: not app.config_file.pending)
        writers.clear()
        await pilot.press(*["plus"] * 14)
        assert app.runner.trainer.trust_threshold == 0.7
        toast = app.main.setting_toast
        assert toast.display and list(toast.shown.values()) == ["Trust threshold 0.70"]
        assert not any("Trust threshold" in n.message for n in app._notifications)
        await settle(pilot, lambda: writers and not app.config_file.pending)
        assert len(writers) == 1 and writers[0] != threading.get_ident()   # one write, not on the loop
        assert tomllib.loads(path.read_text())["reputation"]["trust_threshold"] == 0.7
        await pilot.press("right_square_bracket")
        assert set(toast.shown) == {"threshold", "alpha"}                  # one line per setting


async def test_settings_changed_just_before_quit_are_written(make_app, clock, tmp_path):
    import tomllib
    from collab_tui.io.config import TrainerConfig
    path = tmp_path / "config.toml"
    app = make_app(config=TrainerConfig(), config_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("plus", "q")
    assert tomllib.loads(path.read_text())["reputation"]["trust_threshold"] == 0.55


# ---- small terminals ----------------------------------------------------------------

async def test_80x24_keeps_help_and_quit_and_compacts_the_status(make_app, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock)
        shown = [e.binding_id for e in app.main.key_bar.fitted(app.main.key_bar.size.width)]
        assert "help" in shown and "quit" in shown
        assert len(shown) < len(app.main.key_bar.entries) or "pause" in shown
        assert "? Help" in str(app.main.key_bar.render()) and "q Quit" in str(app.main.key_bar.render())
        status = app.main.status_line.render_status().plain.splitlines()
        assert status[0].startswith("◌ connecting… │ AI_Node_1 · networking │ ")   # our id stays
        assert all(len(line) <= 78 for line in status)
        assert status[0].endswith("4/4 peers online")   # nothing cut


async def test_160_columns_show_every_key_and_the_full_status(make_app, clock):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, clock)
        shown = {e.binding_id for e in app.main.key_bar.fitted(app.main.key_bar.size.width)}
        assert shown == {e.binding_id for e in app.main.key_bar.entries}
        assert "hub ws://127.0.0.1:9/" in app.main.status_line.render_status().plain
        # which engine decides, beside the threshold it decides against
        assert app.main.reputation.border_subtitle.endswith(
            f"peers · threshold 0.50 · engine {app.runner.trainer.policy.name}")


async def test_forms_scroll_and_keep_their_buttons_visible_at_80x24(make_app, clock):
    from collab_tui.ui.screens.forms import RequestForm, SettingsForm
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock)
        for key, form_type in (("n", RequestForm), ("t", SettingsForm)):
            await pilot.press(key)
            await settle(pilot, lambda: isinstance(app.screen, form_type))
            form = app.screen
            await pilot.pause()
            for button in form.query(Button):
                region = button.region
                assert region.height > 0 and region.bottom <= 24, (key, button.id, region)
            await pilot.press("escape")
            await settle(pilot, lambda: app.screen is app.main)


# ---- disconnected -------------------------------------------------------------------

def test_link_reasons_are_short_and_human():
    from types import SimpleNamespace
    from collab_tui.ui.widgets.cells import Palette
    from collab_tui.ui.widgets.status import connection_text, short_reason
    assert short_reason("hub unreachable: connection refused") == "hub unreachable"
    assert short_reason("close 1006 (connection lost)") == "connection lost"
    assert short_reason("close 4429 (rate limited: slow down)") == "rate limited"
    status = SimpleNamespace(state="reconnecting", detail="hub unreachable: connection refused", retry_at=104.2)
    assert connection_text(status, 100.0, Palette(), compact=True).plain == "↻ hub unreachable — retrying in 4 s"
    assert connection_text(status, 100.0, Palette()).plain == ("↻ hub unreachable: connection refused — "
                                                              "retrying in 4 s")


async def test_disconnected_status_keeps_our_id_shows_peers_offline_and_retries(clock):
    """A real runner pointed at a port where no hub listens: it retries; ctrl+r retries now."""
    import socket
    from collab_tui.core.trainer import NetworkedKernelTrainer
    from collab_tui.io.runner import TrainerRunner
    from collab_tui.ui.app import CollabApp
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runner = TrainerRunner(NetworkedKernelTrainer("AI_Node_1", "networking"), url=f"ws://127.0.0.1:{port}/",
                           token="t")
    app = CollabApp(runner, theme_dirs=[])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, lambda: runner.status.state == "reconnecting" and runner.status.retry_at is not None
                     and "unreachable" in runner.status.detail)
        app.main.tick()
        line1 = app.main.status_line.render_status().plain.splitlines()[0]
        assert line1.startswith("↻ hub unreachable — retrying in ") and "AI_Node_1" in line1
        assert "Errno" not in line1 and "ConnectionRefusedError" not in line1
        assert "reconnect" in [e.binding_id for e in app.main.key_bar.entries]
        attempts = runner.status.attempts
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: runner.status.attempts > attempts)
        await pilot.press("q")


async def test_peers_drawn_offline_when_the_hub_link_drops(make_app, clock):
    from collab_tui.io.connection import ConnectionStatus
    from collab_tui.io.runner import ConnectionChanged
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        assert app.main.reputation.get_cell("AI_Node_2", "peer").plain.startswith("●")
        app.runner.trainer.disconnected(clock())
        app.main.queue([ConnectionChanged(ConnectionStatus("reconnecting", "close 1006 (connection lost)",
                                                           clock() + 3))])
        await settle(pilot, lambda: app.main.reputation.get_cell("AI_Node_2", "peer").plain.startswith("○"))


# ---- details ------------------------------------------------------------------------

def test_plural():
    from collab_tui.ui.details_text import plural
    assert plural(1, "success", "successes") == "1 success"
    assert plural(2, "success", "successes") == "2 successes"
    assert plural(0, "failure", "failures") == "0 failures"


async def test_peer_details_say_one_success_and_clean_peer_text(make_app, clock):
    from collab_tui.ui.screens.details import DetailsScreen
    from .scenario import join
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        hostile = "Evil\x1b[31m[b]x[/b]"
        join(app.runner, {"AI_Node_2": "vision", hostile: "general\x1b]0;pwned\x07"})
        request_from(app.runner, hostile, "req-evil", feature="ok\x1b[2Jwipe")
        await settle(pilot, lambda: not app.main.busy)
        app.main.requests.focus()
        app.main.requests.select_key(f"in:{hostile}/req-evil")
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, DetailsScreen))
        text = app.screen.body.plain
        assert "\x1b" not in text and "okwipe" in text and "Evil[b]x[/b]" in text
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is app.main)
        app.main.reputation.focus()
        app.main.reputation.select_key("Flaky_7")
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, DetailsScreen))
        assert "1 success, 1 failure" in app.screen.body.plain


# ---- keys, palette, exits -------------------------------------------------------------

async def test_palette_shows_keys_once_distinct_titles_and_readable_keys(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        commands = list(app.get_system_commands(app.main))
        titles = [c.title for c in commands]
        assert titles.count("Keys") == 1
        assert len(titles) == len(set(titles)), [t for t in titles if titles.count(t) > 1]
        helps = {c.title: c.help for c in commands}
        assert helps["Lower reputation α by 0.05"] == "key: ["
        assert helps["Raise reputation α by 0.05"] == "key: ]"
        assert not any("square_bracket" in (c.help or "") for c in commands)


async def test_ctrl_c_quits_saving_state_without_the_ctrl_q_hint(make_app, clock):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, clock)
        await pilot.press("ctrl+c")
        await settle(pilot, lambda: app._runner_stopped)
        assert not any("ctrl+q" in n.message for n in app._notifications)
    assert app.return_code in (0, None)


async def test_help_on_a_narrow_terminal_puts_ids_in_the_description(make_app, clock):
    """Wide, ids have a column (checked by the 120-column help snapshot); narrow, they follow."""
    from collab_tui.ui.screens.help import HelpScreen
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, clock)
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        # at 80 columns the id follows the description (no id column for it to wrap under)
        assert "id=accept" in app.export_screenshot()


async def test_the_exit_status_says_when_the_state_was_not_saved_or_the_hub_refused_us(make_app, tmp_path):
    """What the exit watchdog ends the process with, if the shutdown hangs: the same status
    ``collab-tui`` returns after a normal exit (1 for a refusal or a failed save, else 0).
    The save fails for real here: the state file's folder is a file."""
    from dataclasses import replace

    from collab_tui.io.connection import REFUSED
    from collab_tui.io.state import StateSaver, StateStore

    from .scenario import FixedClock, make_runner

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state's folder should be")
    runner = make_runner(FixedClock(), state_saver=StateSaver(StateStore(blocker / "state.toml")))
    app = make_app(runner)
    async with app.run_test(size=(100, 30)):
        assert app.exit_code() == 0
    assert runner.save_error and "the previous state file is kept" in runner.save_error
    assert app.exit_code() == 1
    runner.save_error = None
    assert app.exit_code() == 0
    runner.link.status = replace(runner.link.status, state=REFUSED, detail="close 4401")
    assert app.exit_code() == 1


async def test_counts_are_totals_since_start_not_the_records_kept(make_app, clock, monkeypatch):
    """Finished requests beyond the newest ``MAX_FINISHED_RECORDS`` are forgotten; the status
    line and the Requests panel still count every one (they froze at the bound before)."""
    from collab_tui.core import sessions

    from .scenario import join

    monkeypatch.setattr(sessions, "MAX_FINISHED_RECORDS", 5)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, clock, populated=False)
        join(app.runner)
        for i in range(9):
            request_from(app.runner, "AI_Node_2", f"req-{i}")
        trainer = app.runner.trainer
        await settle(pilot, lambda: "9 received" in str(app.main.requests.border_subtitle))
        assert len(trainer.incoming) == 5
        line2 = app.main.status_line.render_status().plain.splitlines()[1]
        assert f"in 9 (✓ {trainer.requests_accepted} ✗ {9 - trainer.requests_accepted})" in line2


async def test_the_feed_never_waits_on_a_textual_one_shot_timer(make_app, clock, monkeypatch):
    """Textual skips a one-shot ``set_timer`` whose task starts later than its delay: it never
    fires. A stall of a few ms did that to the feed's 1 ms slice timer after about 20 minutes of
    the demo, and every table froze for good. Here every one-shot timer of the screen is lost
    (started paused, never resumed): the feed must go on drawing all the same."""
    from .scenario import join

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, clock, populated=False)
        screen = app.main
        real = screen.set_timer

        def lost(delay, callback=None, *, name=None, pause=False):
            return real(delay, callback, name=name, pause=True)

        monkeypatch.setattr(screen, "set_timer", lost)
        join(app.runner)
        for i in range(3):
            request_from(app.runner, "AI_Node_2", f"req-{i}")
            await settle(pilot, lambda: f"{i + 1} received" in str(screen.requests.border_subtitle))
        assert screen.requests.row_count == 3


async def test_forgotten_records_leave_the_reputation_table(make_app, clock, monkeypatch):
    """Past ``MAX_RECORDS`` the trainer forgets the records worth least (a whitewasher's one
    failure per id); the Reputation table drops their rows instead of showing stale counts."""
    from collab_tui.core import trainer as trainer_module

    from .scenario import outcome_round

    monkeypatch.setattr(trainer_module, "MAX_RECORDS", 8)
    monkeypatch.setattr(trainer_module, "FORGET_BATCH", 2)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot, clock)
        table = app.main.reputation
        for i in range(12):
            outcome_round(app.runner, clock, f"ww.{i}", False, f"junk-{i}")
        trainer = app.runner.trainer
        assert len(trainer.book.records) <= 8 and trainer.records_forgotten >= 7
        await settle(pilot, lambda: "ww.11" in table.rows)
        app.main.tick()
        await settle(pilot, lambda: "ww.0" not in table.rows)
        assert all(p in table.rows for p in trainer.book.records)
        assert not [p for p in table.rows if p.startswith("ww.") and p not in trainer.book.records]
        for peer in ("AI_Node_2", "Mallory"):         # online, with records: kept, rows and all
            assert peer in trainer.book.records and peer in table.rows
