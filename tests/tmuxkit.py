"""tmux for the tests that try the TUI as a person would: a private tmux server per test.

Each test gets its own server (``tmux -S <a fresh socket> -f /dev/null``), so tests never share
one: with a shared default server, the last session's ``kill-session`` makes the server exit,
and a ``new-session`` arriving while it shuts down fails with "server exited unexpectedly"
(it failed CI once that way). The server is killed when the test ends; nothing the person
running the tests has in tmux (their own sessions, their ``~/.tmux.conf``) is touched.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One private tmux server; ``tmux("send-keys", ...)`` runs a tmux command against it."""

    def __init__(self) -> None:
        self._new_server()

    def _new_server(self) -> None:
        # a short path of its own: unix socket paths are limited to ~100 bytes
        self.directory = Path(tempfile.mkdtemp(prefix="collab-tmux-"))
        self.base = ["tmux", "-S", str(self.directory / "socket"), "-f", "/dev/null"]

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, check=True, timeout=10).stdout

    def start(self, session: str, width: int, height: int, command: str) -> None:
        """A detached session of ``width``×``height`` running ``sh -c command``."""
        args = ("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), "sh", "-c", command)
        try:
            self(*args)
        except subprocess.CalledProcessError as error:
            # tmux's own start-up failing (not the program under test): once more, on a new server
            if "server exited unexpectedly" not in (error.stderr or ""):
                raise
            self.kill()
            self._new_server()
            self(*args)
        self.quiet("resize-window", "-t", session, "-x", str(width), "-y", str(height))

    def quiet(self, *args: str) -> None:
        """A tmux command whose failure does not matter (resizing, cleaning up)."""
        subprocess.run([*self.base, *args], check=False, capture_output=True, timeout=10)

    def screen(self, session: str) -> str:
        return self("capture-pane", "-p", "-t", session)

    def wait_for_screen(self, session: str, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        """The screen once ``predicate`` holds for it (a predicate raising StopIteration,
        ValueError or IndexError, about a part not drawn yet, counts as not yet); fails naming
        ``what``."""
        seen = [""]

        def ready() -> bool:
            seen[0] = self.screen(session)
            try:
                return bool(predicate(seen[0]))
            except (StopIteration, ValueError, IndexError):     # a part not drawn yet
                return False

        if not poll(ready, timeout):
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; screen was:\n{seen[0]}")
        return seen[0]

    def kill(self) -> None:
        self.quiet("kill-server")
        shutil.rmtree(self.directory, ignore_errors=True)


def poll(ready: Callable[[], bool], timeout: float, every: float = 0.1) -> bool:
    """Whether ``ready()`` holds within ``timeout`` s. For what another process does (a tmux
    screen, a file it writes): there is no event of ours to await, so it is polled."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)  # polling another process with a deadline
    return True


def wait_for_file(path, timeout: float) -> bool:
    """Whether ``path`` exists within ``timeout`` s (another process writes it)."""
    return poll(path.exists, timeout, every=0.05)


@pytest.fixture
def tmux():
    server = Tmux()
    try:
        yield server
    finally:
        server.kill()
