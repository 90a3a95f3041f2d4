"""Hubs for the tests: in-process hubs (one alone, or several sharing a Redis), a
``redis-server`` of the tests' own, and real ``python -m collab_hub`` processes.

- ``make_config(**HubConfig kwargs, limits={...})``: loopback, port 0, ``SHARED`` and
  the per-id token of ``bound``.
- ``Network``: several hubs standing in for one ``Hub`` (``connect_to`` picks them in
  turn), ``broker_config``, ``new_prefix``.
- ``RedisServer``, ``redis_server_binary``, ``launch_hub``, ``start_hub_process``, ``http_get``,
  ``metric_lines``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from collab_hub.config import BrokerConfig, HubConfig, Limits
from collab_hub.server import Hub

from .client import BOUND_TOKEN, SHARED

TEST_TTL_S = 3.0  # presence TTL in tests: a dead hub's trainers leave after ~3-4 s
TEST_RETRY_MAX_S = 0.5


def redis_server_binary() -> str:
    """Path of redis-server; FAIL when missing under CI, skip otherwise."""
    path = shutil.which("redis-server")
    if path is None:
        message = "redis-server is not installed (Debian: apt-get install redis-server); the multi-hub tests need a real Redis"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A redis-server of our own on a free loopback port (no persistence)."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, deadline_s: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + deadline_s
        while not redis_answers(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode} (port {self.port})")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING within {deadline_s} s")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def make_config(**kwargs: Any) -> HubConfig:
    limits = kwargs.pop("limits", None)
    if isinstance(limits, dict):
        limits = Limits(**limits)
    kwargs.setdefault("host", "127.0.0.1")
    kwargs.setdefault("port", 0)
    kwargs.setdefault("shared_token", SHARED)
    kwargs.setdefault("tokens", {"bound": BOUND_TOKEN})
    return HubConfig(**kwargs, **({"limits": limits} if limits is not None else {}))


def broker_config(url: str, prefix: str, **over: Any) -> BrokerConfig:
    over.setdefault("presence_ttl_s", TEST_TTL_S)
    over.setdefault("retry_max_s", TEST_RETRY_MAX_S)
    return BrokerConfig(url=url, prefix=prefix, **over)


def new_prefix() -> str:
    return "t" + uuid.uuid4().hex[:12]


class Network:
    """Stands in for one ``Hub`` in tests written for a single hub: each
    ``connect(network)`` goes to the next hub in turn, so the first trainer joins hub
    0, the second hub 1, ... ``joined_ids()`` lists the trainers joined through any
    of the hubs (including ids whose release is still on its way to Redis)."""

    def __init__(self, hubs: list[Hub]) -> None:
        self.hubs = hubs
        self._next = 0

    def pick(self) -> Hub:
        hub = self.hubs[self._next % len(self.hubs)]
        self._next += 1
        return hub

    @property
    def url(self) -> str:
        return self.hubs[0].url

    def joined_ids(self) -> list[str]:
        ids: set[str] = set()
        for hub in self.hubs:
            ids.update(hub.joined_ids())
            ids.update(getattr(hub.broker, "_releasing", ()))
        return sorted(ids)


class HubProcess:
    """``python -m collab_hub --broker URL`` in its own process."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, lines: list[str]) -> None:
        self.proc = proc
        self.url = url
        self.lines = lines


async def launch_hub(*args: str, env: dict[str, str] | None = None) -> HubProcess:
    """``python -m collab_hub --port 0 ARGS`` (without ``COLLAB_HUB_TOKEN`` from this
    environment unless ``env`` sets it), once it prints the URL it listens on."""
    full_env = {k: v for k, v in os.environ.items() if k != "COLLAB_HUB_TOKEN"}
    full_env.update(env or {})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collab_hub", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=full_env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[str] = []
    async with asyncio.timeout(20):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, f"hub exited early: {(await proc.stderr.read()).decode()}"
            lines.append(line)
            if "listening on " in line:
                return HubProcess(proc, line.split("listening on ", 1)[1].strip(), lines)


async def start_hub_process(tmp_path: Path, redis_url: str, prefix: str, ttl: float = TEST_TTL_S) -> HubProcess:
    """A hub process on ``redis_url`` (the test tokens, key ``prefix``, presence ``ttl``)."""
    toml = tmp_path / f"hub-{uuid.uuid4().hex[:6]}.toml"
    toml.write_text(
        f'[auth]\nshared_token = "{SHARED}"\n[auth.tokens]\nbound = "{BOUND_TOKEN}"\n'
        f'[broker]\nurl = "{redis_url}"\nprefix = "{prefix}"\npresence_ttl_s = {ttl}\nretry_max_s = {TEST_RETRY_MAX_S}\n'
    )
    return await launch_hub("--config", str(toml))


async def http_get(url: str) -> tuple[int, str]:
    """A minimal GET (no client library needed): status and body."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def metric_lines(hub: Hub) -> set[str]:
    return set(hub.metrics.render().splitlines())
