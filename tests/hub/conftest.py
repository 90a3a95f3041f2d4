"""Hub fixtures: ``hub`` (a real hub on an ephemeral loopback port), ``start_hub``
(hubs with other settings) and ``connect`` (real websockets clients). Helpers live in
hub_testkit.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hub_testkit import SHARED, Trainer, _connect, make_config

from collab_hub.server import Hub


@pytest.fixture
async def start_hub():
    hubs: list[Hub] = []

    async def start(broker=None, **kwargs: Any) -> Hub:
        hub = Hub(make_config(**kwargs), broker=broker)
        await hub.start()
        hubs.append(hub)
        return hub

    yield start
    for hub in hubs:
        async with asyncio.timeout(10):
            await hub.close()


@pytest.fixture
async def hub(start_hub) -> Hub:
    return await start_hub()


@pytest.fixture
async def connect():
    clients: list[Trainer] = []

    async def open_(target: Hub | str, token: str | None = SHARED, **kwargs: Any) -> Trainer:
        trainer = await _connect(target, token, **kwargs)
        clients.append(trainer)
        return trainer

    yield open_
    for trainer in clients:
        trainer.ws.transport.abort() if trainer.ws.transport is not None else None
