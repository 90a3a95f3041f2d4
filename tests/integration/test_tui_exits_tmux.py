"""Clean exits, tried in tmux: SIGTERM, SIGHUP and ctrl+c save state, restore the terminal, exit 0."""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from .test_demo_tmux import screen, tmux, wait_for_screen

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _wait_for_file(path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # another process writes it; nothing to await here


def _demo_pid(session: str) -> int:
    pane_pid = tmux("display", "-p", "-t", session, "#{pane_pid}").strip()
    children = subprocess.run(["pgrep", "-P", pane_pid], capture_output=True, text=True).stdout.split()
    assert len(children) == 1, children
    return int(children[0])


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "ctrl+c"])
def test_demo_exits_cleanly(tmp_path, how):
    session = f"collab-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "exit-code"
    # After the app exits the shell waits on a fifo, so the pane stays open to be read.
    fifo = tmp_path / "hold"
    os.mkfifo(fifo)
    command = (f"unset COLUMNS LINES; COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} {shlex.quote(sys.executable)} -m collab_tui.cli --demo; "
               f"echo $? > {shlex.quote(str(marker))}; read x < {shlex.quote(str(fifo))}")
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", "sh", "-c", command)
    try:
        wait_for_screen(session, lambda s: "✓ ACCEPT" in s or "✗ REJECT" in s, 20, "a decision on screen")
        assert tmux("display", "-p", "-t", session, "#{alternate_on}").strip() == "1"
        if how == "ctrl+c":
            tmux("send-keys", "-t", session, "C-c")
        else:
            os.kill(_demo_pid(session), getattr(signal, how))
        _wait_for_file(marker, 15)
        assert marker.exists(), f"the demo did not exit on {how}"
        assert marker.read_text().strip() == "0"
        # Terminal restored: alternate screen off, cursor shown, mouse tracking off.
        assert tmux("display", "-p", "-t", session, "#{alternate_on}#{cursor_flag}").strip() == "01"
        assert tmux("display", "-p", "-t", session, "#{mouse_any_flag}#{mouse_button_flag}").strip() == "00"
        text = tmux("capture-pane", "-p", "-t", session)
        assert "Terminated" not in text and "ctrl+q" not in text
        assert (tmp_path / "you.state.toml").exists()  # state saved
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
def test_small_terminal_keeps_help_and_quit_in_the_footer(tmp_path, size):
    width, height = size
    session = f"collab-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "exit-code"
    # COLUMNS/LINES from the caller's environment would override the pane's size
    command = (f"unset COLUMNS LINES; COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} {shlex.quote(sys.executable)} "
               f"-m collab_tui.cli --demo; echo $? > {shlex.quote(str(marker))}")
    tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), "sh", "-c", command)
    subprocess.run(["tmux", "resize-window", "-t", session, "-x", str(width), "-y", str(height)],
                   capture_output=True)
    try:
        wait_for_screen(session, lambda s: "✓ ACCEPT" in s or "✗ REJECT" in s, 20, "a decision on screen")
        # the last line drawn is the key bar, with ? Help and q Quit whatever else had to go
        def footer(text: str) -> str:
            drawn = [line for line in text.splitlines() if line.strip()]
            return drawn[-1] if drawn else ""
        deadline = time.monotonic() + 10
        while tmux("display", "-p", "-t", session, "#{window_width}x#{window_height}").strip() != f"{width}x{height}":
            assert time.monotonic() < deadline, "tmux did not give the window the size asked for"
            subprocess.run(["tmux", "resize-window", "-t", session, "-x", str(width), "-y", str(height)],
                           capture_output=True)
            time.sleep(0.1)  # polling tmux, another process
        wait_for_screen(session, lambda s: "? Help" in footer(s) and "q Quit" in footer(s) and len(footer(s)) <= width,
                        10, "? Help and q Quit in the footer")
        # drawn at the pane's full width (the Requests border spans it)
        assert any(line.startswith("╭─ Requests") and len(line) == width for line in screen(session).splitlines())
        assert "you · general" in screen(session).splitlines()[0]     # our id on the status line
        tmux("send-keys", "-t", session, "q")
        _wait_for_file(marker, 15)
        assert marker.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
