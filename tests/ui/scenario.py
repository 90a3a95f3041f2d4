"""Fixed, deterministic trainer data for the UI tests: frames fed through a real runner."""
from __future__ import annotations

import itertools
from typing import Any

from collab_tui.core.components import build_component
from collab_tui.core.trainer import NetworkedKernelTrainer
from collab_tui.io.runner import TrainerRunner

T0 = 1_700_000_000.0
ME = "AI_Node_1"
PEERS = {"AI_Node_2": "vision", "AI_Node_3": "networking", "Flaky_7": "storage", "Mallory": "general"}


class FixedClock:
    """A clock that only moves when the test says so."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


_ids = itertools.count(1)


def frame(msg_type: str, sender: str, payload: dict[str, Any], recipient: str | None = ME,
          ts: float = T0) -> dict[str, Any]:
    return {"type": msg_type, "message_id": f"m{next(_ids)}", "sender_id": sender,
            "recipient_id": recipient, "timestamp": ts, "payload": payload}


class OfflineRunner(TrainerRunner):
    """The real runner, started without its hub link (frames come in through ``feed``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[dict[str, Any]] = []

    async def start(self, connect: bool = False) -> None:
        await super().start(connect=False)

    def encode_outgoing(self, message: Any) -> str | None:
        self.sent.append(message.to_frame())
        return super().encode_outgoing(message)


def make_runner(clock: FixedClock, *, hold_s: float = 0.0, threshold: float = 0.5,
                trainer_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> TrainerRunner:
    trainer = NetworkedKernelTrainer(ME, "networking", trust_threshold=threshold, hold_s=hold_s,
                                     **(trainer_kwargs or {}))
    return OfflineRunner(trainer, url="ws://127.0.0.1:9/", token=None, clock=clock, **kwargs)


def sent_frames(runner: TrainerRunner) -> list[dict[str, Any]]:
    """Frames the runner sent towards the hub (recorded by OfflineRunner.encode_outgoing)."""
    return list(runner.sent)


def join(runner: TrainerRunner, peers: dict[str, str] = PEERS) -> None:
    runner.feed(frame("TRAINING_SYNC", "hub", {
        "active_ais": list(peers),
        "collaboration_opportunities": [{"ai_id": p, "specialization": s, "capabilities": ["build"]}
                                        for p, s in peers.items()],
        "global_knowledge_base": {}}))


def request_from(runner: TrainerRunner, peer: str, request_id: str,
                 collaboration_type: str = "feature_development", feature: str = "tcp stack",
                 deadline_s: float = 60.0) -> str:
    runner.feed(frame("COLLABORATION_REQUEST", peer, {
        "request_id": request_id, "collaboration_type": collaboration_type,
        "feature": feature, "deadline_s": deadline_s}, recipient=None))
    return f"{peer}/{request_id}"


def accept_from(runner: TrainerRunner, peer: str, request_id: str, reason: str = "glad to help") -> None:
    runner.feed(frame("COLLABORATION_RESPONSE", peer, {
        "request_id": request_id, "accepted": True, "reason": reason, "overridden": False}))


def deliver(runner: TrainerRunner, peer: str, request_id: str, *, good: bool = True,
            name: str = "scheduler") -> str:
    component = build_component(f"{peer}-{request_id[:6]}", name, "1.0", f"# {name} by {peer}\n")
    if not good:
        component["sha256"] = "0" * 64
    runner.feed(frame("OS_COMPONENT_SHARE", peer, {
        "request_id": request_id, "component": component, "collaboration_complete": True}))
    return component["id"]


def outcome_round(runner: TrainerRunner, clock: FixedClock, peer: str, good: bool, feature: str) -> str:
    """We ask; ``peer`` accepts and delivers a good (or corrupt) component: one outcome."""
    request_id = runner.send_request("feature_development", feature, 30.0)
    clock.advance(1)
    accept_from(runner, peer, request_id)
    clock.advance(2)
    deliver(runner, peer, request_id, good=good, name=feature)
    clock.advance(1)
    return request_id


def populate(runner: TrainerRunner, clock: FixedClock) -> None:
    """A small, fixed network history: good, flaky and malicious peers."""
    join(runner)
    clock.advance(5)
    outcome_round(runner, clock, "AI_Node_2", True, "vision-driver")
    outcome_round(runner, clock, "AI_Node_2", True, "camera-hal")
    for n in range(3):
        outcome_round(runner, clock, "Mallory", False, f"rootkit-{n}")
    outcome_round(runner, clock, "Flaky_7", True, "fs-cache")
    outcome_round(runner, clock, "Flaky_7", False, "fs-journal")
    clock.advance(3)
    request_from(runner, "AI_Node_2", "req-a1", "cross_specialization", "image pipeline")
    clock.advance(2)
    request_from(runner, "Mallory", "req-m1", "feature_development", "kernel hook")
    clock.advance(2)
    request_from(runner, "AI_Node_3", "req-n1", "code_review", "router table")
    clock.advance(2)
    request_from(runner, "Flaky_7", "req-f1", "benchmarking", "disk io")
    clock.advance(5)
