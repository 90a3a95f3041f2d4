"""Giving freed memory back to the operating system.

CPython frees a dropped 1 MiB frame to the C allocator, but glibc keeps freed heap
pages mapped: after a slow receiver's queue of large frames is dropped, the hub's
RSS would stay near its peak. ``malloc_trim(0)`` returns those pages. It exists only
in glibc; elsewhere (musl, macOS, Windows) ``release_free_memory`` does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Callable


def _load_malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _load_malloc_trim()


def can_release() -> bool:
    """True where release_free_memory actually does something (glibc)."""
    return _malloc_trim is not None


def release_free_memory() -> bool:
    """Return free heap memory to the OS (glibc ``malloc_trim(0)``); a no-op
    elsewhere. True if some memory was released."""
    if _malloc_trim is None:
        return False
    return bool(_malloc_trim(0))
