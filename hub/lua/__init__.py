"""The RedisBroker's Lua scripts, shipped as package data (``*.lua`` next to this file).

Each script runs atomically in Redis; see the comment at the top of each file for its
KEYS and ARGV. A script that calls ``now_ms()`` gets ``now_ms.lua`` (Redis's clock)
prepended.
"""

from __future__ import annotations

from importlib.resources import files


def load(name: str) -> str:
    """The source of ``<name>.lua``, with ``now_ms.lua`` in front when it uses the clock."""
    here = files(__name__)
    body = here.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    if "now_ms()" in body:
        body = here.joinpath("now_ms.lua").read_text(encoding="utf-8") + body
    return body


CLAIM = load("claim")
REFRESH = load("refresh")
SWEEP = load("sweep")
RELEASE = load("release")
HUB_SYNC = load("hub_sync")
SNAPSHOT = load("snapshot")
LOOKUP = load("lookup")
ALL = (CLAIM, REFRESH, SWEEP, RELEASE, SNAPSHOT, LOOKUP, HUB_SYNC)
