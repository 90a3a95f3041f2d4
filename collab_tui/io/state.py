"""The reputation state file and its debounced, off-the-hot-path saver.

The core exports and imports its reputation state as a plain dict::

    {"version": 1,
     "peers": {peer_id: {"score": float in [0, 1], "successes": int >= 0,
                         "failures": int >= 0,
                         "last_outcome": "success" | "failure" | None,
                         "last_reason": str, "last_time": float,
                         "history": [{"time": float, "score": float,
                                      "outcome": "success" | "failure" | "undo",
                                      "reason": str}, ...]}}}

TOML has no null: ``last_outcome = None`` is stored as ``""`` and read back as
None. ``StateStore.load`` validates that shape; a file that is unreadable, not
TOML or not that shape is reported (file + dotted key + problem), moved aside to
``<name>.bad-<UTC timestamp>`` and an empty state is returned. ``save`` checks
the same shape first, so nothing is ever written that ``load`` would refuse.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Mapping

import msgspec
import tomli_w
from msgspec import Meta

from .atomic import atomic_write_bytes
from .config import read_toml_file, set_aside
from .settings import HISTORY_SIZE_MAX

__all__ = [
    "HISTORY_LIMIT",
    "STATE_VERSION",
    "HistoryEntry",
    "LoadResult",
    "PeerRecord",
    "StateError",
    "StateSaver",
    "StateStore",
    "empty_state",
    "validate_state",
]

log = logging.getLogger(__name__)

STATE_VERSION = 1
HISTORY_LIMIT = HISTORY_SIZE_MAX  # a file with a longer per-peer history is invalid
_MAX_REPORTED = 5
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class StateError(ValueError):
    """A state document does not have the expected shape."""


# ---------------------------------------------------------------------------
# The shape, declared once. Each type's ``description`` is what an error says it must be.

_FINITE_MAX = sys.float_info.max   # an upper bound that only refuses infinity
Score = Annotated[float, Meta(ge=0.0, le=1.0, description="a finite number")]
Time = Annotated[float, Meta(ge=0.0, le=_FINITE_MAX, description="a finite number")]
Count = Annotated[int, Meta(ge=0, description="a whole number >= 0")]
Text = Annotated[str, Meta(description="a string")]
Outcome = Annotated[Literal["success", "failure", ""],
                    Meta(description="'success', 'failure' or '' (none)")]
EntryOutcome = Annotated[Literal["success", "failure", "undo"],  # "undo": the operator undid an earlier outcome
                         Meta(description="'success', 'failure' or 'undo'")]


class HistoryEntry(msgspec.Struct, forbid_unknown_fields=True):
    time: Time
    score: Score
    outcome: EntryOutcome
    reason: Text


class PeerRecord(msgspec.Struct, forbid_unknown_fields=True):
    score: Score
    successes: Count
    failures: Count
    last_outcome: Outcome
    last_reason: Text
    last_time: Time
    history: list[HistoryEntry]


def empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "peers": {}}


def _key(*parts: str) -> str:
    return ".".join(p if _BARE_KEY.fullmatch(p) else '"' + p.replace('"', '\\"') + '"' for p in parts)


_FIELD_TYPES: dict[type, dict[str, Any]] = {
    cls: {f.name: f.type for f in msgspec.structs.fields(cls)} for cls in (HistoryEntry, PeerRecord)
}


def _meta(tp: Any) -> Meta:
    return next(m for m in tp.__metadata__ if isinstance(m, Meta))


def _value(value: Any, tp: Any, where: str, problems: list[str]) -> Any:
    """*value* as the declared type *tp*, or None with the problem noted (one line, dotted key)."""
    meta = _meta(tp)
    if tp.__origin__ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.append(f"{where} must be {meta.description}, got {value!r}")
            return None
        try:
            return msgspec.convert(value, tp)
        except msgspec.ValidationError:
            bounds = f"between {meta.ge:g} and {meta.le:g}" if meta.le != _FINITE_MAX else f"at least {meta.ge:g}"
            problems.append(f"{where} must be {bounds}, got {value!r}")
            return None
    try:
        return msgspec.convert(value, tp)
    except msgspec.ValidationError:
        problems.append(f"{where} must be {meta.description}, got {value!r}")
        return None


def _fields(cls: type, table: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """Check *table*'s keys and plain fields against *cls* (everything but ``history``)."""
    return {name: _value(table[name], tp, f"{where}.{name}" if where else name, problems)
            for name, tp in _FIELD_TYPES[cls].items() if name != "history"}


