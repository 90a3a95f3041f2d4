"""Making sure the process ends once the console has quit (``arm_exit_watchdog``)."""
from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Callable

#: how long the console's own shutdown may take once the runner has stopped and the state is saved
EXIT_WATCHDOG_S = 5.0


def arm_exit_watchdog(after_s: float, code: Callable[[], int]) -> threading.Timer:
    """Once the console has stopped the runner (state saved), make sure the process ends.

    When the terminal goes away while the console is shutting down (the window closed, or
    the tmux server killed, a moment after ``q``), the UI library's terminal threads can
    deadlock the shutdown (its writer's queue) or outlive the app and hold the interpreter's
    exit; either way the process would linger forever, deaf to SIGTERM (a Python handler
    needs the blocked main thread). A daemon timer still runs then: after ``after_s`` it
    flushes what it can and ends the process with ``code()``. A normal exit is long over by
    then, and the timer, a daemon, never delays it.
    """
    def fire() -> None:
        logging.getLogger(__name__).warning(
            "the console did not finish shutting down within %g s (the terminal went away?): exiting", after_s)
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass              # the terminal is gone: nothing more can be said there
        os._exit(code())

    timer = threading.Timer(after_s, fire)
    timer.daemon = True
    timer.start()
    return timer
