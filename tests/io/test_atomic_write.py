"""Atomic replacement and move-aside, on real files."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone

import pytest

from collab_tui.io.atomic import atomic_write_bytes, atomic_write_text, move_aside, temp_file_prefix


def test_write_creates_parent_dirs_and_private_file(tmp_path):
    target = tmp_path / "deep" / "er" / "file.toml"
    atomic_write_text(target, "a = 1\n")
    assert target.read_text() == "a = 1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(target.parent.iterdir()) == [target]  # no temp file left behind


def test_replace_keeps_no_temp_files_and_replaces_content(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"new" * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_failed_write_leaves_previous_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "previous")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_text(target, "never seen")
    monkeypatch.undo()
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_temp_files_are_named_beside_the_target(tmp_path, monkeypatch):
    target = tmp_path / "s.toml"
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_text(target, "x")
    assert seen and seen[0].startswith(temp_file_prefix(target)) and seen[0].endswith(".tmp")


def test_move_aside_never_overwrites_and_preserves_bytes(tmp_path):
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    first = tmp_path / "config.toml"
    first.write_bytes(b"\x00first bad bytes")
    moved1 = move_aside(first, now=moment)
    assert moved1.name == "config.toml.bad-20250102T030405Z"
    assert not first.exists()

    first.write_bytes(b"second bad bytes")
    moved2 = move_aside(first, now=moment)  # same second: must not clobber moved1
    assert moved2.name == "config.toml.bad-20250102T030405Z-1"
    assert moved1.read_bytes() == b"\x00first bad bytes"
    assert moved2.read_bytes() == b"second bad bytes"


def test_move_aside_of_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        move_aside(tmp_path / "nope.toml")
