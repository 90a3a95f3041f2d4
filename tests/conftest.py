"""Hub fixtures for tests/hub and tests/multihub (helpers in tests/hubkit/):

- ``hub``: a started hub on an ephemeral loopback port (shared token ``SHARED``, per-id
  token for ``bound``). A test marked ``@across_networks`` gets it once per kind of
  network: ``local`` (this Hub), ``redis`` (one hub on a RedisBroker) and ``two-hubs``
  (a ``Network`` of two hubs on one Redis; ``connect`` spreads trainers over them).
- ``start_hub``: ``await start_hub(broker=None, **HubConfig kwargs / limits=...)``.
- ``connect``: ``await connect(hub_or_network_or_url, token=SHARED)`` -> a Trainer.
- ``redis_url``: ``COLLAB_TEST_REDIS_URL`` if set (CI starts one), else a
  ``redis-server`` this session starts on a free loopback port and stops at the end;
  each test gets its own key ``prefix``. ``own_redis``: a redis-server for one test
  (tests that stop and restart it).
- ``network``: ``await network(n, url=None, limits=None, **BrokerConfig overrides)`` ->
  n in-process hubs, each with its own RedisBroker.

Every hub started is closed and every client aborted at teardown.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from hubkit import (
    SHARED,
    Network,
    RedisServer,
    Trainer,
    broker_config,
    connect_to,
    make_config,
    new_prefix,
    redis_server_binary,
)
from tmuxkit import tmux  # noqa: F401  (the fixture: a private tmux server per test)

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
def hub(request) -> Hub | Network:
    kind = getattr(request, "param", "local")  # set by @across_networks
    return request.getfixturevalue({"local": "local_hub", "redis": "redis_hub", "two-hubs": "two_hubs"}[kind])


@pytest.fixture
async def local_hub(start_hub) -> Hub:
    return await start_hub()


@pytest.fixture
async def redis_hub(network) -> Network:
    return Network(await network(1))


@pytest.fixture
async def two_hubs(network) -> Network:
    return Network(await network(2))


@pytest.fixture
async def connect():
    clients: list[Trainer] = []

    async def open_(target: Hub | Network | str, token: str | None = SHARED, **kwargs: Any) -> Trainer:
        trainer = await connect_to(target, token, **kwargs)
        clients.append(trainer)
        return trainer

    yield open_
    for trainer in clients:
        if trainer.ws.transport is not None:
            trainer.ws.transport.abort()
