"""How long `collab-tui --demo` takes from `q` to the shell prompt, against an empty Textual app.

Each run starts the program in a detached tmux session (160×48), waits until it has drawn (the demo:
a decision on screen, after two more seconds of traffic), sends `q`, and times until the shell behind
it writes the exit code. The baseline is an app with one Static and a `q` binding, timed the same way
in the same run, so the ratio says what the demo's own shutdown (runner stopped, state and config
written, hub and bots closed, temp home removed) adds to Textual's.

    python benchmarks/tui_quit.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

BASELINE_APP = """
from textual.app import App
from textual.widgets import Static
class Empty(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Static("ready")
Empty().run()
"""


def timed_quit(command: str, ready: str, settle_s: float) -> tuple[float, str]:
    home = tempfile.mkdtemp(prefix="tui-quit-")
    code_file = os.path.join(home, "rc")
    session = f"quit-{uuid.uuid4().hex[:8]}"
    env = f"COLLAB_TUI_HOME={shlex.quote(home)}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", "sh", "-c",
                    f"{env} {command}; echo $? > {shlex.quote(code_file)}; sleep 30"], check=True)
    try:
        deadline = time.monotonic() + 60
        while ready not in subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                          capture_output=True, text=True).stdout:
            if time.monotonic() > deadline:
                raise SystemExit(f"{command!r} did not draw {ready!r} within 60 s")
            time.sleep(0.05)
        time.sleep(settle_s)
        start = time.monotonic()
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        while not os.path.exists(code_file):
            time.sleep(0.002)
        took = time.monotonic() - start
        with open(code_file) as f:
            return took, f.read().strip()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tui_quit: tmux is not installed", file=sys.stderr)
        return 2
    py = shlex.quote(sys.executable)
    demo, base = [], []
    for run in range(1, args.runs + 1):
        d, d_code = timed_quit(f"{py} -m collab_tui.cli --demo", "ACCEPT", 2.0)
        b, b_code = timed_quit(f"{py} -c {shlex.quote(BASELINE_APP)}", "ready", 2.0)
        demo.append(d)
        base.append(b)
        print(f"  run {run}: demo {d * 1000:5.0f} ms (exit {d_code}) · empty app {b * 1000:5.0f} ms (exit {b_code})")
    md, mb = statistics.median(demo), statistics.median(base)
    print(f"demo      : median {md * 1000:.0f} ms, max {max(demo) * 1000:.0f} ms (target < 500 ms) "
          f"{'OK' if max(demo) < 0.5 else 'ABOVE TARGET'}")
    print(f"empty app : median {mb * 1000:.0f} ms")
    print(f"ratio     : demo / empty app {md / mb:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
