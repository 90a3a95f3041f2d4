"""The acceptance engines by name: what ``reputation.policy`` and ``--policy`` select.

A module of its own so that no policy module imports another that imports it back
(``shared`` builds on ``hardened``; the factory knows them both).
"""
from __future__ import annotations

from .hardened import HardenedPolicy, HardenedSettings
from .policy import POLICY_NAMES, AcceptancePolicy, ComplementTable, SeedPolicy
from .shared import SharedPolicy


def make_policy(name: str, complements: ComplementTable | dict | None = None,
                settings: HardenedSettings | None = None) -> AcceptancePolicy:
    """The acceptance policy called ``name`` ("seed", "hardened" or "shared": hardened plus reports)."""
    if not isinstance(complements, ComplementTable):
        complements = ComplementTable.from_mapping(complements)
    if name == "seed":
        return SeedPolicy(complements)
    if name == "hardened":
        return HardenedPolicy(complements, settings)
    if name == "shared":
        return SharedPolicy(complements, hardened=settings)
    raise ValueError(f"reputation policy must be one of {', '.join(map(repr, POLICY_NAMES))}, got {name!r}")
