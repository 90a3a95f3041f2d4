"""The hub test kit, shared by tests/hub and tests/multihub (fixtures in tests/conftest.py).

``client``: a Trainer written from PROTOCOL.md. ``servers``: hubs (one alone or several
on a Redis), a redis-server of the tests' own, hub processes.

``across_networks`` runs a protocol test against every kind of network: one hub with
its in-process broker ("local"), one hub on Redis ("redis"), and two hubs on one Redis
("two-hubs": the first trainer connected joins one hub, the second the other, ...).
"""

import pytest

from .client import (
    BOUND_TOKEN,
    RECV_TIMEOUT,
    SHARED,
    Trainer,
    connect_to,
    envelope,
    eventually,
    hello_payload,
    hello_raw,
)
from .servers import (
    TEST_RETRY_MAX_S,
    TEST_TTL_S,
    HubProcess,
    Network,
    RedisServer,
    broker_config,
    free_port,
    http_get,
    launch_hub,
    make_config,
    metric_lines,
    new_prefix,
    redis_server_binary,
    start_hub_process,
)

NETWORKS = ("local", "redis", "two-hubs")
across_networks = pytest.mark.parametrize("hub", NETWORKS, indirect=True)

__all__ = [
    "BOUND_TOKEN", "NETWORKS", "RECV_TIMEOUT", "SHARED", "TEST_RETRY_MAX_S", "TEST_TTL_S", "HubProcess", "Network",
    "RedisServer", "Trainer", "across_networks", "broker_config", "connect_to", "envelope", "eventually", "free_port",
    "hello_payload", "hello_raw", "http_get", "launch_hub", "make_config", "metric_lines", "new_prefix", "redis_server_binary",
    "start_hub_process",
]
