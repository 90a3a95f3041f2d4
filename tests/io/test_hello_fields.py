"""The trainer's own HELLO follows PROTOCOL.md's field rules: a bad id, specialization or
capability is refused at start with a clear message, not by the hub's 4400 later."""
from __future__ import annotations

import pytest

from collab_tui.io.config import ConfigError, config_from_dict, parse_ai_id, parse_hello_name


@pytest.mark.parametrize("ai_id", ["hub", "HUB", "Hub"])
def test_the_hubs_own_id_is_reserved_in_any_case(ai_id):
    with pytest.raises(ConfigError, match="reserved for the hub itself"):
        parse_ai_id(ai_id)


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "née", "a/b"])
def test_a_specialization_outside_the_hello_rules_is_refused(name):
    with pytest.raises(ConfigError, match="must be 1-64 characters of A-Z a-z 0-9 _ . -"):
        parse_hello_name(name, "specialization")


def test_config_checks_specialization_and_capabilities():
    config, problems = config_from_dict({"trainer": {"specialization": "storage", "capabilities": ["nvme", "raid.5"]}})
    assert not problems and config.trainer.capabilities == ("nvme", "raid.5")
    _, problems = config_from_dict({"trainer": {"specialization": "two words"}})
    assert problems and "trainer.specialization must be 1-64 characters" in problems[0]
    _, problems = config_from_dict({"trainer": {"capabilities": ["ok"] * 33}})
    assert problems and "trainer.capabilities may have at most 32 entries, got 33" in problems[0]
    _, problems = config_from_dict({"trainer": {"capabilities": ["ok", "not ok"]}})
    assert problems and "trainer.capabilities[1] must be 1-64 characters" in problems[0]
