"""Follow mode as a person sees it: `collab-tui --demo` in tmux at 80×24, keys typed, the
screen read. The demo's bots keep sending requests, so rows keep arriving."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=10).stdout


def requests_box(text: str) -> tuple[str, list[str]]:
    """(the Requests box's bottom border, its data lines without the scrollbar column)."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if "╭─ Requests" in line)
    bottom = next(i for i in range(top + 1, len(lines)) if lines[i].startswith("╰"))
    return lines[bottom], [line[:-2] for line in lines[top + 2:bottom]]


def wait_for(session: str, predicate, timeout: float, what: str) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = tmux("capture-pane", "-p", "-t", session)
        try:
            if predicate(text):
                return text
        except StopIteration:       # the Requests box is not drawn yet
            pass
        time.sleep(0.1)  # polling another process's screen with a deadline; nothing to await
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; screen was:\n{text}")


def shown(text: str) -> int:
    border, _ = requests_box(text)
    return int(border.split(" shown")[0].split()[-1])


def newer(text: str) -> int:
    """N of "↑ N newer" in the Requests border (0 when following)."""
    border, _ = requests_box(text)
    return int(border.split("↑ ")[1].split()[0]) if "↑ " in border else 0


def test_the_feed_follows_holds_still_when_left_and_home_returns(tmp_path):
    session = f"collab-{uuid.uuid4().hex[:8]}"
    # COLUMNS/LINES from the environment would override the terminal's real size
    command = (f"env -u COLUMNS -u LINES COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} "
               f"{shlex.quote(sys.executable)} -m collab_tui.cli --demo")
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "sh", "-c", command)
    subprocess.run(["tmux", "resize-window", "-t", session, "-x", "80", "-y", "24"], capture_output=True)
    try:
        # more rows than the box holds
        text = wait_for(session, lambda s: shown(s) > len(requests_box(s)[1]) + 2, 40, "a full Requests box")
        # following: new rows keep appearing at the top
        first = requests_box(text)[1][0]
        wait_for(session, lambda s: requests_box(s)[1][0] != first, 20, "a new row at the top")

        # the operator moves away: the rows on screen stay put, "↑ N newer" counts arrivals
        tmux("send-keys", "-t", session, "Down", "Down")
        text = wait_for(session, lambda s: "newer (home)" in requests_box(s)[0], 30, "↑ N newer in the border")
        held, before = requests_box(text)[1], newer(text)
        text = wait_for(session, lambda s: newer(s) > before, 30, "more rows to arrive")
        assert requests_box(text)[1] == held, "the view moved while the operator was away from the top"

        # home: back to the newest row, following again
        tmux("send-keys", "-t", session, "Home")
        text = wait_for(session, lambda s: "newer" not in requests_box(s)[0], 10, "the newer count to go")
        assert requests_box(text)[1][0] != held[0]
        tmux("send-keys", "-t", session, "q")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
