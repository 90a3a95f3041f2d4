"""reputation.trusted_reporters and reputation.policy = "shared" in the config file; --policy on the CLI."""
from __future__ import annotations

import pytest

from collab_tui import cli
from collab_tui.io.config import ConfigError, ReputationSettings, config_from_dict, load_config, save_config


def test_trusted_reporters_are_checked_trainer_ids():
    config, problems = config_from_dict({"reputation": {"policy": "shared",
                                                        "trusted_reporters": ["AI_Node_2", "n-7", "AI_Node_2"]}})
    assert problems == []
    assert config.reputation.policy == "shared"
    assert config.reputation.trusted_reporters == ("AI_Node_2", "n-7")      # duplicates dropped, order kept


@pytest.mark.parametrize("value, fragment", [
    ("AI_Node_2", "must be a list of strings"),
    (["ok", 3], "must be a list of strings"),
    (["bad id"], "'bad id' is not a trainer id"),
    (["x" * 65], "is not a trainer id"),
    ([f"p{i}" for i in range(65)], "at most 64 trainer ids"),
])
def test_bad_trusted_reporters_are_refused_naming_the_key(value, fragment):
    _, problems = config_from_dict({"reputation": {"trusted_reporters": value}})
    assert len(problems) == 1 and "reputation.trusted_reporters" in problems[0] and fragment in problems[0]
    with pytest.raises(ConfigError, match="trusted_reporters"):
        ReputationSettings(trusted_reporters=value)


def test_trusted_reporters_round_trip_through_the_file(tmp_path):
    path = tmp_path / "config.toml"
    config, _ = config_from_dict({"reputation": {"trusted_reporters": ["A", "B"]}})
    save_config(config, path)
    assert load_config(path).config.reputation.trusted_reporters == ("A", "B")


def test_policy_flag_overrides_the_config_and_reaches_the_trainer(tmp_path):
    args = cli.build_parser().parse_args(["me", "--policy", "shared"])
    config = cli.apply_flags(config_from_dict({"reputation": {"trusted_reporters": ["T1"]}})[0], args)
    assert config.reputation.policy == "shared"
    setup = cli.build_trainer("me", config, None, url="ws://127.0.0.1:1/", token=None,
                              state_path=tmp_path / "me.state.toml")
    trainer = setup.runner.trainer
    assert trainer.policy.name == "shared" and trainer.uses_reports and trainer.witness.trusted == {"T1"}
