"""Log lines a peer cannot write into: every record's text is cleaned on its way out.

Log messages interpolate values that came from peers (ids, reasons, frame details).
:class:`PeerSafeFormatter` passes the formatted message, and each line of an exception's
text, through :func:`~collab_tui.core.text.peer_text`, so no ESC sequence or control
character reaches a terminal (stderr) or a log file that a person will ``cat``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TextIO

from ..core.text import peer_text

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: A log line's message is bounded too (a peer's text is at most 1,024 characters of one
#: field; a line may carry a few of them).
MAX_LOG_MESSAGE = 8192


class PeerSafeFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose output holds no terminal control sequences."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = peer_text(record.message, MAX_LOG_MESSAGE)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:  # noqa: N802
        text = super().formatException(ei)
        return "\n".join(peer_text(line, MAX_LOG_MESSAGE) for line in text.splitlines())

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return "\n".join(peer_text(line, MAX_LOG_MESSAGE) for line in stack_info.splitlines())


def configure_logging(level: str | int, *, stream: TextIO | None = None, path: Path | None = None,
                      fmt: str = LOG_FORMAT) -> None:
    """Send the root logger to *stream* or to the file at *path*, through a safe formatter.

    Handlers configured before are removed (the TUI moves logging from stderr to a file
    when it takes the terminal over).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handler: logging.Handler
    if path is not None:
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream)
    handler.setFormatter(PeerSafeFormatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)
