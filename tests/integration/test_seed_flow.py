"""The seed's end-to-end flow (its section 9) and the lifecycle over a real hub."""
from __future__ import annotations

import asyncio
import sys

from collab_tui.io.subprocesses import ProducerResult, run_producer, run_validator

from .conftest import start_hub, wait_until


async def test_seed_section_9_flow(hub, make_runner):
    a, rec_a = await make_runner("AI_Node_1", "networking", url=hub.url)
    b, rec_b = await make_runner("AI_Node_2", "storage", url=hub.url)
    await wait_until(lambda: a.trainer._get_ai_info("AI_Node_2"), what="A to learn of B")
    assert a.trainer.reputation == {} and b.trainer.reputation == {}

    # 3. A broadcasts a request; B (score 0.5 for A >= 0.5) accepts.
    rid = a.send_request("cross_specialization", "tcp offload", 5.0)
    await wait_until(lambda: rec_b.of("DecisionMade"), what="B's decision")
    decision = rec_b.of("DecisionMade")[0].incoming.decision
    assert decision.accept and decision.rule == "complement"
    # 4-5. B delivers; A scores B 0.5 -> 0.65.
    await wait_until(lambda: "AI_Node_2" in a.trainer.reputation, what="A to score B")
    assert a.trainer.reputation["AI_Node_2"] == 0.65
    assert a.trainer.collaboration_sessions[f"out:{rid}/AI_Node_2"].status == "completed"
    [stored] = a.trainer.shared_knowledge["benchmarks"].values()
    assert stored["source"] == "AI_Node_2" and stored["validation"] == "passed"
    # 6. B's next request: A accepts it (0.65 > 0.5).
    b.send_request("feature_development", "page cache", 5.0)
    await wait_until(lambda: rec_a.of("DecisionMade"), what="A's decision")
    d = rec_a.of("DecisionMade")[0].incoming.decision
    assert d.accept and d.score == 0.65
    await wait_until(lambda: b.trainer.reputation.get("AI_Node_1") == 0.65, what="B to score A")


async def test_refusal_is_answered_with_reason(hub, make_runner):
    a, rec_a = await make_runner("A", "networking", url=hub.url)
    b, rec_b = await make_runner("B", "storage", url=hub.url, trust_threshold=0.6)
    rid = a.send_request("code_review", "x", 5.0)
    await wait_until(lambda: rec_a.of("ResponseReceived"), what="B's answer")
    resp = rec_a.of("ResponseReceived")[0]
    assert resp.peer == "B" and resp.accepted is False
    assert resp.reason == "reputation 0.50 < threshold 0.60"
    assert a.trainer.outgoing[rid].responses["B"].accepted is False


async def test_deadline_missed_over_the_wire(hub, make_runner):
    never = asyncio.Event()

    async def stuck(request):
        await never.wait()

    a, _ = await make_runner("A", url=hub.url)
    b, _ = await make_runner("B", url=hub.url, producer=stuck)
    a.send_request("code_review", "x", 0.5)
    await wait_until(lambda: "B" in a.trainer.reputation, what="the deadline to pass")
    assert a.trainer.reputation["B"] == 0.35
    assert a.trainer.book.records["B"].last_reason == "deadline missed"
    await wait_until(lambda: any(s.status == "expired" for s in b.trainer.collaboration_sessions.values()),
                     what="B's session to expire")


async def test_producer_and_validator_commands(hub, make_runner):
    script = "import sys, json; r = json.load(sys.stdin); print('built', r['feature'])"

    async def producer(request):
        return await run_producer([sys.executable, "-c", script], request, 10.0)

    async def failing_validator(component):
        return await run_validator([sys.executable, "-c",
                                    "import sys; print('lint: 3 errors', file=sys.stderr); sys.exit(1)"],
                                   component, 10.0)

    a, _ = await make_runner("A", url=hub.url, validator=failing_validator)
    b, _ = await make_runner("B", url=hub.url, producer=producer)
    a.send_request("code_review", "fs journal", 10.0)
    await wait_until(lambda: "B" in a.trainer.reputation, what="validation")
    [stored] = a.trainer.shared_knowledge["benchmarks"].values()
    assert stored["component"]["content"] == "built fs journal\n"
    assert a.trainer.reputation["B"] == 0.35
    assert "validator failed" in stored["reason"] and "lint: 3 errors" in stored["reason"]


async def test_validator_that_cannot_start_is_not_counted(hub, make_runner):
    async def missing(component):
        return await run_validator(["/nonexistent/validator"], component, 5.0)

    a, rec_a = await make_runner("A", url=hub.url, validator=missing)
    b, _ = await make_runner("B", url=hub.url)
    a.send_request("code_review", "x", 10.0)
    await wait_until(lambda: any(e.record["validation"] == "unchecked" for e in rec_a.of("ComponentReceived")),
                     what="the validator error")
    assert "B" not in a.trainer.reputation


async def test_hub_restart_mid_collaboration_loses_nothing(make_runner):
    hub = await start_hub()
    port = hub.port
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(request):
        started.set()
        await release.wait()
        return ProducerResult(True, "made while the hub was down", "")

    a, _ = await make_runner("A", url=hub.url)
    b, _ = await make_runner("B", url=hub.url, producer=slow)
    a.trainer._update_reputation("C", True)  # some evidence that must survive
    rid = a.send_request("code_review", "x", 30.0)
    await asyncio.wait_for(started.wait(), 10)
    await hub.close()
    await wait_until(lambda: not a.trainer.joined and not b.trainer.joined, what="both to notice")
    release.set()  # B finishes while the hub is away: the delivery waits in its outbox
    await wait_until(lambda: b.outbox_size > 0, what="B to queue its delivery")
    hub2 = await start_hub(port=port)
    try:
        await wait_until(lambda: a.trainer.joined and b.trainer.joined, timeout=20, what="both to rejoin")
        await wait_until(lambda: "B" in a.trainer.reputation, what="the delivery after the restart")
        assert a.trainer.reputation["B"] == 0.65 and a.trainer.reputation["C"] == 0.65
        assert a.trainer.collaboration_sessions[f"out:{rid}/B"].status == "completed"
    finally:
        await hub2.close()


async def test_wrong_token_stops_with_clear_status(hub, make_runner):
    r, rec = await make_runner("A", url=hub.url, token="wrong-token")
    assert r.status.state == "refused" and "401" in r.status.detail
    await asyncio.wait_for(r.stopped.wait(), 5)


async def test_duplicate_id_is_final(hub, make_runner):
    await make_runner("A", url=hub.url)
    r, _ = await make_runner("A", url=hub.url)
    assert r.status.state == "refused" and "4409" in r.status.detail
