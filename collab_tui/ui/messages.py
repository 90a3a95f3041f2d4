"""The app's own messages."""
from __future__ import annotations

from textual.message import Message


class FeedQueued(Message):
    """Runner events were coalesced into the pending redraw; schedule a flush.

    Posted from the runner's callback, which may run in a task that has none of
    Textual's context: posting a message is the safe way back into the app. At most
    one is in flight (``can_replace`` collapses any duplicates).
    """

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FeedQueued)


class SettingsChanged(Message):
    """The operator changed the trainer's settings (threshold, α, hold window) on the screen.

    The app handles it: it is the one place that keeps the config (and its file) in step.
    """
