"""Producer and validator commands, run in subprocesses.

Both run an argv list (never a shell) in a new session, so on timeout — or if
the caller is cancelled — the whole process group is killed with SIGKILL and
the child is reaped; leftover members of the group are also killed once the
command has finished. Output is read concurrently with writing stdin (no pipe
deadlock) and is capped.

Producer: the request as JSON on stdin; the component's content is stdout
(UTF-8). Validator: the component's content goes into a private temporary file
(0600 in a 0700 directory, removed afterwards); its metadata (id, name, version,
sha256 — not the content) is JSON on stdin. The content never appears on a
command line and is never executed or evaluated in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Sequence

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "PATH_PLACEHOLDER",
    "ProducerResult",
    "ValidatorResult",
    "run_producer",
    "run_validator",
    "validator_argv",
]

DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024
PATH_PLACEHOLDER = "{path}"
_STDERR_KEEP = 64 * 1024
_REASON_LINE_MAX = 200
_CHUNK = 65536
_CLEANUP_S = 2.0
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


@dataclass(frozen=True)
class ProducerResult:
    ok: bool
    content: str  # "" unless ok
    reason: str


@dataclass(frozen=True)
class ValidatorResult:
    verdict: Literal["pass", "fail", "error"]
    reason: str
    peer_fault: bool  # True: counts against the component's sender


@dataclass
class _Finished:
    returncode: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    overflowed: bool = False


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _read_capped(
    stream: asyncio.StreamReader, limit: int, on_overflow: Callable[[], None] | None = None
) -> tuple[bytes, bool]:
    """Read to EOF keeping at most *limit* bytes. Returns (data, overflowed).

    Always drains to EOF: asyncio's ``Process.wait()`` also waits for the pipes,
    so a pipe left unread would hang it. *on_overflow* runs once, when the
    limit is first exceeded.
    """
    chunks: list[bytes] = []
    size = 0
    overflowed = False
    while True:
        chunk = await stream.read(_CHUNK)
        if not chunk:
            return b"".join(chunks), overflowed
        if overflowed:
            continue
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            size = limit
            overflowed = True
            if on_overflow is not None:
                on_overflow()
        else:
            chunks.append(chunk)
            size += len(chunk)


async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> None:
    # The command may exit or close stdin without reading it all; that is its right.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(data)
        await stdin.drain()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.close()
        await stdin.wait_closed()


async def _run(
    argv: Sequence[str],
    stdin_data: bytes,
    timeout_s: float,
    max_stdout: int,
    env: Mapping[str, str] | None,
    *,
    overflow_kills: bool,
) -> _Finished:
    """Run *argv*; raises OSError if it cannot be started.

    Stdout beyond *max_stdout* bytes: with overflow_kills the group is killed
    and the result is marked overflowed; otherwise the rest is drained and dropped.
    """
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        env=dict(env) if env is not None else None,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    kill = (lambda: _kill_group(proc.pid)) if overflow_kills else None
    tasks = (
        asyncio.ensure_future(_feed(proc.stdin, stdin_data)),
        asyncio.ensure_future(_read_capped(proc.stdout, max_stdout, kill)),
        asyncio.ensure_future(_read_capped(proc.stderr, _STDERR_KEEP)),
    )
    feeder, out_reader, err_reader = tasks
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout_s):
                # wait(), not gather(): a timeout or a cancellation must not cancel
                # the readers — the pipes have to be drained for the child to be reaped.
                await asyncio.wait(tasks)
                await proc.wait()
        except TimeoutError:
            timed_out = True
    finally:
        # Timeout, overflow, cancellation or success: nothing of the group
        # survives, the pipes are closed and the child is reaped.
        await asyncio.shield(_finish(proc, tasks))
    stdout, overflowed = out_reader.result() if not out_reader.cancelled() else (b"", False)
    stderr = err_reader.result()[0] if not err_reader.cancelled() else b""
    if not feeder.cancelled() and feeder.exception() is not None:
        raise feeder.exception()  # type: ignore[misc]
    return _Finished(proc.returncode, stdout, stderr, timed_out=timed_out, overflowed=overflowed and overflow_kills)


async def _finish(proc: asyncio.subprocess.Process, tasks: Sequence[asyncio.Future[Any]]) -> None:
    _kill_group(proc.pid)
    # With the group dead the pipes reach EOF at once, unless something that left
    # the group still holds them: then give up on the output and close them.
    _, pending = await asyncio.wait(tasks, timeout=_CLEANUP_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)  # also marks errors as retrieved
    if pending:
        transport = getattr(proc, "_transport", None)
        if transport is not None:
            transport.close()
    await proc.wait()


def _first_line(data: bytes) -> str:
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= _REASON_LINE_MAX else line[: _REASON_LINE_MAX - 1] + "…"
    return ""


def _exit_description(returncode: int | None) -> str:
    if returncode is None:
        return "did not exit"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _start_failure(exc: OSError) -> str:
    if exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return exc.strerror or str(exc)


async def run_producer(
    command: Sequence[str],
    request: Mapping[str, Any],
    timeout_s: float,
    *,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    env: Mapping[str, str] | None = None,
) -> ProducerResult:
    """Run a producer: *request* as JSON on stdin, the content is its stdout.

    Not ok (with the reason) if it cannot start, exits non-zero, is killed,
    times out, writes more than *max_output_bytes* or writes invalid UTF-8.
    Raises ValueError for an empty command (use the built-in producer).
    """
    if not command:
        raise ValueError("producer command is empty")
    payload = json.dumps(request, separators=(",", ":")).encode("utf-8")
    try:
        done = await _run(list(command), payload, timeout_s, max_output_bytes, env, overflow_kills=True)
    except OSError as exc:
        return ProducerResult(False, "", f"producer could not start: {_start_failure(exc)}")
    if done.timed_out:
        return ProducerResult(False, "", f"producer timed out after {_seconds(timeout_s)}")
    if done.overflowed:
        return ProducerResult(False, "", f"producer output exceeded {max_output_bytes} bytes")
    if done.returncode != 0:
        detail = _first_line(done.stderr)
        return ProducerResult(
            False, "", f"producer {_exit_description(done.returncode)}" + (f": {detail}" if detail else "")
        )
    try:
        content = done.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ProducerResult(False, "", f"producer output is not valid UTF-8 (byte {exc.start})")
    return ProducerResult(True, content, f"produced {len(done.stdout)} bytes")


def validator_argv(command: Sequence[str], path: str) -> list[str]:
    """``{path}`` in any argv element is replaced by *path*; without it, *path* is appended."""
    if any(PATH_PLACEHOLDER in arg for arg in command):
        return [arg.replace(PATH_PLACEHOLDER, path) for arg in command]
    return [*command, path]


def _component_file_name(component: Mapping[str, Any]) -> str:
    name = component.get("name")
    suffix = os.path.splitext(name)[1] if isinstance(name, str) else ""
    return "component" + (suffix if _SAFE_SUFFIX.fullmatch(suffix) else "")


async def run_validator(
    command: Sequence[str],
    component: Mapping[str, Any],
    timeout_s: float,
    *,
    env: Mapping[str, str] | None = None,
) -> ValidatorResult:
    """Validate *component* (a dict with at least ``content``) with *command*.

    Exit 0 -> "pass". Non-zero exit or killed -> "fail", peer_fault=True, the
    reason carries the first line of stderr (else stdout). Timeout -> "fail",
    peer_fault=True. Cannot start or cannot write the temporary file ->
    "error", peer_fault=False (our fault, never counted against the peer).
    Raises ValueError for an empty command.
    """
    if not command:
        raise ValueError("validator command is empty")
    content = component.get("content", "")
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    metadata = {key: component.get(key) for key in ("id", "name", "version", "sha256")}
    payload = json.dumps(metadata, separators=(",", ":")).encode("utf-8")
    try:
        directory = tempfile.mkdtemp(prefix="collab-tui-validate-")  # mode 0700
    except OSError as exc:
        return ValidatorResult("error", f"validator could not run: no temporary directory ({exc})", False)
    try:
        path = os.path.join(directory, _component_file_name(component))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            return ValidatorResult("error", f"validator could not run: cannot write the component file ({exc})", False)
        argv = validator_argv(command, path)
        try:
            done = await _run(argv, payload, timeout_s, _STDERR_KEEP, env, overflow_kills=False)
        except OSError as exc:
            return ValidatorResult("error", f"validator could not start: {_start_failure(exc)}", False)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if done.timed_out:
        return ValidatorResult("fail", f"validator timed out after {_seconds(timeout_s)}", True)
    if done.returncode == 0:
        return ValidatorResult("pass", "validator passed", False)
    detail = _first_line(done.stderr) or _first_line(done.stdout)
    reason = f"validator rejected the component: it {_exit_description(done.returncode)}"
    return ValidatorResult("fail", reason + (f": {detail}" if detail else ""), True)
