"""The main screen: status line, requests, reputation, components; every operator key.

Keys turn into runner commands; nothing here decides or scores anything. Events from
the runner are drawn by the redraw scheduler (``redraw.FeedRedraw``); the details view's
text comes from ``details_text``.
"""
from __future__ import annotations

from typing import Any, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input

from ..core import events as ev
from ..core.text import peer_text
from ..core.trainer import CommandError
from . import keys
from .details_text import component_details, delivery_label, mark_consequence, peer_details, request_details
from .later import Later
from .messages import FeedQueued, SettingsChanged
from .redraw import FeedRedraw
from .screens.choice import ConfirmScreen, DeliveryPicker
from .screens.details import DetailsScreen
from .screens.forms import NewRequest, RequestForm, Settings, SettingsForm
from .screens.help import HelpScreen
from .themes import theme_palette
from .widgets.cells import Palette
from .widgets.components import ComponentsTable
from .widgets.reputation import ReputationTable
from .widgets.requests import RequestsTable, incoming_row_key
from .widgets.status import KeyBar, KeyEntry, SettingToast, StatusLine
from .widgets.table import FeedTable

#: The filter is applied once typing pauses for this long (not on every key).
FILTER_DEBOUNCE_S = 0.15


class MainScreen(Screen[None]):
    BINDINGS = keys.OPERATOR_BINDINGS
    AUTO_FOCUS = "#requests"

    def __init__(self, runner: Any, clock) -> None:
        super().__init__()
        self.runner = runner
        self.clock = clock
        trainer = runner.trainer
        self.status_line = StatusLine(runner, clock, id="status")
        self.requests = RequestsTable(trainer, clock, id="requests")
        self.reputation = ReputationTable(trainer, clock, id="reputation")
        self.components = ComponentsTable(trainer, clock, id="components")
        self.feed = FeedRedraw(self, self.status_line, self.requests, self.reputation, self.components,
                               after_batch=self._after_batch)
        self._active: FeedTable = self.requests
        self.filter_text = ""
        self._filter_timer: Later | None = None
        self._filter_typed = ""
        self.key_bar = KeyBar(id="keys")
        self.setting_toast = SettingToast(id="setting-toast")
        #: The config's ``[keys]`` remaps, as the app applied them (the key bar and help show them).
        self.keymap: dict[str, str] = {}
        self.palette = Palette()

    # ---- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield self.status_line
        with Vertical(id="tables"):
            yield self.requests
            yield self.reputation
            yield self.components
        yield Input(placeholder="filter rows: type text · enter keeps · esc clears", id="filter")
        yield self.setting_toast
        yield self.key_bar

    def on_mount(self) -> None:
        self.requests.border_title = "Requests"
        self.reputation.border_title = "Reputation"
        self.components.border_title = "Components received"
        self.set_palette(theme_palette(self.app.get_css_variables()))
        self.rebuild()
        self.update_key_bar()
        self.set_interval(1.0, self.tick)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        """The app's theme changed: draw every table in its colours."""
        self.set_palette(theme_palette(self.app.get_css_variables()))
        self.rebuild()

    def set_palette(self, palette: Palette) -> None:
        self.palette = palette
        for widget in (self.requests, self.reputation, self.components, self.status_line):
            widget.palette = palette

    def use_keymap(self, keymap: dict[str, str]) -> None:
        """The app applied the config's ``[keys]`` remaps: show them in the key bar and help."""
        self.keymap = dict(keymap)
        if self.is_mounted:
            self.update_key_bar()

    def key_display(self, binding: Binding) -> str:
        return keys.key_display(self.app, binding, self.keymap)

    def rebuild(self) -> None:
        """Redraw every table from the trainer's state (start, theme change, filter)."""
        for table in (self.requests, self.reputation, self.components):
            table.filter_text = self.filter_text
            table.rebuild_from_state()
        self._update_subtitles()
        self.status_line.redraw()

    def _update_subtitles(self) -> None:
        t = self.runner.trainer
        self.requests.set_subtitle(f"{self.requests.row_count} shown · "
                                   f"{t.requests_received} received · {t.requests_sent} sent")
        self.reputation.set_subtitle(f"{self.reputation.row_count} peers · threshold {t.trust_threshold:.2f}"
                                     f" · engine {t.policy.name}")   # which engine decides (--policy)
        self.components.set_subtitle(f"{self.components.row_count} shown")

    # ---- the feed -----------------------------------------------------------
    def queue(self, events: list[ev.Event]) -> None:
        """Runner callback (on the event loop): see ``FeedRedraw.queue``."""
        self.feed.queue(events)

    def on_feed_queued(self, message: FeedQueued) -> None:
        self.update_key_bar()
        self.feed.queued()

    @property
    def busy(self) -> bool:
        """True while queued events are waiting to be drawn."""
        return self.feed.busy

    @property
    def events_applied(self) -> int:
        return self.feed.events_applied

    def _after_batch(self) -> None:
        self._update_subtitles()
        self.status_line.redraw()

    def tick(self) -> None:
        self.requests.tick()
        self.reputation.tick()
        self.status_line.redraw()
        self.update_key_bar()

    def update_key_bar(self) -> None:
        """The key bar's entries, as currently mapped (Retry only while the link is down)."""
        linked = self.runner.status.state in ("connected", "connecting")
        entries = []
        for binding in [*keys.OPERATOR_BINDINGS, keys.QUIT]:
            binding_id = binding.id or ""
            if binding_id not in keys.KEY_BAR_PRIORITY or (binding_id == "reconnect" and linked):
                continue
            first = keys.keys_of(binding, self.keymap).split(",")[0].strip()
            target = "app.quit" if binding is keys.QUIT else f"screen.{binding.action}"
            entries.append(KeyEntry(binding_id, self.app.get_key_display(Binding(first, "")), binding.description,
                                    target, keys.KEY_BAR_PRIORITY[binding_id]))
        if entries != self.key_bar.entries:
            self.key_bar.set_entries(entries)

    # ---- selection ------------------------------------------------------------
    def on_descendant_focus(self, event) -> None:
        if isinstance(event.widget, FeedTable):
            self._active = event.widget

    def _fail(self, message: str) -> None:
        self.notify(message, severity="error", timeout=6, markup=False)

    def say(self, message: str, timeout: float | None = None) -> None:
        """A notification whose text is shown as is (peer strings in it are already ``peer_text``)."""
        self.notify(message, timeout=timeout, markup=False)

    # ---- overrides --------------------------------------------------------------
    def action_accept(self) -> None:
        self._override(True)

    def action_reject(self) -> None:
        self._override(False)

    def _override(self, accept: bool) -> None:
        record = self.requests.selected_incoming()
        if record is None:
            self._fail("Select a request we received (← peer) in the Requests table to override its verdict.")
            return
        try:
            self.runner.override(record.key, accept)
        except CommandError as exc:
            self._fail(f"Cannot {'accept' if accept else 'reject'} {peer_text(record.request_id[:8])} "
                       f"from {peer_text(record.initiator)}: {exc}")
            return
        self.say(f"{'✓ ACCEPT' if accept else '✗ REJECT'} sent to {peer_text(record.initiator)} "
                 f"for {peer_text(record.request_id[:8])} (operator override)")
        self.requests.refresh_rows({incoming_row_key(record)})
        self.status_line.redraw()

    # ---- marks -----------------------------------------------------------------
    def _deliveries(self, o) -> list[str]:
        """Every stored component delivered for our request ``o``, newest first."""
        benchmarks = self.runner.trainer.shared_knowledge["benchmarks"]
        keys = [key for key, record in benchmarks.items() if record.get("request_id") == o.request_id]
        keys.reverse()
        return keys

    def _with_target(self, verb: str, then: Callable[[str], None]) -> None:
        """Find the component a mark key means, asking which when it is not one; then ``then(key)``."""
        if self._active is self.components:
            key = self.components.selected_key
            if key is None:
                self._fail("No component selected.")
            else:
                then(key)
            return
        if self._active is self.requests:
            outgoing = self.requests.selected_outgoing()
            if outgoing is not None:
                keys = self._deliveries(outgoing)
                if not keys:
                    self._fail(f"Nothing has been delivered for request {outgoing.request_id[:8]} yet.")
                elif len(keys) == 1:
                    then(keys[0])
                else:
                    benchmarks = self.runner.trainer.shared_knowledge["benchmarks"]
                    choices = [(key, delivery_label(key, benchmarks[key])) for key in keys]
                    self.app.push_screen(
                        DeliveryPicker(f"{verb} which delivery for request {outgoing.request_id[:8]}?", choices),
                        lambda key: then(key) if key else None)
                return
        self._fail("Select a component (Components table) or one of our requests (→ peer) "
                   "with a delivery to mark it.")

    def action_mark_good(self) -> None:
        self._with_target("Mark good", lambda key: self._confirm_mark(key, True))

    def action_mark_bad(self) -> None:
        self._with_target("Mark bad", lambda key: self._confirm_mark(key, False))

    def _confirm_mark(self, key: str, good: bool) -> None:
        """Marking a component that failed validation good asks first, with what it would do."""
        t = self.runner.trainer
        record = t.shared_knowledge["benchmarks"].get(key)
        if record is None:
            self._fail("That component is no longer held by the trainer.")
            return
        if not good or record.get("validation") != "failed" or record.get("mark") == "good":
            self._mark(key, good)
            return
        try:
            peer, old, new = t.mark_preview(key, True)
        except CommandError as exc:
            self._fail(f"Cannot mark {peer_text(key)}: {exc}")
            return
        question = (f"{peer_text(key)} from {peer_text(peer)} failed validation: "
                    f"{peer_text(record.get('reason', ''), 200)}.\n\n"
                    f"Marking it good {mark_consequence(peer_text(peer), old, new, t.trust_threshold)}.\n\n"
                    "Mark it good anyway?")
        self.app.push_screen(ConfirmScreen("Mark a failed component good?", question, "Mark good"),
                             lambda yes: self._mark(key, True) if yes else None)

    def _mark(self, key: str, good: bool) -> None:
        self._marked(key, lambda: self.runner.mark(key, good), f"mark {peer_text(key)}",
                     lambda source, score: f"Marked {peer_text(key)} {'good' if good else 'bad'}; "
                                           f"{source}'s reputation is now {score:.2f}")

    def action_unmark(self) -> None:
        self._with_target("Undo the mark on", self._unmark)

    def _unmark(self, key: str) -> None:
        self._marked(key, lambda: self.runner.unmark(key), f"undo the mark on {peer_text(key)}",
                     lambda source, score: f"Mark on {peer_text(key)} undone; {source}'s reputation is back to "
                                           f"{score:.2f}")

    def _marked(self, key: str, command: Callable[[], object], what: str,
                said: Callable[[str, float], str]) -> None:
        """Run a mark command; say what it did to the component's source, or why it could not."""
        try:
            command()
        except CommandError as exc:
            self._fail(f"Cannot {what}: {exc}")
            return
        source = self._source_of(key)
        self.say(said(peer_text(source), self._score_of(source)))
        self._after_mark(key)

    def _source_of(self, key: str) -> str:
        return self.runner.trainer.shared_knowledge["benchmarks"].get(key, {}).get("source", "?")

    def _score_of(self, peer: str) -> float:
        return self.runner.trainer.book.score(peer)

    def _after_mark(self, key: str) -> None:
        record = self.runner.trainer.shared_knowledge["benchmarks"].get(key, {})
        self.components.refresh_rows({key})
        self.reputation.refresh_rows({record.get("source", "")} - {""})
        if record.get("request_id"):
            self.requests.refresh_rows({"out:" + record["request_id"]})

    # ---- settings ----------------------------------------------------------------
    def current_settings(self) -> Settings:
        t = self.runner.trainer
        return Settings(t.trust_threshold, t.reputation_alpha, t.hold_s)

    def action_settings(self) -> None:
        self.app.push_screen(SettingsForm(self.current_settings(), self.recent_deadlines()), self._apply_settings)

    def recent_deadlines(self, count: int = 50) -> list[float]:
        """Deadlines of the latest requests we received (what a hold window must fit in)."""
        incoming = self.runner.trainer.incoming
        return [incoming[key].deadline_s for key in list(reversed(incoming))[:count]]

    def _apply_settings(self, settings: Settings | None) -> None:
        if settings is None:
            return
        self.configure(trust_threshold=settings.trust_threshold,
                       reputation_alpha=settings.reputation_alpha, hold_s=settings.hold_s)

    def configure(self, **changes: float) -> bool:
        try:
            self.runner.configure(**changes)
        except CommandError as exc:
            self._fail(str(exc))
            return False
        self.post_message(SettingsChanged())
        self.feed.redraw_all_peers()      # every bar's threshold mark moves
        return True

    def action_threshold(self, step: float) -> None:
        value = round(min(1.0, max(0.0, self.runner.trainer.trust_threshold + step)), 2)
        if self.configure(trust_threshold=value):
            self.setting_toast.show("threshold", f"Trust threshold {value:.2f}")

    def action_alpha(self, step: float) -> None:
        value = round(min(1.0, max(0.0, self.runner.trainer.reputation_alpha + step)), 2)
        if self.configure(reputation_alpha=value):
            self.setting_toast.show("alpha", f"Reputation α {value:.2f}")

    # ---- new request ------------------------------------------------------------
    def action_new_request(self) -> None:
        t = self.runner.trainer
        self.app.push_screen(RequestForm(sorted(t.known_ai_info), set(t.online)), self._send_request)

    def _send_request(self, request: NewRequest | None) -> None:
        if request is None:
            return
        try:
            request_id = self.runner.send_request(request.collaboration_type, request.feature,
                                                  request.deadline_s, request.recipient)
        except CommandError as exc:
            self._fail(f"Request not sent: {exc}")
            return
        to = peer_text(request.recipient) if request.recipient else "everyone"
        what = f"request {request_id[:8]} [{peer_text(request.collaboration_type, 64)}] to {to}"
        if not self.runner.trainer.joined:
            self.say(f"Queued {what}: sent when the hub is back")
        elif request.recipient and request.recipient not in self.runner.trainer.online:
            self.say(f"Queued {what} until {to} is online")
        else:
            self.say(f"Sent {what}")
        self.requests.refresh_rows({"out:" + request_id})
        self.requests.select_key("out:" + request_id)

    # ---- details ------------------------------------------------------------------
    def action_details(self) -> None:
        table = self._active
        key = table.selected_key
        if key is None:
            self._fail("Nothing selected.")
            return
        t = self.runner.trainer
        if table is self.requests:
            title, body, peer = request_details(t, key, self.requests.delivered_component)
        elif table is self.components:
            title, body, peer = component_details(t, key)
        else:
            title, body, peer = f"Peer {peer_text(key, 64)}", peer_details(t, key), key
        if body is None:
            self._fail("That row is no longer held by the trainer.")
            return
        self.app.push_screen(DetailsScreen(title, body, peer, t.book.records.get(peer) if peer else None,
                                           t.book.score(peer) if peer else None))

    # ---- the hub link ---------------------------------------------------------------
    def action_reconnect(self) -> None:
        if self.runner.retry_now():
            self.say("Retrying the hub now", timeout=3)
            self.status_line.redraw()
        else:
            self._fail(f"Not waiting to reconnect: the hub link is {self.runner.status.state}.")

    # ---- pause / filter / help -----------------------------------------------------
    def action_pause(self) -> None:
        self.feed.pause(not self.feed.paused)
        if self.feed.paused:
            self.notify("Feed paused: new events queue until you press the pause key again", timeout=3)
        self.status_line.redraw()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter_typed = event.value.strip()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = Later(self, FILTER_DEBOUNCE_S, self.apply_filter)

    def apply_filter(self) -> None:
        """Filter every table by what was typed: a narrower filter only looks at the rows
        shown (``FeedTable.narrow``); a wider one rebuilds from the trainer's state."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        text = self._filter_typed
        if text == self.filter_text:
            return
        self.filter_text = text
        self.status_line.filter_text = text
        for table in (self.requests, self.reputation, self.components):
            if table.narrows(text):
                table.narrow(text)
            else:
                table.filter_text = text
                table.rebuild_from_state()
        self._update_subtitles()
        self.status_line.redraw()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.apply_filter()
        box = self.query_one("#filter", Input)
        if not box.value.strip():
            box.remove_class("shown")
        self._active.focus()

    def key_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("shown"):
            box.value = ""
            self._filter_typed = ""
            self.apply_filter()
            box.remove_class("shown")
            self._active.focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(keys.key_help(self.key_display)))