def _validate_peer(peer_id: str, peer: Any, history_size: int, problems: list[str]) -> dict[str, Any] | None:
    if not isinstance(peer, Mapping):
        problems.append(f"{_key('peers', peer_id)} must be a table, got {peer!r}")
        return None
    fields = PeerRecord.__struct_fields__
    missing = [f"{_key('peers', peer_id, name)} is missing" for name in fields if name not in peer]
    unknown = [f"{_key('peers', peer_id, str(name))}: unknown key" for name in peer if name not in fields]
    if missing or unknown:
        problems += missing + unknown
        return None
    # TOML has no null: None is stored as "" (and read back as None).
    peer = {**peer, "last_outcome": "" if peer["last_outcome"] is None else peer["last_outcome"]}
    if isinstance(peer["history"], (list, tuple)) and len(peer["history"]) <= HISTORY_LIMIT:
        try:    # the declared shape in one pass; the field-by-field walk below only to say what is wrong
            record = msgspec.convert(peer, PeerRecord)
        except msgspec.ValidationError:
            pass
        else:
            out = msgspec.structs.asdict(record)
            out["last_outcome"] = out["last_outcome"] or None
            out["history"] = [msgspec.structs.asdict(entry) for entry in record.history[-history_size:]]
            return out
    before = len(problems)
    where = _key("peers", peer_id)
    out = _fields(PeerRecord, peer, where, problems)
    out["last_outcome"] = out["last_outcome"] or None
    history = peer["history"]
    if not isinstance(history, (list, tuple)):
        problems.append(f"{where}.history must be a list, got {history!r}")
        return None
    if len(history) > HISTORY_LIMIT:
        problems.append(f"{where}.history has {len(history)} entries, more than the limit of {HISTORY_LIMIT}")
        return None
    entries = []
    for index, entry in enumerate(history):
        at = f"{where}.history[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{at} must be a table, got {entry!r}")
            continue
        missing_keys = [name for name in HistoryEntry.__struct_fields__ if name not in entry]
        extra = [name for name in entry if name not in HistoryEntry.__struct_fields__]
        if missing_keys or extra:
            what = f"missing {', '.join(missing_keys)}" if missing_keys else f"unknown key {extra[0]}"
            problems.append(f"{at}: {what}")
            continue
        entries.append(_fields(HistoryEntry, entry, at, problems))
    if len(problems) != before:
        return None
    out["history"] = entries[-history_size:]
    return out


def _collect(doc: Any, history_size: int) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        return empty_state(), [f"state must be a table, got {type(doc).__name__}"]
    version = doc.get("version")
    if "version" not in doc:
        problems.append("version is missing")
    elif isinstance(version, bool) or version != STATE_VERSION:
        problems.append(f"version must be {STATE_VERSION}, got {version!r} (unsupported state format)")
    for name in doc:
        if name not in ("version", "peers"):
            problems.append(f"{_key(name)}: unknown key")
    peers = doc.get("peers", {})
    out: dict[str, Any] = {}
    if not isinstance(peers, Mapping):
        problems.append(f"peers must be a table, got {peers!r}")
    else:
        for peer_id, peer in peers.items():
            if not isinstance(peer_id, str) or not peer_id:
                problems.append(f"peers has an empty or non-string peer id {peer_id!r}")
                continue
            checked = _validate_peer(peer_id, peer, history_size, problems)
            if checked is not None:
                out[peer_id] = checked
    return {"version": STATE_VERSION, "peers": out}, problems


def _summarize(problems: list[str]) -> list[str]:
    if len(problems) <= _MAX_REPORTED:
        return problems
    return [*problems[:_MAX_REPORTED], f"... and {len(problems) - _MAX_REPORTED} more problems"]


def validate_state(doc: Any, *, history_size: int = HISTORY_LIMIT) -> dict[str, Any]:
    """Check *doc* against the state shape; return a normalized copy.

    Normalized: ``last_outcome`` "" -> None, numbers -> float where floats are
    expected, each history trimmed to its newest *history_size* entries.
    Raises ``StateError`` listing the problems (dotted keys).
    """
    state, problems = _collect(doc, history_size)
    if problems:
        raise StateError("; ".join(_summarize(problems)))
    return state


def _to_toml_doc(state: dict[str, Any]) -> dict[str, Any]:
    peers = {}
    for peer_id, peer in state["peers"].items():
        stored = dict(peer)
        stored["last_outcome"] = peer["last_outcome"] or ""
        stored["history"] = [dict(entry) for entry in peer["history"]]
        peers[peer_id] = stored
    return {"version": state["version"], "peers": peers}


@dataclass(frozen=True)
class LoadResult:
    state: dict[str, Any]
    problems: list[str]
    moved_to: Path | None = None


_HEADER = b"# collab-tui reputation state. Written by collab-tui; do not edit while it runs.\n\n"


