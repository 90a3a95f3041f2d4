"""Fixtures for several hubs sharing one Redis.

- ``redis_url``: ``COLLAB_TEST_REDIS_URL`` if set (CI starts one), else a
  ``redis-server`` this session starts on a free loopback port and stops at the end.
  Each test gets its own key prefix, so tests never see each other's trainers.
- ``own_redis``: a redis-server for this test alone (tests that stop and restart it).
- ``network``: ``await network(n, **BrokerConfig overrides)`` -> n in-process hubs,
  each with its own RedisBroker on ``redis_url`` (or ``url=...``).
- ``hub`` / ``connect``: the names tests/hub's protocol tests use; ``hub`` is a
  Network of one or two hubs (parametrized), ``connect`` spreads trainers over it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from multihub_kit import (
    SHARED,
    Network,
    RedisServer,
    broker_config,
    connect_to,
    make_config,
    new_prefix,
    redis_server_binary,
)

from collab_hub.server import Hub


@pytest.fixture(scope="session")
def redis_url():
    env_url = os.environ.get("COLLAB_TEST_REDIS_URL")
    if env_url:
        yield env_url
        return
    server = RedisServer(redis_server_binary())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def own_redis():
    server = RedisServer(redis_server_binary())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    return new_prefix()


@pytest.fixture
async def network(redis_url, prefix):
    hubs: list[Hub] = []

    async def start(n: int = 2, url: str | None = None, limits: dict[str, Any] | None = None, **broker: Any) -> list[Hub]:
        started = []
        for _ in range(n):
            config = make_config(broker=broker_config(url or redis_url, prefix, **broker), **({"limits": limits} if limits else {}))
            hub = Hub(config)
            await hub.start()
            hubs.append(hub)
            started.append(hub)
        return started

    yield start
    for hub in hubs:
        async with asyncio.timeout(30):  # generous: a loaded 2-core machine is slow, a hang still fails
            await hub.close()


@pytest.fixture
async def connect():
    clients = []

    async def open_(target, token: str | None = SHARED, **kwargs: Any):
        trainer = await connect_to(target, token, **kwargs)
        clients.append(trainer)
        return trainer

    yield open_
    for trainer in clients:
        if trainer.ws.transport is not None:
            trainer.ws.transport.abort()


@pytest.fixture(params=["one-hub", "two-hubs"])
async def hub(request, network) -> Network:
    """For tests/hub's protocol tests: one hub on Redis, or two (A on one, B on the other)."""
    hubs = await network(1 if request.param == "one-hub" else 2)
    return Network(hubs)
