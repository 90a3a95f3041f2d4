"""`collab-tui --demo` tried as a person would: in tmux, keys typed, screen read."""
from __future__ import annotations

import shlex
import subprocess
import sys

from tmuxkit import needs_tmux, wait_for_file

pytestmark = needs_tmux


def test_demo_in_tmux_decides_helps_and_quits(tmp_path, tmux):
    session = "demo"
    marker = tmp_path / "exit-code"
    command = (f"unset COLUMNS LINES; COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} {shlex.quote(sys.executable)} -m collab_tui.cli --demo; "
               f"echo $? > {shlex.quote(str(marker))}")
    tmux.start(session, 160, 45, command)
    tmux.wait_for_screen(session, lambda s: "✓ ACCEPT" in s or "✗ REJECT" in s, 20, "a decision on screen")
    tmux("send-keys", "-t", session, "?")
    help_screen = tmux.wait_for_screen(session, lambda s: "Keys  (esc / q / ? to close)" in s, 10, "the help screen")
    assert "accept" in help_screen and "Override the selected received" in help_screen
    tmux("send-keys", "-t", session, "Escape")
    tmux.wait_for_screen(session, lambda s: "Keys  (esc" not in s, 10, "the help screen to close")
    tmux("send-keys", "-t", session, "q")
    assert wait_for_file(marker, 15), "the demo did not exit on q"
    assert marker.read_text().strip() == "0"
    assert (tmp_path / "you.state.toml").exists()  # state saved on quit


def test_tui_refused_by_the_hub_says_why_and_exits_1(tmp_path, tmux):
    hub = subprocess.Popen([sys.executable, "-m", "collab_hub", "--port", "0", "--token", "right-token"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    session = "refused"
    try:
        line = hub.stdout.readline()
        assert "listening on " in line, line
        url = line.split("listening on ", 1)[1].strip()
        marker = tmp_path / "exit-code"
        command = (f"COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} {shlex.quote(sys.executable)} -m collab_tui.cli "
                   f"N1 networking wrong-token --hub {url}; echo $? > {shlex.quote(str(marker))}")
        tmux.start(session, 160, 45, command)
        tmux.wait_for_screen(session, lambda s: "refused: the hub refused the token (HTTP 401)" in s, 20,
                             "the refusal on the status line")
        tmux("send-keys", "-t", session, "q")
        assert wait_for_file(marker, 15) and marker.read_text().strip() == "1"
        assert (tmp_path / "collab-tui.log").exists()  # logs went to a file, not over the screen
    finally:
        hub.terminate()
        hub.wait(10)
