"""A real trainer joining a network whose TRAINING_SYNC does not fit in one frame: the hub
splits it (``more``), the trainer takes the union, and presence is right afterwards."""
from __future__ import annotations

import asyncio
import json
import time
import uuid

from websockets.asyncio.client import connect

from .conftest import TOKEN, start_hub

N = 160
CAPS = [f"cap{i:02d}-" + "c" * 58 for i in range(32)]      # 32 capabilities of 64 characters


def hello(ai_id: str) -> str:
    return json.dumps({"type": "HELLO", "message_id": uuid.uuid4().hex, "timestamp": time.time(),
                       "payload": {"ai_id": ai_id, "specialization": "s" * 64, "capabilities": CAPS,
                                   "protocol_version": 1}})


async def test_a_trainer_takes_the_union_of_a_split_sync_and_can_reach_every_peer(make_runner):
    limits = {"max_connections_per_credential": N + 10, "max_unjoined_per_credential": N + 10}
    hub = await start_hub(limits=limits)
    peers = []
    try:
        ids = [f"peer{i:03d}-" + "p" * 56 for i in range(N)]
        for ai_id in ids:
            ws = await connect(hub.url, additional_headers={"Authorization": f"Bearer {TOKEN}"},
                               compression=None, max_size=None)
            await ws.send(hello(ai_id))
            peers.append(ws)
        entries = [{"ai_id": i, "specialization": "s" * 64, "capabilities": CAPS} for i in ids]
        assert len(json.dumps(entries)) > 256 * 1024     # one frame cannot hold it: the sync is split
        runner, rec = await make_runner("newcomer", "networking", url=hub.url)
        trainer = runner.trainer
        assert trainer.joined
        joined = rec.of("Joined")
        assert len(joined) == 1 and sorted(joined[0].active_ais) == sorted(ids)
        assert trainer.online == set(ids)
        assert all(trainer.known_ai_info[i]["capabilities"] == CAPS for i in ids)
        # presence is right: a request directed to the last peer of the last frame goes out at once
        runner.send_request("feature_development", "tcp offload", 30.0, recipient=ids[-1])
        last = peers[-1]

        async def read_until_request() -> dict:
            while True:
                frame = json.loads(await last.recv())
                if frame["type"] == "COLLABORATION_REQUEST":
                    return frame


        frame = await asyncio.wait_for(read_until_request(), 20)
        assert frame["sender_id"] == "newcomer" and frame["recipient_id"] == ids[-1]
    finally:
        for ws in peers:
            ws.transport.abort()
        await hub.close()
