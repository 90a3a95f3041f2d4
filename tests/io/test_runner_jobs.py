"""The runner's own limits, with a real runner (no hub link) and real asyncio tasks."""
from __future__ import annotations

import asyncio

from collab_tui import NetworkedKernelTrainer
from collab_tui.io import runner as runner_module
from collab_tui.io.runner import TrainerRunner
from collab_tui.io.subprocesses import ProducerResult


def request_frame(peer: str, rid: str, deadline: float = 30.0) -> dict:
    return {"type": "COLLABORATION_REQUEST", "message_id": rid, "sender_id": peer, "recipient_id": None,
            "timestamp": 0.0, "payload": {"request_id": rid, "collaboration_type": "feature_development",
                                          "feature": "f", "deadline_s": deadline}}


async def test_producers_run_at_most_four_at_once_even_when_complements_bypass_capacity():
    running = 0
    peak = 0
    release = asyncio.Event()
    finished = 0

    async def producer(request):
        nonlocal running, peak, finished
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        finished += 1
        return ProducerResult(True, "x", "")

    trainer = NetworkedKernelTrainer("me", "general")
    r = TrainerRunner(trainer, url="ws://127.0.0.1:9/", token=None, producer=producer)
    await r.start(connect=False)
    try:
        # "general" complements everyone: the policy accepts all ten despite the 3-session limit.
        r.feed({"type": "TRAINING_SYNC", "message_id": "s", "sender_id": "hub", "recipient_id": "me",
                "timestamp": 0.0, "payload": {"active_ais": ["p"], "global_knowledge_base": {},
                                              "collaboration_opportunities": [
                                                  {"ai_id": "p", "specialization": "storage", "capabilities": []}]}})
        for i in range(10):
            r.feed(request_frame("p", f"r{i}"))
        assert trainer.active_session_count() == 10
        for _ in range(100):
            await asyncio.sleep(0)
        assert running == runner_module.MAX_CONCURRENT_JOBS == 4
        release.set()
        deadline = asyncio.get_running_loop().time() + 5
        while finished < 10 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        assert finished == 10 and peak == 4
    finally:
        await r.stop()


async def test_a_job_whose_deadline_passed_before_its_turn_is_withdrawn_without_running():
    started = []

    async def producer(request):
        started.append(request["request_id"])
        return ProducerResult(True, "x", "")

    clock = [1000.0]
    trainer = NetworkedKernelTrainer("me", "general")
    r = TrainerRunner(trainer, url="ws://127.0.0.1:9/", token=None, producer=producer, clock=lambda: clock[0])
    r.feed(request_frame("p", "late", deadline=5.0))  # accepted; its producer job is queued, not yet run
    clock[0] += 10  # the deadline passes before the job gets its turn
    for _ in range(20):
        await asyncio.sleep(0)
    assert started == []
    frames = [f for f in r.pending_frames() if f["type"] == "COLLABORATION_RESPONSE"]
    assert [f["payload"]["accepted"] for f in frames] == [True, False]
    assert "before the deadline" in frames[1]["payload"]["reason"]
    await r.stop()