class StateStore:
    """One trainer's state file. ``save`` is safe to call from worker threads."""

    def __init__(self, path: str | os.PathLike[str], *, history_size: int = HISTORY_LIMIT) -> None:
        if not 1 <= history_size <= HISTORY_LIMIT:
            raise ValueError(f"history_size must be between 1 and {HISTORY_LIMIT}, got {history_size!r}")
        self.path = Path(path)
        self.history_size = history_size
        self._write_lock = threading.Lock()

    def load(self) -> LoadResult:
        """Never raises. Missing file -> empty state. Bad file -> moved aside, empty state."""
        doc, problems = read_toml_file(self.path)
        if doc is None and not problems:
            return LoadResult(empty_state(), [])
        if doc is not None:
            state, problems = _collect(doc, self.history_size)
            if not problems:
                return LoadResult(state, [])
        if self.path.is_dir():
            return LoadResult(empty_state(), [f"state file {self.path}: is a directory; starting with empty reputation state"])
        messages, moved = set_aside(self.path, "state", _summarize(problems), "starting with empty reputation state")
        return LoadResult(empty_state(), messages, moved)

    def encode(self, state: Mapping[str, Any]) -> bytes:
        """Validate and serialize (raises StateError for a bad shape)."""
        checked = validate_state(state, history_size=self.history_size)
        return _HEADER + tomli_w.dumps(_to_toml_doc(checked)).encode("utf-8")

    def save(self, state: Mapping[str, Any]) -> None:
        """Validate, then replace the file atomically. One writer at a time."""
        data = self.encode(state)
        with self._write_lock:
            atomic_write_bytes(self.path, data)


class StateSaver:
    """Debounced background writer for a ``StateStore``.

    ``mark_dirty(snapshot_fn)`` only records that the state changed (no disk,
    no snapshot); a background task calls ``snapshot_fn()`` on the event loop —
    so the core's data is read where it lives — at most once per *interval_s*,
    coalescing any number of marks, and writes the snapshot with
    ``asyncio.to_thread``. Writes never overlap. A failed write is reported to
    *on_error* (default: logged) and retried after the interval; ``flush``
    raises it instead.
    """

    def __init__(
        self,
        store: StateStore,
        interval_s: float = 1.0,
        *,
        on_error: Callable[[BaseException], None] | None = None,
        on_saved: Callable[[], None] | None = None,
    ) -> None:
        if not (isinstance(interval_s, (int, float)) and interval_s >= 0):
            raise ValueError(f"interval_s must be >= 0, got {interval_s!r}")
        self.store = store
        self.interval_s = float(interval_s)
        self.writes = 0
        self.last_error: BaseException | None = None
        self._on_error = on_error
        self._on_saved = on_saved
        self._snapshot_fn: Callable[[], Mapping[str, Any]] | None = None
        self._dirty = False
        self._closed = False
        self._next_allowed = 0.0
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_dirty(self, snapshot_fn: Callable[[], Mapping[str, Any]]) -> None:
        """Note that the state changed. Cheap; must be called on the event loop."""
        if self._closed:
            raise RuntimeError("StateSaver is closed")
        self._snapshot_fn = snapshot_fn
        if self._dirty:
            return
        self._dirty = True
        if self._task is None:
            self._ensure_primitives()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="collab-tui state saver")
        assert self._wake is not None
        self._wake.set()

    async def flush(self) -> None:
        """Write now if dirty (waits for a write already in progress)."""
        self._ensure_primitives()
        await self._write_if_dirty(raise_errors=True)

    async def aclose(self) -> None:
        """Stop the background task and flush. Idempotent."""
        self._closed = True
        if self._task is not None:
            assert self._wake is not None
            self._wake.set()
            await self._task
            self._task = None
        await self.flush()

    def _ensure_primitives(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
            self._wake = asyncio.Event()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        while not self._closed:
            if not self._dirty:
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = self._next_allowed - loop.time()
            if delay > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except TimeoutError:
                    pass
                continue
            await self._write_if_dirty(raise_errors=False)

    async def _write_if_dirty(self, *, raise_errors: bool) -> None:
        assert self._lock is not None
        loop = asyncio.get_running_loop()
        async with self._lock:
            if not self._dirty or self._snapshot_fn is None:
                return
            self._dirty = False
            try:
                snapshot = self._snapshot_fn()
                await asyncio.to_thread(self.store.save, snapshot)
            except Exception as exc:
                self.last_error = exc
                if isinstance(exc, OSError):
                    self._dirty = True  # the disk may recover; the data is still wanted
                if raise_errors:
                    raise
                if self._on_error is not None:
                    self._on_error(exc)
                else:
                    log.error("could not save reputation state to %s: %s", self.store.path, exc)
            else:
                self.writes += 1
                self.last_error = None
                if self._on_saved is not None:
                    self._on_saved()
            finally:
                self._next_allowed = loop.time() + self.interval_s
