"""Simulated peers over a real hub: each behaviour does what it says."""
from __future__ import annotations

from collab_tui.bots import BotSpec, BotSwarm

from .conftest import TOKEN, start_hub, wait_until


async def test_honest_accepts_a_stranger_and_delivers_malicious_cheats(hub, make_runner):
    swarm = BotSwarm(hub.url, TOKEN, BotSpec(honest=1, flaky=0, malicious=1), seed=1, initiate=False)
    await swarm.start()
    try:
        me, rec = await make_runner("me", "networking", url=hub.url)
        await wait_until(lambda: {"honest-1", "malicious-1"} <= me.trainer.online, what="bots online")
        me.send_request("feature_development", "tcp offload", 5.0)
        await wait_until(lambda: {"honest-1", "malicious-1"} <= set(me.trainer.reputation), what="both outcomes")
        assert me.trainer.reputation["honest-1"] == 0.65
        assert me.trainer.reputation["malicious-1"] == 0.35
        assert "sha256 mismatch" in me.trainer.book.records["malicious-1"].last_reason
        responses = {e.peer: e.accepted for e in rec.of("ResponseReceived")}
        assert responses == {"honest-1": True, "malicious-1": True}
    finally:
        await swarm.stop()


async def test_flaky_misses_deadlines(hub, make_runner):
    swarm = BotSwarm(hub.url, TOKEN, BotSpec(honest=0, flaky=1, malicious=0), flaky_fail=1.0, initiate=False)
    await swarm.start()
    try:
        me, _ = await make_runner("me", url=hub.url)
        await wait_until(lambda: "flaky-1" in me.trainer.online, what="flaky online")
        me.send_request("code_review", "x", 0.5)
        await wait_until(lambda: "flaky-1" in me.trainer.reputation, what="the deadline")
        assert me.trainer.book.records["flaky-1"].last_reason == "deadline missed"
    finally:
        await swarm.stop()


async def test_bots_initiate_requests_and_whitewasher_changes_identity(make_runner):
    hub = await start_hub()
    swarm = BotSwarm(hub.url, TOKEN, BotSpec(honest=1, flaky=0, malicious=0, whitewasher=1), pace_s=0.3,
                     deadline_s=2.0, seed=3)
    await swarm.start()
    try:
        me, rec = await make_runner("me", url=hub.url, trust_threshold=0.9)  # refuses everyone
        await wait_until(lambda: len({e.incoming.initiator for e in rec.of("DecisionMade")}) >= 2,
                         what="requests from the bots")
        washer = next(b for b in swarm.bots if b.behaviour == "whitewasher")
        await wait_until(lambda: len(washer.identities) >= 2, what="the whitewasher to rejoin under a new id")
        assert washer.identities[1] == "whitewasher-1.1"
    finally:
        await swarm.stop()
        await hub.close()
