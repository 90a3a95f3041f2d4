"""``--config`` / ``--state`` that cannot be files are refused at start, in one line; a
state save that fails at exit is reported in one line and the previous file is kept."""
from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys

import pytest

from collab_tui import NetworkedKernelTrainer
from collab_tui.io.state import StateStore

from .conftest import TOKEN, start_hub

PY = sys.executable


def run_cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLLAB_TUI_HOME": str(tmp_path)}
    return subprocess.run([PY, "-m", "collab_tui.cli", "A", "networking", TOKEN, "--headless",
                           "--hub", "ws://127.0.0.1:9/", *args],
                          capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("flag", ["--config", "--state"])
@pytest.mark.parametrize("kind", ["directory", "fifo", "under-a-file"])
def test_a_path_that_cannot_be_a_file_is_refused_at_start(tmp_path, flag, kind):
    target = tmp_path / "target"
    if kind == "directory":
        target.mkdir()
        needle = "is a directory, not a file"
    elif kind == "fifo":
        os.mkfifo(target)        # reading it would block forever: it must never be opened
        needle = "is a FIFO (named pipe), not a regular file"
    else:
        (tmp_path / "plain").write_text("x")
        target = tmp_path / "plain" / "state.toml"
        needle = f"{tmp_path / 'plain'} is a file, not a folder"
    result = run_cli(tmp_path, flag, str(target))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"collab-tui: {flag} {target}: ")
    assert needle in lines[0] and "Traceback" not in result.stderr


async def test_a_failed_save_at_exit_is_one_line_and_keeps_the_previous_file(tmp_path):
    """The process may write at most 64 bytes to any file (RLIMIT_FSIZE), so its save fails."""
    hub = await start_hub()
    state = tmp_path / "state.toml"
    earlier = NetworkedKernelTrainer("A", "networking")
    earlier._update_reputation("old-peer", True, "delivered in an earlier run")
    StateStore(state).save(earlier.export_state())
    before = state.read_bytes()
    assert len(before) > 64
    env = {**os.environ, "COLLAB_TUI_HOME": str(tmp_path)}

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    proc = await asyncio.create_subprocess_exec(
        PY, "-m", "collab_tui.cli", "A", "networking", TOKEN, "--hub", hub.url, "--headless",
        "--state", str(state), "--config", str(tmp_path / "config.toml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, preexec_fn=small_files)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        while b"joined the hub" not in line:
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line, "the trainer never joined"
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await hub.close()
    err_lines = err.decode().strip().splitlines()
    assert proc.returncode == 1
    assert "Traceback" not in err.decode()
    final = [line for line in err_lines if line.startswith("collab-tui: could not save reputation state")]
    assert len(final) == 1 and str(state) in final[0] and "the previous state file is kept" in final[0]
    assert state.read_bytes() == before
