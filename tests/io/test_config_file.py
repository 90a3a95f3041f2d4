"""The trainer config: typed defaults, TOML round trip, bad files set aside."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from collab_tui.io.config import (
    ConfigError,
    DecisionsSettings,
    HubSettings,
    ProducerSettings,
    ReputationSettings,
    TrainerConfig,
    TrainerSettings,
    UISettings,
    ValidatorSettings,
    default_config_path,
    default_state_path,
    hub_url_parts,
    load_config,
    parse_hold_seconds,
    parse_hub_url,
    parse_unit_interval,
    resolve_token,
    save_config,
)


def full_config() -> TrainerConfig:
    return TrainerConfig(
        trainer=TrainerSettings(specialization="networking", capabilities=("tcp", "quic")),
        hub=HubSettings(url="wss://hub.example.org:7000/collab", token_env="MY_TOKEN", token_file="~/t.txt"),
        reputation=ReputationSettings(trust_threshold=0.6, alpha=0.4, policy="hardened",
                                      max_active_sessions=5, history_size=200),
        decisions=DecisionsSettings(hold_s=2.5),
        complements={"networking": ("storage", "scheduling"), "storage": ()},
        producer=ProducerSettings(command=("python3", "-m", "make_component"), timeout_s=12.0),
        validator=ValidatorSettings(command=("lint", "--strict", "{path}"), timeout_s=3.0, max_component_bytes=1024),
        ui=UISettings(theme="collab-light"),
        keys={"accept": "A", "refuse": "r,R"},
    )


# ---- defaults and construction ------------------------------------------------


def test_defaults_match_the_documented_values():
    c = TrainerConfig()
    assert c.trainer.specialization == "general" and c.trainer.capabilities == ()
    assert c.hub.url == "ws://127.0.0.1:6000/" and c.hub.token_env == "COLLAB_HUB_TOKEN" and c.hub.token_file == ""
    assert (c.reputation.trust_threshold, c.reputation.alpha, c.reputation.policy) == (0.5, 0.3, "shared")
    assert (c.reputation.max_active_sessions, c.reputation.history_size) == (3, 50)
    assert c.decisions.hold_s == 0.0
    assert c.complements == {} and c.keys == {}
    assert (c.producer.command, c.producer.timeout_s) == ((), 30.0)
    assert (c.validator.command, c.validator.timeout_s, c.validator.max_component_bytes) == ((), 10.0, 262144)
    assert c.ui.theme == "collab-dark"


def test_construction_in_code_is_checked_and_normalized():
    r = ReputationSettings(alpha=1)
    assert r.alpha == 1.0 and isinstance(r.alpha, float)
    assert TrainerSettings(capabilities=["a", "b"]).capabilities == ("a", "b")
    with pytest.raises(ConfigError, match=r"reputation\.alpha must be a number between 0 and 1, got 1\.5"):
        ReputationSettings(alpha=1.5)
    with pytest.raises(ConfigError, match=r"reputation\.max_active_sessions"):
        ReputationSettings(max_active_sessions=0)
    with pytest.raises(ConfigError, match=r"hub\.url"):
        HubSettings(url="http://example.org/")


def test_replace_changes_sections_and_validates():
    c = TrainerConfig().replace(reputation=dict(trust_threshold=0.6))
    assert c.reputation.trust_threshold == 0.6 and c.reputation.alpha == 0.3
    assert c.replace(decisions=dict(hold_s=5)).decisions.hold_s == 5.0
    assert c.replace(hub=dict(url="ws://h:1")).hub.url == "ws://h:1/"
    with pytest.raises(ConfigError, match="trust_threshold"):
        c.replace(reputation=dict(trust_threshold=-0.1))
    with pytest.raises(ConfigError, match=r"unknown key reputation\.nope"):
        c.replace(reputation=dict(nope=1))
    both = c.replace(reputation={"alpha": 0.4}, decisions={"hold_s": 2}, keys={"accept": ["a", "A"]})
    assert (both.reputation.alpha, both.reputation.trust_threshold, both.decisions.hold_s) == (0.4, 0.6, 2.0)
    assert both.keys == {"accept": "a,A"} and c.reputation.alpha == 0.3   # a copy; the original unchanged
    with pytest.raises(ConfigError, match=r"decisions\.hold_s must be a number of seconds between 0 and 3600"):
        c.replace(decisions={"hold_s": 3601})
    with pytest.raises(ConfigError, match="unknown config section 'nosuch'"):
        c.replace(nosuch={})


# ---- text parsers for the CLI and the form -----------------------------------------


def test_parse_unit_interval():
    assert parse_unit_interval("0.6", "trust threshold") == 0.6
    assert parse_unit_interval(" 1 ", "alpha") == 1.0
    assert parse_unit_interval(0, "alpha") == 0.0
    with pytest.raises(ConfigError) as info:
        parse_unit_interval("1.7", "trust threshold")
    assert str(info.value) == "trust threshold must be a number between 0 and 1, got '1.7'"
    for bad in ("abc", "nan", "inf", "-0.01", ""):
        with pytest.raises(ConfigError, match="alpha must be a number between 0 and 1"):
            parse_unit_interval(bad, "alpha")
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ws://127.0.0.1:6000/", "ws://127.0.0.1:6000/"),
        ("ws://localhost:6000", "ws://localhost:6000/"),
        ("WSS://Hub.Example.org/path", "wss://hub.example.org/path"),
        ("ws://[::1]:6000", "ws://[::1]:6000/"),
    ],
)
def test_parse_hub_url_accepts_and_normalizes(text, expected):
    assert parse_hub_url(text) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("http://127.0.0.1:6000/", "does not start with ws:// or wss://"),
        ("127.0.0.1:6000", "does not start with ws:// or wss://"),
        ("ws://:6000/", "has no host"),
        ("ws://host:99999/", "ws:// or wss:// URL"),
        ("ws://host:abc/", "ws:// or wss:// URL"),
        ("ws://user:pw@host/", "must not contain a user name or password"),
        ("ws://host/?token=x", "must not have a query"),
        ("", "ws:// or wss:// URL"),
    ],
)
def test_parse_hub_url_refuses_with_a_clear_message(text, fragment):
    with pytest.raises(ConfigError) as info:
        parse_hub_url(text)
    assert fragment in str(info.value)
    assert str(info.value).startswith("hub URL")


def test_hub_url_parts():
    parts = hub_url_parts("ws://127.0.0.1:6000/")
    assert (parts.scheme, parts.host, parts.port, parts.path, parts.secure) == ("ws", "127.0.0.1", 6000, "/", False)
    assert hub_url_parts("wss://example.org").port == 443
    assert hub_url_parts("ws://[::1]/").host == "::1"


def test_parse_hold_seconds():
    assert parse_hold_seconds("2.5") == 2.5
    assert parse_hold_seconds("0") == 0.0
    assert parse_hold_seconds(3600) == 3600.0
    with pytest.raises(ConfigError, match="hold time must be a number of seconds between 0 and 3600, got '-1'"):
        parse_hold_seconds("-1")
    with pytest.raises(ConfigError, match="got '3601'"):
        parse_hold_seconds("3601")


# ---- files ------------------------------------------------------------------------


def test_missing_file_gives_defaults_without_problems(tmp_path):
    path = tmp_path / "config.toml"
    result = load_config(path)
    assert result.config == TrainerConfig() and result.problems == [] and result.moved_to is None
    assert not path.exists()


def test_save_then_load_round_trips_exactly(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    config = full_config()
    save_config(config, path)
    result = load_config(path)
    assert result.problems == []
    assert result.config == config
    doc = tomllib.loads(path.read_text())
    assert doc["reputation"]["alpha"] == 0.4
    assert doc["validator"]["command"] == ["lint", "--strict", "{path}"]
    assert "token" not in doc["hub"]  # an unset literal token is not written


def test_literal_token_round_trips(tmp_path):
    config = TrainerConfig().replace(hub=dict(token="s3cret"))
    save_config(config, tmp_path / "c.toml")
    assert load_config(tmp_path / "c.toml").config.hub.token == "s3cret"


_names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
#: What a HELLO may carry as a specialization or capability (PROTOCOL.md, Joining 2).
_hello_names = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(
    threshold=st.floats(0, 1),
    alpha=st.floats(0, 1),
    hold=st.floats(0, 3600),
    spec=_hello_names,
    caps=st.lists(_hello_names, max_size=4),
    complements=st.dictionaries(_names.filter(bool), st.lists(_names, max_size=3), max_size=3),
    command=st.lists(_names.filter(bool), max_size=3),
)
def test_round_trip_property(tmp_path_factory, threshold, alpha, hold, spec, caps, complements, command):
    config = TrainerConfig(
        trainer=TrainerSettings(specialization=spec, capabilities=caps),
        reputation=ReputationSettings(trust_threshold=threshold, alpha=alpha),
        decisions=DecisionsSettings(hold_s=hold),
        complements=complements,
        producer=ProducerSettings(command=command),
    )
    path = tmp_path_factory.mktemp("rt") / "config.toml"
    save_config(config, path)
    assert load_config(path).config == config


def test_ints_for_floats_and_key_lists_are_accepted(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[reputation]\nalpha = 1\n[keys]\naccept = ["a", "A"]\n')
    result = load_config(path)
    assert result.problems == []
    assert result.config.reputation.alpha == 1.0
    assert result.config.keys == {"accept": "a,A"}
    assert path.exists()  # a good file stays where it is


BAD_FILES = [
    ("[reputation]\nalpha = 1.7\n", "reputation.alpha must be a number between 0 and 1, got 1.7"),
    ('[reputation]\ntrust_threshold = "high"\n', "reputation.trust_threshold must be a number between 0 and 1, got 'high'"),
    ("[reputation]\nbogus = 1\n", "reputation.bogus: unknown key"),
    ("[reputation]\nmax_active_sessions = 0\n", "reputation.max_active_sessions must be a whole number between 1"),
    ("[reputation]\nhistory_size = 20000\n", "reputation.history_size must be a whole number between 1 and 10000"),
    ('[reputation]\npolicy = "lenient"\n', "reputation.policy must be one of 'seed', 'hardened'"),
    ("[decisions]\nhold_s = -1\n", "decisions.hold_s must be a number of seconds between 0 and 3600"),
    ('[hub]\nurl = "http://example.org/"\n', "hub.url must be a ws:// or wss:// URL"),
    ('[producer]\ncommand = "echo hi"\n', "producer.command must be a list of strings"),
    ("[validator]\ntimeout_s = 0\n", "validator.timeout_s must be a number of seconds greater than 0"),
    ('[complements]\nnetworking = "storage"\n', "complements.networking must be a list of strings"),
    ("[keys]\naccept = 5\n", "keys.accept must be a key or a list of keys"),
    ("[nosuch]\nx = 1\n", "nosuch: unknown section"),
    ("reputation = 3\n", "reputation must be a table"),
    ("[reputation\nalpha = \n", "is not valid TOML"),
    ("alpha = = 1\n", "is not valid TOML"),
]


@pytest.mark.parametrize("text, message", BAD_FILES)
def test_bad_file_is_reported_moved_aside_and_defaults_used(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    original = path.read_bytes()
    result = load_config(path)
    assert result.config == TrainerConfig()
    assert any(message in p and str(path) in p for p in result.problems), result.problems
    assert result.moved_to is not None and result.moved_to.parent == tmp_path
    assert result.moved_to.name.startswith("config.toml.bad-")
    assert result.moved_to.read_bytes() == original
    assert not path.exists()
    assert "moved aside" in result.problems[-1] and "default" in result.problems[-1]
    # The next start finds no file: defaults, silently; the bad copy is still kept.
    assert load_config(path).problems == []
    assert result.moved_to.exists()


def test_non_utf8_file_is_set_aside_with_original_bytes(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"[ui]\ntheme = \"\xff\xfe\"\n")
    result = load_config(path)
    assert "is not valid UTF-8" in result.problems[0]
    assert result.moved_to.read_bytes() == b"[ui]\ntheme = \"\xff\xfe\"\n"


def test_every_bad_key_is_named(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[reputation]\nalpha = 2\ntrust_threshold = -1\n[ui]\ncolour = 'x'\n")
    problems = load_config(path).problems
    text = "\n".join(problems)
    assert "reputation.alpha" in text and "reputation.trust_threshold" in text and "ui.colour" in text


def test_a_second_bad_file_does_not_overwrite_the_first_set_aside(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("not toml [")
    first = load_config(path).moved_to
    path.write_text("[reputation]\nalpha = 9\n")
    second = load_config(path).moved_to
    assert first != second
    assert first.read_text() == "not toml ["
    assert second.read_text() == "[reputation]\nalpha = 9\n"


def test_directory_in_place_of_the_file_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "config.toml"
    path.mkdir()
    result = load_config(path)
    assert result.config == TrainerConfig()
    assert "is a directory" in result.problems[0]
    assert path.is_dir()


# ---- locations and the token ---------------------------------------------------------


def test_default_paths_honour_collab_tui_home(tmp_path, monkeypatch):
    monkeypatch.setenv("COLLAB_TUI_HOME", str(tmp_path))
    assert default_config_path() == tmp_path / "config.toml"
    assert default_state_path("AI_Node_1") == tmp_path / "AI_Node_1.state.toml"


def test_default_paths_use_platformdirs_without_override(monkeypatch):
    from platformdirs import user_config_dir, user_state_dir

    monkeypatch.delenv("COLLAB_TUI_HOME", raising=False)
    assert default_config_path() == Path(user_config_dir("collab-tui")) / "config.toml"
    assert default_state_path("B") == Path(user_state_dir("collab-tui")) / "B.state.toml"


@pytest.mark.parametrize("bad_id", ["../etc/passwd", "a/b", "", "x" * 65, "sp ace"])
def test_state_path_refuses_ids_that_are_not_trainer_ids(bad_id):
    with pytest.raises(ConfigError, match="trainer id must be"):
        default_state_path(bad_id)


def test_resolve_token_precedence(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-file\nsecond line ignored\n")
    base = TrainerConfig().replace(hub=dict(token_env="TOK", token_file=str(token_file)))
    env = {"TOK": "from-env"}
    assert resolve_token(base, "from-cli", environ=env) == "from-cli"
    assert resolve_token(base.replace(hub=dict(token="literal")), None, environ=env) == "literal"
    assert resolve_token(base, None, environ=env) == "from-env"
    assert resolve_token(base, None, environ={}) == "from-file"
    assert resolve_token(base.replace(hub=dict(token_file="")), None, environ={}) is None


def test_resolve_token_reports_unreadable_or_empty_token_file(tmp_path):
    missing = TrainerConfig().replace(hub=dict(token_env="", token_file=str(tmp_path / "missing")))
    with pytest.raises(ConfigError, match=r"hub\.token_file: cannot read .*missing"):
        resolve_token(missing, environ={})
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        resolve_token(TrainerConfig().replace(hub=dict(token_file=str(empty))), environ={})


# ---- the documentation shows what the code does -----------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "persistence.md"


def _toml_blocks() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in text.split("```toml\n")[1:]]


def test_documented_config_is_exactly_the_defaults(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(_toml_blocks()[0])
    result = load_config(path)
    assert result.problems == []
    assert result.config == TrainerConfig()


def test_documented_state_example_loads(tmp_path):
    from collab_tui.io.state import StateStore

    path = tmp_path / "AI_Node_1.state.toml"
    path.write_text(_toml_blocks()[1])
    result = StateStore(path).load()
    assert result.problems == []
    assert result.state["peers"]["AI_Node_2"]["score"] == 0.65
