"""Clean exits, tried in tmux: SIGTERM, SIGHUP and ctrl+c save state, restore the terminal, exit 0."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

import pytest
from tmuxkit import needs_tmux, wait_for_file

pytestmark = needs_tmux


def _demo_pid(tmux, session: str) -> int:
    pane_pid = tmux("display", "-p", "-t", session, "#{pane_pid}").strip()
    children = subprocess.run(["pgrep", "-P", pane_pid], check=False, capture_output=True, text=True).stdout.split()
    assert len(children) == 1, children
    return int(children[0])


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "ctrl+c"])
def test_demo_exits_cleanly(tmp_path, tmux, how):
    session = "exits"
    marker = tmp_path / "exit-code"
    # After the app exits the shell waits on a fifo, so the pane stays open to be read.
    fifo = tmp_path / "hold"
    os.mkfifo(fifo)
    command = (f"unset COLUMNS LINES; COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} {shlex.quote(sys.executable)} -m collab_tui.cli --demo; "
               f"echo $? > {shlex.quote(str(marker))}; read x < {shlex.quote(str(fifo))}")
    tmux.start(session, 100, 30, command)
    tmux.wait_for_screen(session, lambda s: "✓ ACCEPT" in s or "✗ REJECT" in s, 20, "a decision on screen")
    assert tmux("display", "-p", "-t", session, "#{alternate_on}").strip() == "1"
    if how == "ctrl+c":
        tmux("send-keys", "-t", session, "C-c")
    else:
        os.kill(_demo_pid(tmux, session), getattr(signal, how))
    assert wait_for_file(marker, 15), f"the demo did not exit on {how}"
    assert marker.read_text().strip() == "0"
    # Terminal restored: alternate screen off, cursor shown, mouse tracking off.
    assert tmux("display", "-p", "-t", session, "#{alternate_on}#{cursor_flag}").strip() == "01"
    assert tmux("display", "-p", "-t", session, "#{mouse_any_flag}#{mouse_button_flag}").strip() == "00"
    text = tmux.screen(session)
    assert "Terminated" not in text and "ctrl+q" not in text
    assert (tmp_path / "you.state.toml").exists()  # state saved


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
def test_small_terminal_keeps_help_and_quit_in_the_footer(tmp_path, tmux, size):
    width, height = size
    session = "small"
    marker = tmp_path / "exit-code"
    # COLUMNS/LINES from the caller's environment would override the pane's size
    command = (f"unset COLUMNS LINES; COLLAB_TUI_HOME={shlex.quote(str(tmp_path))} {shlex.quote(sys.executable)} "
               f"-m collab_tui.cli --demo; echo $? > {shlex.quote(str(marker))}")
    tmux.start(session, width, height, command)
    tmux.wait_for_screen(session, lambda s: "✓ ACCEPT" in s or "✗ REJECT" in s, 20, "a decision on screen")

    # the last line drawn is the key bar, with ? Help and q Quit whatever else had to go
    def footer(text: str) -> str:
        drawn = [line for line in text.splitlines() if line.strip()]
        return drawn[-1] if drawn else ""

    def sized() -> bool:
        tmux.quiet("resize-window", "-t", session, "-x", str(width), "-y", str(height))
        return tmux("display", "-p", "-t", session, "#{window_width}x#{window_height}").strip() == f"{width}x{height}"

    tmux.wait_for_screen(session, lambda s: sized(), 10, "tmux to give the window the size asked for")
    tmux.wait_for_screen(session, lambda s: "? Help" in footer(s) and "q Quit" in footer(s) and len(footer(s)) <= width,
                         10, "? Help and q Quit in the footer")
    # drawn at the pane's full width (the Requests border spans it)
    assert any(line.startswith("╭─ Requests") and len(line) == width for line in tmux.screen(session).splitlines())
    assert "you · general" in tmux.screen(session).splitlines()[0]     # our id on the status line
    tmux("send-keys", "-t", session, "q")
    assert wait_for_file(marker, 15)
    assert marker.read_text().strip() == "0"
