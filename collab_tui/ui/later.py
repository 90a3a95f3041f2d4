"""One-shot delayed calls for the console that always happen (``Later``)."""
from __future__ import annotations

import asyncio
from typing import Any, Callable


class Later:
    """Call ``callback`` on ``host`` (in its message loop) after ``delay`` seconds, once.

    Through asyncio's own timer, not Textual's ``set_timer``: a one-shot Textual timer whose
    task starts later than its delay is skipped and never fires, and a stall of a few
    milliseconds (a collection, another thread holding the GIL) is enough with the feed's 1 ms
    slice delay. The batch waiting for it then waited forever: after about 20 minutes of the
    demo every table froze, while the status line, drawn by its own interval timer, went on
    (``benchmarks/one_shot_timers.py``). Every one-shot delay of the console goes through here.
    """

    __slots__ = ("_handle",)

    def __init__(self, host: Any, delay: float, callback: Callable[[], None]) -> None:
        self._handle = asyncio.get_running_loop().call_later(delay, host.call_next, callback)

    def stop(self) -> None:
        self._handle.cancel()
