"""Crash-safe file replacement and moving bad files aside.

``atomic_write_bytes`` writes to a temporary file in the target's directory,
flushes and fsyncs it, ``os.replace``s it over the target and fsyncs the
directory. A process killed at any instant leaves either the previous file or
the new one at ``path`` — never a torn one. A kill before the rename can leave a
stray ``.<name>.<random>.tmp`` beside the target; it never affects the target.

``move_aside`` renames a file that could not be used to
``<name>.bad-<UTC timestamp>`` without ever overwriting an existing file.
"""

from __future__ import annotations

import os
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "move_aside", "temp_file_prefix"]

# One writer per target path inside this process: two threads replacing the same
# file would each be atomic, but could land in the wrong order.
_path_locks: dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    key = os.path.abspath(path)
    with _path_locks_guard:
        lock = _path_locks.get(key)
        if lock is None:
            lock = _path_locks[key] = threading.Lock()
        return lock


def temp_file_prefix(path: str | os.PathLike[str]) -> str:
    """The name prefix of the temporary files ``atomic_write_bytes`` uses for *path*."""
    return f".{Path(path).name}."


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # platforms/filesystems that cannot open a directory
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Replace *path* with *data* atomically and durably.

    Missing parent directories are created (mode 0700). The new file gets *mode*
    (default 0600: config files may name token files and state is private).
    Raises ``OSError`` on failure; the previous file is then untouched and the
    temporary file is removed.
    """
    target = Path(path)
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _lock_for(target):
        fd, tmp_name = tempfile.mkstemp(
            dir=directory, prefix=temp_file_prefix(target), suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, mode)
            os.replace(tmp_name, target)
        except BaseException:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
            raise
        _fsync_directory(directory)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", mode: int = 0o600
) -> None:
    """``atomic_write_bytes`` for text."""
    atomic_write_bytes(path, text.encode(encoding), mode=mode)


def _utc_stamp(now: datetime | None) -> str:
    moment = now or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def move_aside(path: str | os.PathLike[str], *, now: datetime | None = None) -> Path:
    """Rename *path* to ``<name>.bad-<UTC timestamp>`` and return the new path.

    Never overwrites: if that name is taken, ``-1``, ``-2``, ... is appended.
    The file's bytes are preserved unchanged. Raises ``OSError`` if the file
    cannot be moved (the caller must then leave it alone, not overwrite it).
    """
    source = Path(path)
    base = f"{source.name}.bad-{_utc_stamp(now)}"
    for attempt in range(1000):
        candidate = source.with_name(base if attempt == 0 else f"{base}-{attempt}")
        try:
            # link() fails if the name exists, so nothing is ever overwritten.
            os.link(source, candidate)
        except FileExistsError:
            continue
        except OSError:
            # Filesystems without hard links: check-then-rename (best effort).
            if candidate.exists():
                continue
            os.rename(source, candidate)
            _fsync_directory(source.parent)
            return candidate
        os.unlink(source)
        _fsync_directory(source.parent)
        return candidate
    raise FileExistsError(f"could not find a free name to move {source} aside")
