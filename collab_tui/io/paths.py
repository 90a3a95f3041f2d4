"""Checks on the files a person names (``--config``, ``--state``) before anything runs.

A config or state path that is a directory, a FIFO, a device or unreadable is refused
at start with one line naming the path and the problem, instead of a hang (a FIFO blocks
the first read), a traceback at exit (a directory cannot be replaced by a file), or a run
whose reputation changes are silently lost.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from .values import ConfigError

_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device"}


def check_file_path(path: Path, what: str) -> None:
    """Raise :class:`ConfigError` unless *path* is a regular readable file or can be created.

    *what* names the path for the person (``"--state"``, ``"config file"``). A missing file
    is fine (it is created on the first save) as long as its folder is, or can become, a
    directory. The file is never opened unless it is a regular file, so a FIFO cannot block.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        _check_folder(path, what)
        return
    except NotADirectoryError:
        _check_folder(path, what)
        raise ConfigError(f"{what} {path}: a part of the path is not a folder") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot be examined: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{what} {path}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise ConfigError(f"{what} {path}: is {kind}, not a regular file")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot be read: {exc.strerror or exc}") from None


def _check_folder(path: Path, what: str) -> None:
    for folder in [path.parent, *path.parent.parents]:
        try:
            info = os.stat(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue                      # created on the first save, or a file further up
        except OSError as exc:
            raise ConfigError(f"{what} {path}: its folder {folder} cannot be examined: "
                              f"{exc.strerror or exc}") from None
        if not stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{what} {path}: {folder} is a file, not a folder")
        return
