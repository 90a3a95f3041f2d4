"""Shared evidence end to end: a real hub relaying REPUTATION_QUERY/REPORT between real bots and a trainer."""
from __future__ import annotations

from collab_tui.bots import BotSpec, BotSwarm
from collab_tui.core.engines import make_policy

from .conftest import TOKEN, wait_until


async def test_a_trainer_refuses_a_cheat_it_never_met_and_still_accepts_honest_peers(hub, make_runner):
    swarm = BotSwarm(hub.url, TOKEN, BotSpec(honest=3, flaky=0, malicious=1), seed=7, initiate=False)
    await swarm.start()
    try:
        honest = [b for b in swarm.bots if b.behaviour == "honest"]
        cheat = next(b for b in swarm.bots if b.behaviour == "malicious")
        everyone = {b.ai_id for b in swarm.bots}
        await wait_until(lambda: all(b.runner and everyone - {b.ai_id} <= b.runner.trainer.online for b in swarm.bots),
                         what="the bots to see each other")
        # the cheat cheats three honest trainers: each asks it, it accepts and delivers a tampered component
        for bot in honest:
            bot.runner.send_request("code_review", "tls stack", 5.0, recipient=cheat.ai_id)
        await wait_until(lambda: all(b.runner.trainer.book.records.get(cheat.ai_id)
                                     and b.runner.trainer.book.records[cheat.ai_id].failures == 1 for b in honest),
                         what="three failed collaborations with the cheat")

        # a peer that never answers queries: a decision that asked it goes ahead after the bounded wait
        mute, _ = await make_runner("mute", url=hub.url, start=False)
        mute.encode_outgoing = lambda m: None if m.type == "REPUTATION_REPORT" else m.encode()
        await mute.start()
        await wait_until(lambda: mute.trainer.joined, what="mute to join")
        me, rec = await make_runner("me", url=hub.url, policy=make_policy("shared"),
                                    trusted_reporters=[b.ai_id for b in honest])
        await wait_until(lambda: everyone | {"mute"} <= me.trainer.online, what="me to see the bots")
        assert cheat.ai_id not in me.trainer.reputation            # never met

        cheat.runner.send_request("code_review", "sandbox", 5.0, recipient="me")
        await wait_until(lambda: any(e.incoming.initiator == cheat.ai_id for e in rec.of("DecisionMade")),
                         what="the decision on the cheat's first request")
        decision = next(e.incoming.decision for e in rec.of("DecisionMade") if e.incoming.initiator == cheat.ai_id)
        assert not decision.accept and decision.rule == "reports"
        assert decision.reason.startswith("reports: 0 ✓ / 3 ✗ from 3 reporters"), decision.reason
        assert any(e.peer == cheat.ai_id for e in rec.of("ReportsAwaited"))
        assert cheat.ai_id not in me.trainer.reputation            # reports never touch our own score
        await wait_until(lambda: any(r.accepted is False for o in cheat.runner.trainer.outgoing.values()
                                     for p, r in o.responses.items() if p == "me"),
                         what="the cheat to hear the refusal")

        for bot in honest:
            bot.runner.send_request("code_review", "vfs layer", 5.0, recipient="me")
        await wait_until(lambda: {b.ai_id for b in honest} <= {e.incoming.initiator for e in rec.of("DecisionMade")},
                         what="decisions on the honest peers' requests")
        for e in rec.of("DecisionMade"):
            if e.incoming.initiator != cheat.ai_id:
                assert e.incoming.decision.accept, e.incoming.decision.reason
        asked = [e for e in rec.of("ReportsAwaited") if e.peer in {b.ai_id for b in honest}]
        assert asked and all("mute" in e.reporters for e in asked)          # decided by tick, after the wait
        await wait_until(lambda: all(b.runner.trainer.reputation.get("me") == 0.65 for b in honest),
                         what="the honest peers to receive our components")
    finally:
        await swarm.stop()
