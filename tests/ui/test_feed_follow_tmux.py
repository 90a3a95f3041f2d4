"""Follow mode as a person sees it: `collab-tui --demo` in tmux at 80×24, keys typed, the
screen read. The demo's bots keep sending requests, so rows keep arriving."""
from __future__ import annotations

import shlex
import sys

from tmuxkit import needs_tmux

pytestmark = needs_tmux


def requests_box(text: str) -> tuple[str, list[str]]:
    """(the Requests box's bottom border, its data lines without the scrollbar column)."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if "╭─ Requests" in line)
    bottom = next(i for i in range(top + 1, len(lines)) if lines[i].startswith("╰"))
    return lines[bottom], [line[:-2] for line in lines[top + 2:bottom]]


def shown(text: str) -> int:
    border, _ = requests_box(text)
    return int(border.split(" shown")[0].split()[-1])


def newer(text: str) -> int:
    """N of "↑ N newer" in the Requests border (0 when following)."""
    border, _ = requests_box(text)
    return int(border.split("↑ ")[1].split()[0]) if "↑ " in border else 0


def test_the_feed_follows_holds_still_when_left_and_home_returns(tmp_path, tmux):
    session = "follow"
    # COLUMNS/LINES from the environment would override the terminal's real size
    command = (f"env -u COLUMNS -u LINES COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} "
               f"{shlex.quote(sys.executable)} -m collab_tui.cli --demo")
    tmux.start(session, 80, 24, command)
    # more rows than the box holds
    text = tmux.wait_for_screen(session, lambda s: shown(s) > len(requests_box(s)[1]) + 2, 40, "a full Requests box")
    # following: new rows keep appearing at the top
    first = requests_box(text)[1][0]
    tmux.wait_for_screen(session, lambda s: requests_box(s)[1][0] != first, 20, "a new row at the top")

    # the operator moves away: the rows on screen stay put, "↑ N newer" counts arrivals
    tmux("send-keys", "-t", session, "Down", "Down")
    text = tmux.wait_for_screen(session, lambda s: "newer (home)" in requests_box(s)[0], 30, "↑ N newer in the border")
    held, before = requests_box(text)[1], newer(text)
    text = tmux.wait_for_screen(session, lambda s: newer(s) > before, 30, "more rows to arrive")
    assert requests_box(text)[1] == held, "the view moved while the operator was away from the top"

    # home: back to the newest row, following again
    tmux("send-keys", "-t", session, "Home")
    text = tmux.wait_for_screen(session, lambda s: "newer" not in requests_box(s)[0], 10, "the newer count to go")
    assert requests_box(text)[1][0] != held[0]
    tmux("send-keys", "-t", session, "q")
