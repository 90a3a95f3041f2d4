"""`collab-tui --demo` tried as a person would: in tmux, keys typed, screen read."""
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


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for_screen(session: str, predicate, timeout: float, what: str) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(session)
        if predicate(text):
            return text
        time.sleep(0.1)  # polling the screen with a deadline; nothing to await in another process
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; screen was:\n{text}")


def test_demo_in_tmux_decides_helps_and_quits(tmp_path):
    session = f"collab-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "exit-code"
    command = (f"unset COLUMNS LINES; COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} {shlex.quote(sys.executable)} -m collab_tui.cli --demo; "
               f"echo $? > {shlex.quote(str(marker))}")
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "45", "sh", "-c", command)
    subprocess.run(["tmux", "resize-window", "-t", session, "-x", "160", "-y", "45"], capture_output=True)
    try:
        wait_for_screen(session, lambda s: "✓ ACCEPT" in s or "✗ REJECT" in s, 20, "a decision on screen")
        tmux("send-keys", "-t", session, "?")
        help_screen = wait_for_screen(session, lambda s: "Keys  (esc / q / ? to close)" in s, 10, "the help screen")
        assert "accept" in help_screen and "Override the selected received" in help_screen
        tmux("send-keys", "-t", session, "Escape")
        wait_for_screen(session, lambda s: "Keys  (esc" not in s, 10, "the help screen to close")
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 15
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the demo did not exit on q"
        assert marker.read_text().strip() == "0"
        assert (tmp_path / "you.state.toml").exists()  # state saved on quit
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_tui_refused_by_the_hub_says_why_and_exits_1(tmp_path):
    hub = subprocess.Popen([sys.executable, "-m", "collab_hub", "--port", "0", "--token", "right-token"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    session = f"collab-{uuid.uuid4().hex[:8]}"
    try:
        line = hub.stdout.readline()
        assert "listening on " in line, line
        url = line.split("listening on ", 1)[1].strip()
        marker = tmp_path / "exit-code"
        command = (f"COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} {shlex.quote(sys.executable)} -m collab_tui.cli "
                   f"N1 networking wrong-token --hub {url}; echo $? > {shlex.quote(str(marker))}")
        tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "45", "sh", "-c", command)
        subprocess.run(["tmux", "resize-window", "-t", session, "-x", "160", "-y", "45"], capture_output=True)
        wait_for_screen(session, lambda s: "refused: the hub refused the token (HTTP 401)" in s, 20,
                        "the refusal on the status line")
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 15
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists() and marker.read_text().strip() == "1"
        assert (tmp_path / "collab-tui.log").exists()  # logs went to a file, not over the screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        hub.terminate()
        hub.wait(10)
