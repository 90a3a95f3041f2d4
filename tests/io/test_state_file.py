"""The reputation state file: shape checks, bad files set aside, crash safety
under SIGKILL in a real child process, and the debounced background saver."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import tomli_w

from collab_tui.io.atomic import temp_file_prefix
from collab_tui.io.state import StateError, StateSaver, StateStore, empty_state, validate_state



def peer(score=0.65, successes=1, failures=0, last_outcome="success", history=None):
    return {
        "score": score,
        "successes": successes,
        "failures": failures,
        "last_outcome": last_outcome,
        "last_reason": "valid component c1 delivered",
        "last_time": 1700000000.5,
        "history": history
        if history is not None
        else [{"time": 1700000000.5, "score": score, "outcome": "success", "reason": "delivered"}],
    }


def sample_state():
    return {
        "version": 1,
        "peers": {
            "AI_Node_2": peer(),
            "weird.id-x": peer(score=0.35, successes=0, failures=1, last_outcome="failure"),
            "fresh": peer(score=0.5, successes=0, last_outcome=None, history=[]),
        },
    }


# ---- shape and round trip ----------------------------------------------------------


def test_missing_file_loads_empty(tmp_path):
    result = StateStore(tmp_path / "a.state.toml").load()
    assert result.state == empty_state() and result.problems == [] and result.moved_to is None


def test_round_trip_with_none_stored_as_empty_string(tmp_path):
    store = StateStore(tmp_path / "s" / "a.state.toml")
    store.save(sample_state())
    assert 'last_outcome = ""' in store.path.read_text()
    result = store.load()
    assert result.problems == []
    assert result.state == sample_state()
    assert result.state["peers"]["fresh"]["last_outcome"] is None


def test_the_cores_empty_string_and_undo_entries_are_accepted(tmp_path):
    state = sample_state()
    state["peers"]["AI_Node_2"]["last_outcome"] = ""
    state["peers"]["AI_Node_2"]["history"].append(
        {"time": 1700000001.0, "score": 0.5, "outcome": "undo", "reason": "operator undid c1"}
    )
    store = StateStore(tmp_path / "a.state.toml")
    store.save(state)
    loaded = store.load().state["peers"]["AI_Node_2"]
    assert loaded["last_outcome"] is None
    assert loaded["history"][-1]["outcome"] == "undo"


def test_history_is_trimmed_to_the_newest_entries(tmp_path):
    entries = [{"time": float(i), "score": 0.5, "outcome": "success", "reason": f"r{i}"} for i in range(30)]
    state = {"version": 1, "peers": {"B": peer(history=entries)}}
    store = StateStore(tmp_path / "a.state.toml", history_size=10)
    store.save(state)
    history = store.load().state["peers"]["B"]["history"]
    assert [e["reason"] for e in history] == [f"r{i}" for i in range(20, 30)]


def test_save_refuses_a_bad_shape_and_keeps_the_old_file(tmp_path):
    store = StateStore(tmp_path / "a.state.toml")
    store.save(sample_state())
    before = store.path.read_bytes()
    bad = sample_state()
    bad["peers"]["AI_Node_2"]["score"] = 1.5
    with pytest.raises(StateError, match=r"peers\.AI_Node_2\.score must be between 0 and 1, got 1\.5"):
        store.save(bad)
    assert store.path.read_bytes() == before


def _with(path_to_value):
    def build():
        doc = sample_state()
        doc["peers"]["fresh"]["last_outcome"] = ""
        path_to_value(doc)
        return tomli_w.dumps(doc)

    return build


BAD_STATE = [
    (_with(lambda d: d["peers"]["AI_Node_2"].update(score=1.5)), "peers.AI_Node_2.score must be between 0 and 1"),
    (_with(lambda d: d["peers"]["AI_Node_2"].update(successes=-1)), "peers.AI_Node_2.successes must be a whole number >= 0"),
    (_with(lambda d: d["peers"]["AI_Node_2"].update(failures=True)), "peers.AI_Node_2.failures must be a whole number >= 0"),
    (_with(lambda d: d["peers"]["AI_Node_2"].update(last_outcome="meh")), "peers.AI_Node_2.last_outcome must be"),
    (_with(lambda d: d["peers"]["AI_Node_2"].update(history="x")), "peers.AI_Node_2.history must be a list"),
    (_with(lambda d: d["peers"]["AI_Node_2"]["history"][0].update(outcome="won")), "peers.AI_Node_2.history[0].outcome"),
    (_with(lambda d: d["peers"]["AI_Node_2"].pop("score")), "peers.AI_Node_2.score is missing"),
    (_with(lambda d: d["peers"]["AI_Node_2"].update(colour="red")), "peers.AI_Node_2.colour: unknown key"),
    (_with(lambda d: d["peers"]["weird.id-x"].update(score="high")), 'peers."weird.id-x".score must be a finite number'),
    (_with(lambda d: d["peers"]["AI_Node_2"].update(last_time=float("inf"))), "peers.AI_Node_2.last_time must be a finite number"),
    (_with(lambda d: d["peers"]["AI_Node_2"].update(last_time=-1.0)), "peers.AI_Node_2.last_time must be at least 0, got -1.0"),
    (_with(lambda d: d.update(version=2)), "version must be 1, got 2"),
    (_with(lambda d: d.pop("version")), "version is missing"),
    (_with(lambda d: d.update(peers=[])), "peers must be a table"),
    (
        _with(lambda d: d["peers"]["AI_Node_2"].update(
            history=[{"time": 0.0, "score": 0.5, "outcome": "success", "reason": ""}] * 10001)),
        "history has 10001 entries, more than the limit of 10000",
    ),
    (lambda: "version = 1\n[peers.A\nscore = 0.5\n", "is not valid TOML"),
    (lambda: "version = 1\npeers = {A = {score = 0.5}\n", "is not valid TOML"),
]


@pytest.mark.parametrize("build, message", BAD_STATE)
def test_bad_state_file_is_reported_moved_aside_and_empty_state_used(tmp_path, build, message):
    path = tmp_path / "AI_Node_1.state.toml"
    path.write_text(build())
    original = path.read_bytes()
    result = StateStore(path).load()
    assert result.state == empty_state()
    assert any(message in p and str(path) in p for p in result.problems), result.problems
    assert result.moved_to is not None and result.moved_to.name.startswith("AI_Node_1.state.toml.bad-")
    assert result.moved_to.read_bytes() == original
    assert not path.exists()
    assert "moved aside" in result.problems[-1] and "empty reputation state" in result.problems[-1]


def test_truncated_file_is_set_aside(tmp_path):
    store = StateStore(tmp_path / "a.state.toml")
    store.save(sample_state())
    data = store.path.read_bytes()
    store.path.write_bytes(data[: len(data) // 2])
    result = store.load()
    assert result.state == empty_state() and result.moved_to.read_bytes() == data[: len(data) // 2]


def test_validate_state_summarizes_many_problems():
    doc = {"version": 1, "peers": {f"P{i}": peer(score=2.0, history=[]) for i in range(20)}}
    with pytest.raises(StateError) as info:
        validate_state(doc)
    assert "and 15 more problems" in str(info.value)


# ---- crash safety: a real child process killed with SIGKILL -------------------------

CHILD = textwrap.dedent(
    """
    import os, sys
    from collab_tui.io import atomic
    from collab_tui.io.state import StateStore

    path, mode = sys.argv[1], sys.argv[2]
    store = StateStore(path)
    loaded = store.load()
    if loaded.problems:
        print("problems", loaded.problems, flush=True)
        sys.exit(3)
    peers = loaded.state["peers"]
    gen = peers["P0"]["successes"] if peers else 0
    print("start", gen, flush=True)

    real_fsync, real_replace = os.fsync, os.replace
    def fsync(fd):
        print("fsync", gen, flush=True)
        real_fsync(fd)
    def replace(src, dst):
        print("replace", gen, flush=True)
        if mode == "die-before-rename":
            os.kill(os.getpid(), 9)
        real_replace(src, dst)
    os.fsync, os.replace = fsync, replace

    def make(gen):
        reason = "component delivered and validated, digest ok " * 2
        history = [{"time": float(gen), "score": 0.5, "outcome": "success", "reason": reason}] * 30
        return {"version": 1, "peers": {
            f"P{i}": {"score": (gen % 100) / 100, "successes": gen, "failures": 0,
                      "last_outcome": "success", "last_reason": reason, "last_time": float(gen),
                      "history": history}
            for i in range(150)}}

    while True:
        gen += 1
        print("begin", gen, flush=True)
        store.save(make(gen))
        print("done", gen, flush=True)
    """
)


def _start_child(script: Path, state: Path, mode: str = "loop") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), str(state), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _generation(state_path: Path) -> int:
    result = StateStore(state_path).load()
    assert result.problems == [], result.problems
    gens = {p["successes"] for p in result.state["peers"].values()}
    assert len(gens) == 1, f"mixed generations in one file: {sorted(gens)}"  # never half old, half new
    assert len(result.state["peers"]) == 150
    return gens.pop()


def test_sigkill_at_random_moments_leaves_old_or_new_file(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    state = tmp_path / "T.state.toml"
    rng = random.Random(os.environ.get("PYTEST_SEED", "collab"))
    phases = ["begin", "fsync", "replace", "done"]
    seen_phases = set()
    for iteration in range(8):
        child = _start_child(script, state)
        try:
            first = child.stdout.readline().split()
            assert first[0] == "start", first + [child.stderr.read()]
            start_gen = int(first[1])
            # Kill only once the file has been written at least once, at a random
            # phase of a random later write: encoding, writing, just before the rename
            # or right after a completed save.
            phase = phases[iteration % len(phases)]
            target = max(start_gen, 1) + rng.randint(1, 2)
            while True:
                line = child.stdout.readline()
                assert line, f"writer exited early: {child.stderr.read()}"
                word, gen = line.split()
                assert int(gen) <= target, "missed the kill point"
                if word == phase and int(gen) == target:
                    child.send_signal(signal.SIGKILL)
                    break
        finally:
            child.kill()
            rest = child.communicate()[0]
        assert child.returncode == -signal.SIGKILL
        seen_phases.add(phase)
        done = [int(line.split()[1]) for line in (rest.splitlines()) if line.startswith("done")]
        last_done = max(done, default=target if phase == "done" else target - 1)
        gen = _generation(state)
        assert gen in (last_done, last_done + 1), (phase, target, last_done, gen)
    assert seen_phases == set(phases)
    # Temporary files the kills left behind never replaced or corrupted the state file,
    # and nothing was ever set aside as bad.
    names = [p.name for p in tmp_path.iterdir() if p.name not in ("writer.py", "T.state.toml")]
    assert all(n.startswith(temp_file_prefix(state)) and n.endswith(".tmp") for n in names), names


def test_sigkill_just_before_the_rename_keeps_the_previous_file(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    state = tmp_path / "T.state.toml"
    first = _start_child(script, state)
    try:
        while first.stdout.readline().split() != ["done", "1"]:
            pass
    finally:
        first.kill()
        first.communicate()
    before = _generation(state)
    # This writer dies (SIGKILL to itself) with the new file complete but not renamed.
    child = _start_child(script, state, mode="die-before-rename")
    out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, err
    assert f"replace {before + 1}" in out
    assert _generation(state) == before
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(temp_file_prefix(state))]
    assert leftovers, "the unrenamed temporary file should be beside the state file"
    assert StateStore(state).load().problems == []


# ---- the debounced saver ------------------------------------------------------------


async def test_mark_dirty_is_cheap_and_writes_in_the_background(tmp_path):
    store = StateStore(tmp_path / "a.state.toml")
    saved = asyncio.Event()
    saver = StateSaver(store, interval_s=0.05, on_saved=saved.set)
    calls = []

    def snapshot():
        calls.append(1)
        return sample_state()

    saver.mark_dirty(snapshot)
    assert calls == [] and not store.path.exists()  # nothing on the caller's path
    await asyncio.wait_for(saved.wait(), 5)
    assert calls == [1] and store.load().state == sample_state()
    await saver.aclose()


async def test_many_marks_coalesce_into_one_write_of_the_latest_state(tmp_path):
    store = StateStore(tmp_path / "a.state.toml")
    saver = StateSaver(store, interval_s=60)
    state = sample_state()
    for i in range(100):
        state = sample_state()
        state["peers"]["AI_Node_2"]["successes"] = i
        saver.mark_dirty(lambda s=state: s)
    await saver.flush()
    assert saver.writes == 1
    assert store.load().state["peers"]["AI_Node_2"]["successes"] == 99
    await saver.flush()  # not dirty: no write
    assert saver.writes == 1
    await saver.aclose()


async def test_background_writes_are_at_least_an_interval_apart(tmp_path):
    store = StateStore(tmp_path / "a.state.toml")
    times: list[float] = []
    loop = asyncio.get_running_loop()
    wrote = asyncio.Event()

    def on_saved():
        times.append(loop.time())
        wrote.set()

    saver = StateSaver(store, interval_s=0.3, on_saved=on_saved)
    for _ in range(2):
        wrote.clear()
        saver.mark_dirty(sample_state)
        await asyncio.wait_for(wrote.wait(), 5)
    assert times[1] - times[0] >= 0.3 - 0.01
    await saver.aclose()


async def test_aclose_flushes_pending_state_and_refuses_later_marks(tmp_path):
    store = StateStore(tmp_path / "a.state.toml")
    saver = StateSaver(store, interval_s=3600)
    saver.mark_dirty(lambda: {"version": 1, "peers": {}})  # first write happens at once
    await saver.flush()
    saver.mark_dirty(sample_state)  # this one would wait an hour
    await saver.aclose()
    assert store.load().state == sample_state()
    with pytest.raises(RuntimeError):
        saver.mark_dirty(sample_state)


async def test_write_errors_are_reported_and_retried(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    store = StateStore(blocker / "a.state.toml")  # parent is a file: every write fails
    errors: list[BaseException] = []
    failed = asyncio.Event()
    saver = StateSaver(store, interval_s=0.01, on_error=lambda e: (errors.append(e), failed.set()))
    saver.mark_dirty(sample_state)
    await asyncio.wait_for(failed.wait(), 5)
    assert isinstance(errors[0], OSError) and saver.dirty  # kept for a retry
    with pytest.raises(OSError):
        await saver.flush()
    store.path = tmp_path / "a.state.toml"  # the disk "recovers"
    await saver.aclose()
    assert store.load().state == sample_state()


async def test_writes_never_overlap(tmp_path):
    store = StateStore(tmp_path / "a.state.toml")
    real_save = store.save
    active = 0
    max_active = 0
    calls = 0
    started = threading.Event()
    release = threading.Event()
    guard = threading.Lock()

    def slow_save(state):
        nonlocal active, max_active, calls
        with guard:
            active += 1
            calls += 1
            max_active = max(max_active, active)
        started.set()
        release.wait(10)
        real_save(state)
        with guard:
            active -= 1

    store.save = slow_save
    saver = StateSaver(store, interval_s=0)
    saver.mark_dirty(sample_state)
    first = asyncio.ensure_future(saver.flush())
    await asyncio.to_thread(started.wait, 10)
    saver.mark_dirty(sample_state)
    second = asyncio.ensure_future(saver.flush())
    for _ in range(20):  # let the second flush (and the background task) try to start
        await asyncio.sleep(0)
    assert calls == 1
    release.set()
    await asyncio.gather(first, second)
    await saver.aclose()
    assert calls == 2 and max_active == 1


def test_the_declared_shape_is_what_the_core_exports():
    """``PeerRecord`` / ``HistoryEntry`` are the state's one declaration: the core's export fits them."""
    import msgspec

    from collab_tui.core.trainer import NetworkedKernelTrainer
    from collab_tui.io.state import HistoryEntry, PeerRecord

    trainer = NetworkedKernelTrainer("A")
    trainer._update_reputation("B", True, "delivered", 1.0)
    trainer._update_reputation("B", False, "deadline missed", 2.0)
    exported = trainer.export_state()["peers"]["B"]
    record = msgspec.convert({**exported, "last_outcome": exported["last_outcome"] or ""}, PeerRecord)
    assert record.successes == 1 and record.failures == 1 and len(record.history) == 2
    assert all(isinstance(entry, HistoryEntry) for entry in record.history)
    with pytest.raises(msgspec.ValidationError, match="unknown field `colour`"):
        msgspec.convert({**exported, "last_outcome": "", "colour": "red"}, PeerRecord)
