"""``--broker`` / ``[broker]``: configuration, defaults, a hub started while Redis is
down, and an id taken over through another hub (bad [broker] values: tests/hub/test_hub_cli.py)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from hubkit import SHARED, connect_to, eventually, free_port
from redis.asyncio import Redis

from collab_hub.broker import LocalBroker
from collab_hub.cli import main
from collab_hub.config import BrokerConfig, HubConfig, load_config
from collab_hub.redis_broker import RedisBroker, redact_url
from collab_hub.server import Hub


def test_default_is_the_in_process_broker_and_adds_no_metrics():
    config = HubConfig()
    assert config.broker == BrokerConfig() and config.broker.url is None
    hub = Hub(config)
    assert isinstance(hub.broker, LocalBroker)
    assert "broker" not in hub.metrics.render()


def test_default_presence_ttl_announces_a_dead_hubs_trainers_within_15_s():
    broker = RedisBroker("redis://127.0.0.1:1/0")  # defaults, not connected
    # Worst case: the hub dies right after refreshing. Its claims expire presence_ttl_s
    # later and the next sweep (every _sweep_s, on every live hub) announces them.
    assert broker.presence_ttl_s == BrokerConfig().presence_ttl_s == 10.0
    assert broker.presence_ttl_s + broker._sweep_s <= 11.0 < 15
    # Two refreshes may be missed before a live hub's claims expire.
    assert broker._refresh_s * 3 <= broker.presence_ttl_s


def test_broker_in_hub_toml_and_flag(tmp_path: Path):
    path = tmp_path / "hub.toml"
    path.write_text('[broker]\nurl = "redis://10.0.0.5:6379/2"\npresence_ttl_s = 4\nprefix = "site-a"\nretry_max_s = 2.5\n')
    config = load_config(path, environ={})
    assert config.broker == BrokerConfig(url="redis://10.0.0.5:6379/2", presence_ttl_s=4, prefix="site-a", retry_max_s=2.5)
    config = load_config(path, broker="redis://127.0.0.1:7777/0", environ={})
    assert config.broker.url == "redis://127.0.0.1:7777/0" and config.broker.prefix == "site-a"
    assert load_config(None, broker="unix:///run/redis.sock", environ={}).broker.url == "unix:///run/redis.sock"
    assert HubConfig(broker={"url": "rediss://h:1/0"}).broker.url == "rediss://h:1/0"


def test_bad_broker_flag_exits_2_with_one_line(capsys):
    assert main(["--broker", "localhost:6379"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--broker: must be a redis://" in err


def test_password_is_redacted():
    assert redact_url("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("redis://user:s3cret@h:6379/0") == "redis://user:***@h:6379/0"
    assert "s3cret" not in RedisBroker("redis://u:s3cret@h:1/0").describe()


async def test_hub_process_starts_and_serves_locally_while_redis_is_down():
    port = free_port()  # nothing listens there
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collab_hub", "--port", "0", "--token", SHARED,
        "--broker", f"redis://127.0.0.1:{port}/0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(20):
            line = (await proc.stdout.readline()).decode()
        assert "listening on " in line, line
        url = line.split("listening on ", 1)[1].strip()
        async with asyncio.timeout(5):
            line = (await proc.stdout.readline()).decode()
        assert line.startswith("collab-hub: broker redis redis://127.0.0.1:") and "hub_id=" in line
        a, b = await connect_to(url), await connect_to(url)
        await a.join("a")
        await b.join("b")
        req = await a.send_env("COLLABORATION_REQUEST", {"request_id": "r"}, recipient_id="b")
        assert (await b.until("COLLABORATION_REQUEST"))["message_id"] == req["message_id"]
        await a.close()
        await b.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await proc.wait() == 0
    stderr = (await proc.stderr.read()).decode()
    assert "unreachable" in stderr and "retrying with backoff" in stderr
    assert "Traceback" not in stderr


async def test_an_id_taken_over_through_another_hub_closes_the_local_session_4409(network, connect, redis_url, prefix):
    (h1,) = await network(1, presence_ttl_s=1.0)
    x = await connect(h1)
    await x.join("x")
    # As if another hub had claimed "x" while this one could not reach Redis.
    redis = Redis.from_url(redis_url)
    try:
        await redis.hset(f"{prefix}:owner", "x", "another-hub")
    finally:
        await redis.aclose()
    await x.expect_error("duplicate_id", timeout=5)  # found by the next refresh
    assert await x.closed() == 4409
    await eventually(lambda: h1.joined_ids() == [], message="x to be gone from hub 1")
