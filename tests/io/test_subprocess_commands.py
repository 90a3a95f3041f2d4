"""Producer and validator commands, run as real subprocesses (tiny Python scripts)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from collab_tui.io.subprocesses import run_producer, run_validator, validator_argv

PY = sys.executable


def py(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


async def poll(predicate, timeout=10.0):
    """Await a condition on the outside world (files, /proc) with a deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.01)


def gone(pid: int) -> bool:
    """Not running: reaped, or a zombie waiting for init (killed either way)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


# Spawns a grandchild in the same process group that keeps stdout open, records
# both pids, then blocks: only killing the whole group ends it.
GROUP = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""


# ---- producer ------------------------------------------------------------------------


async def test_producer_gets_the_request_on_stdin_and_returns_stdout():
    result = await run_producer(
        py("import json, sys; r = json.load(sys.stdin); sys.stdout.write('kernel ' + r['feature'] + ' ✓')"),
        {"feature": "scheduler", "request_id": "r1"},
        10,
    )
    assert result.ok and result.content == "kernel scheduler ✓"


async def test_producer_with_a_large_request_and_output_does_not_deadlock():
    request = {"blob": "x" * 2_000_000}
    result = await run_producer(
        py("import json, sys; r = json.load(sys.stdin); sys.stdout.write(r['blob'][:500000])"), request, 20
    )
    assert result.ok and len(result.content) == 500_000


async def test_producer_that_ignores_stdin_is_fine():
    result = await run_producer(py("print('done')"), {"blob": "y" * 1_000_000}, 10)
    assert result.ok and result.content == "done\n"


async def test_producer_nonzero_exit_reports_status_and_stderr():
    result = await run_producer(py("import sys; sys.stderr.write('\\nno GPU available\\nmore\\n'); sys.exit(3)"), {}, 10)
    assert not result.ok and result.content == ""
    assert result.reason == "producer exited with status 3: no GPU available"


async def test_producer_killed_by_a_signal_says_so():
    result = await run_producer(py("import os, signal; os.kill(os.getpid(), signal.SIGTERM)"), {}, 10)
    assert not result.ok and result.reason == "producer was killed by SIGTERM"


async def test_producer_output_over_the_cap_fails():
    at_cap = await run_producer(py("import sys; sys.stdout.write('a' * 1000)"), {}, 10, max_output_bytes=1000)
    assert at_cap.ok and len(at_cap.content) == 1000
    over = await run_producer(py("import sys; sys.stdout.write('a' * 5_000_000)"), {}, 10, max_output_bytes=1000)
    assert not over.ok and over.reason == "producer output exceeded 1000 bytes"


async def test_producer_invalid_utf8_fails():
    result = await run_producer(py("import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe')"), {}, 10)
    assert not result.ok and result.reason == "producer output is not valid UTF-8 (byte 3)"


async def test_producer_that_cannot_start(tmp_path):
    missing = await run_producer([str(tmp_path / "no-such-producer")], {}, 10)
    assert not missing.ok and missing.reason.startswith("producer could not start: No such file or directory")
    not_exec = tmp_path / "producer.sh"
    not_exec.write_text("#!/bin/sh\necho hi\n")
    not_exec.chmod(0o644)
    denied = await run_producer([str(not_exec)], {}, 10)
    assert not denied.ok and denied.reason.startswith("producer could not start: Permission denied")


async def test_empty_commands_are_a_programming_error():
    with pytest.raises(ValueError):
        await run_producer([], {}, 1)
    with pytest.raises(ValueError):
        await run_validator([], {"content": ""}, 1)


async def test_producer_timeout_kills_the_whole_group_and_reaps(tmp_path):
    pids_file = tmp_path / "pids"
    started = time.monotonic()
    result = await run_producer([PY, "-c", GROUP, str(pids_file)], {}, 1.5)
    assert time.monotonic() - started < 10
    assert not result.ok and result.reason == "producer timed out after 1.5 s"
    child, grandchild = map(int, pids_file.read_text().split())
    assert not Path(f"/proc/{child}").exists()  # killed and reaped by us: no zombie
    await poll(lambda: gone(grandchild))


async def test_cancelling_a_producer_kills_its_group(tmp_path):
    pids_file = tmp_path / "pids"
    task = asyncio.ensure_future(run_producer([PY, "-c", GROUP, str(pids_file)], {}, 600))
    await poll(pids_file.exists)
    child, grandchild = map(int, pids_file.read_text().split())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not Path(f"/proc/{child}").exists()
    await poll(lambda: gone(grandchild))


# ---- validator -----------------------------------------------------------------------

COMPONENT = {
    "id": "c-42",
    "name": "sched.py",
    "version": "1.0",
    "sha256": "ab" * 32,
    "content": "def schedule():\n    return 'ok'\n",
}

# Records what it saw (argv, stdin, the file and its permissions), then exits 0.
INSPECT = """
import json, os, stat, sys
path = [a for a in sys.argv[1:] if "/component" in a][-1].split("=", 1)[-1]
report = {
    "argv": sys.argv[1:],
    "stdin": json.load(sys.stdin),
    "content": open(path, encoding="utf-8").read(),
    "path": path,
    "file_mode": stat.S_IMODE(os.stat(path).st_mode),
    "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode),
}
open(os.environ["REPORT"], "w").write(json.dumps(report))
"""


async def test_validator_pass_sees_a_private_file_and_metadata_only(tmp_path):
    report_file = tmp_path / "report.json"
    env = {**os.environ, "REPORT": str(report_file)}
    result = await run_validator(py(INSPECT), COMPONENT, 10, env=env)
    assert (result.verdict, result.peer_fault) == ("pass", False)
    report = json.loads(report_file.read_text())
    assert report["stdin"] == {"id": "c-42", "name": "sched.py", "version": "1.0", "sha256": "ab" * 32}
    assert report["content"] == COMPONENT["content"]
    assert report["file_mode"] == 0o600 and report["dir_mode"] == 0o700
    assert report["path"].endswith("component.py")
    assert not any(COMPONENT["content"] in arg for arg in report["argv"])  # never on a command line
    assert not Path(report["path"]).exists() and not Path(report["path"]).parent.exists()  # removed after


async def test_validator_path_placeholder_is_substituted(tmp_path):
    report_file = tmp_path / "report.json"
    env = {**os.environ, "REPORT": str(report_file)}
    result = await run_validator([*py(INSPECT), "--strict", "--file={path}"], COMPONENT, 10, env=env)
    assert result.verdict == "pass"
    argv = json.loads(report_file.read_text())["argv"]
    assert argv[0] == "--strict" and argv[1].startswith("--file=/") and len(argv) == 2


def test_validator_argv():
    assert validator_argv(["lint"], "/t/c") == ["lint", "/t/c"]
    assert validator_argv(["lint", "{path}", "-q"], "/t/c") == ["lint", "/t/c", "-q"]
    assert validator_argv(["lint", "--in={path}"], "/t/c") == ["lint", "--in=/t/c"]


async def test_validator_content_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    hostile = dict(COMPONENT, content=f"$(touch {marker}); touch {marker}; `touch {marker}`", name="x.sh")
    result = await run_validator(py("import sys; open(sys.argv[1]).read()"), hostile, 10)
    assert result.verdict == "pass"
    assert not marker.exists()


async def test_validator_rejection_is_the_peers_fault_with_stderr_reason():
    result = await run_validator(
        py("import sys; sys.stderr.write('line 3: forbidden import os\\ndetails\\n'); sys.exit(1)"), COMPONENT, 10
    )
    assert (result.verdict, result.peer_fault) == ("fail", True)
    assert result.reason == "validator rejected the component: it exited with status 1: line 3: forbidden import os"


async def test_validator_reason_is_truncated_and_falls_back_to_stdout():
    long = await run_validator(py("import sys; sys.stderr.write('E' * 5000); sys.exit(2)"), COMPONENT, 10)
    assert long.verdict == "fail" and len(long.reason) < 300 and long.reason.endswith("…")
    quiet = await run_validator(py("print('too many lines'); raise SystemExit(4)"), COMPONENT, 10)
    assert quiet.reason == "validator rejected the component: it exited with status 4: too many lines"


async def test_validator_with_lots_of_output_still_passes():
    result = await run_validator(py("import sys; sys.stdout.write('x' * 3_000_000)"), COMPONENT, 10)
    assert result.verdict == "pass"


async def test_validator_timeout_is_the_peers_fault_and_cleans_up(tmp_path):
    pids_file = tmp_path / "pids"
    started = time.monotonic()
    result = await run_validator([PY, "-c", GROUP, str(pids_file)], COMPONENT, 1.5)
    assert time.monotonic() - started < 10
    assert (result.verdict, result.reason, result.peer_fault) == ("fail", "validator timed out after 1.5 s", True)
    child, grandchild = map(int, pids_file.read_text().split())
    assert not Path(f"/proc/{child}").exists()
    await poll(lambda: gone(grandchild))


async def test_validator_that_cannot_start_is_our_fault(tmp_path):
    result = await run_validator([str(tmp_path / "no-such-validator")], COMPONENT, 10)
    assert (result.verdict, result.peer_fault) == ("error", False)
    assert result.reason.startswith("validator could not start: No such file or directory")
    before = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    await run_validator([str(tmp_path / "no-such-validator")], COMPONENT, 10)
    after = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    assert not {n for n in after - before if n.startswith("collab-tui-validate-")}  # temp dir removed
