"""collab-hub / python -m collab_hub: configuration, flags, signals, token generation."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hubkit import connect_to, launch_hub

from collab_hub.cli import main
from collab_hub.config import ConfigError, HubConfig, Limits, load_config

HUB_CMD = [sys.executable, "-m", "collab_hub"]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "COLLAB_HUB_TOKEN"}
    full_env.update(env or {})
    return subprocess.run([*HUB_CMD, *args], capture_output=True, text=True, timeout=timeout, env=full_env)


# -- configuration, in process ------------------------------------------------------------


def test_defaults_match_the_protocol():
    config = HubConfig()
    assert (config.host, config.port) == ("127.0.0.1", 6000)
    limits = config.limits
    assert limits.max_message_bytes == 1024 * 1024
    assert (limits.rate_per_s, limits.rate_burst) == (100, 200)
    assert limits.flood_close_s == 5
    assert limits.outbound_queue == 1000
    assert limits.outbound_queue_bytes == 16 * 1024 * 1024
    assert limits.queues_total_bytes == 256 * 1024 * 1024
    assert (limits.max_connections_per_credential, limits.max_unjoined_per_credential) == (32, 8)
    assert limits.refusal_log_interval_s == 10
    assert limits.hello_timeout_s == 10


def test_full_hub_toml(tmp_path: Path):
    path = tmp_path / "hub.toml"
    path.write_text(
        '[hub]\nhost = "0.0.0.0"\nport = 7000\nlog_level = "debug"\n'
        '[auth]\nshared_token = "dev-token"\n[auth.tokens]\nalice = "alice-token"\n'
        "[limits]\nmax_message_bytes = 2048\nrate_per_s = 5.5\nrate_burst = 10\noutbound_queue = 50\n"
        "max_connections = 7\nhello_timeout_s = 3\nflood_close_s = 1\noutbound_queue_bytes = 65536\n"
        "queues_total_bytes = 131072\nmax_connections_per_credential = 5\nmax_unjoined_per_credential = 2\n"
        "refusal_log_interval_s = 0.5\n"
    )
    config = load_config(path, environ={})
    assert (config.host, config.port, config.log_level) == ("0.0.0.0", 7000, "DEBUG")
    assert config.shared_token == "dev-token" and config.tokens == {"alice": "alice-token"}
    assert config.limits == Limits(
        max_message_bytes=2048, rate_per_s=5.5, rate_burst=10, outbound_queue=50, max_connections=7, hello_timeout_s=3, flood_close_s=1,
        outbound_queue_bytes=65536, queues_total_bytes=131072, max_connections_per_credential=5, max_unjoined_per_credential=2,
        refusal_log_interval_s=0.5,
    )


def test_precedence_flag_over_env_over_file(tmp_path: Path):
    path = tmp_path / "hub.toml"
    path.write_text('[auth]\nshared_token = "from-file"\n[hub]\nport = 7001\n')
    assert load_config(path, environ={}).shared_token == "from-file"
    assert load_config(path, environ={"COLLAB_HUB_TOKEN": "from-env"}).shared_token == "from-env"
    config = load_config(path, token="from-flag", port=0, environ={"COLLAB_HUB_TOKEN": "from-env"})
    assert (config.shared_token, config.port) == ("from-flag", 0)


@pytest.mark.parametrize(
    "toml, expected",
    [
        ("[limits]\nrate_per_sec = 3\n", "limits.rate_per_sec: unknown key"),
        ("[limitz]\n", "limitz: unknown section"),
        ("[hub]\nport = \"6000\"\n", "hub.port: must be an integer"),
        ("[hub]\nport = 70000\n", "hub.port: must be between 0 and 65535"),
        ("[hub]\nlog_level = \"LOUD\"\n", "hub.log_level: must be one of"),
        ("[hub]\nverbose = true\n", "hub.verbose: unknown key"),
        ("[limits]\nrate_per_s = -1\n", "limits.rate_per_s: must be a finite number > 0"),
        ("[limits]\nrate_burst = 2.5\n", "limits.rate_burst: must be an integer"),
        ("[limits]\noutbound_queue = 0\n", "limits.outbound_queue: must be >= 1"),
        ("[limits]\nhello_timeout_s = true\n", "limits.hello_timeout_s: must be a number"),
        ("[limits]\nmax_message_bytes = 10\n", "limits.max_message_bytes: must be between"),
        ("[auth]\nshared_token = 5\n", "auth.shared_token: must be a string"),
        ("[auth]\nshared_token = \"has space\"\n", "auth.shared_token: must be printable ASCII"),
        ("[auth]\ntokens = \"x\"\n", "auth.tokens: must be a table"),
        ("[auth.tokens]\n\"bad id\" = \"t\"\n", "auth.tokens.bad id"),
        ("[auth.tokens]\nalice = \"\"\n", "auth.tokens.alice: must not be empty"),
        ("[limits]\noutbound_queue_bytes = 100\n", "limits.outbound_queue_bytes: must be >= 1024"),
        ("[limits]\noutbound_queue_bytes = \"16MiB\"\n", "limits.outbound_queue_bytes: must be an integer"),
        ("[limits]\nqueues_total_bytes = 2048\n", "limits.queues_total_bytes: must be >= limits.outbound_queue_bytes"),
        ("[limits]\nmax_connections_per_credential = 0\n", "limits.max_connections_per_credential: must be >= 1"),
        ("[limits]\nmax_unjoined_per_credential = 1.5\n", "limits.max_unjoined_per_credential: must be an integer"),
        ("[limits]\nmax_connections_per_credential = 4\nmax_unjoined_per_credential = 5\n",
         "limits.max_unjoined_per_credential: must be <= limits.max_connections_per_credential (4), got 5"),
        ("[limits]\nrefusal_log_interval_s = 0\n", "limits.refusal_log_interval_s: must be a finite number > 0"),
        ("[limits]\nmax_unjoined = 3\n", "limits.max_unjoined: unknown key"),
        ("[auth.tokens]\nbob = \"a\"\nBOB = \"b\"\n", "auth.tokens.BOB: the same id as auth.tokens.bob"),
        ("[auth.tokens]\nHUB = \"a\"\n", "auth.tokens.HUB: the id is reserved"),
        ("hub = 3\n", "hub: must be a table"),
        ("[hub\n", "is not valid TOML"),
        # [broker] (docs/multihub.md)
        ('[broker]\nurl = "http://x:1/"\n', "broker.url: must be a redis://"),
        ('[broker]\nurl = 5\n', "broker.url: must be a non-empty string"),
        ('[broker]\npresence_ttl_s = 0.1\n', "broker.presence_ttl_s: must be between 0.5 and 3600"),
        ('[broker]\nprefix = "a b"\n', "broker.prefix: must be 1-64 characters"),
        ('[broker]\nretry_max_s = -1\n', "broker.retry_max_s: must be a finite number > 0"),
        ('[broker]\nhost = "x"\n', "broker.host: unknown key"),
    ],
)
def test_bad_hub_toml_names_the_key(tmp_path: Path, toml: str, expected: str):
    path = tmp_path / "hub.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_config_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml", environ={})
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, environ={})
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not valid"):
        load_config(binary, environ={})


def test_bad_env_token_names_the_variable():
    with pytest.raises(ConfigError, match="COLLAB_HUB_TOKEN"):
        load_config(environ={"COLLAB_HUB_TOKEN": "with space"})


def test_hubconfig_in_code_validates_with_key_names():
    with pytest.raises(ConfigError, match="limits.rate_burst"):
        HubConfig(limits={"rate_burst": 0})
    with pytest.raises(ConfigError, match="limits.nope: unknown key"):
        HubConfig(limits={"nope": 1})
    assert HubConfig(port=0, limits={"hello_timeout_s": 0.5}).limits.hello_timeout_s == 0.5


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--port", "abc"], "--port: not an integer"),
        (["--port", "70000"], "--port: must be between 0 and 65535"),
        (["--log-level", "LOUD"], "--log-level: must be one of"),
        (["--token", "two words"], "--token: must be printable ASCII"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--config"], "--config: expected one argument"),
    ],
)
def test_bad_flags_exit_nonzero_with_one_line(capsys, argv, expected):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code not in (0, None)
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


# -- subprocesses ----------------------------------------------------------------------------


def test_bad_config_in_a_subprocess_has_no_traceback(tmp_path: Path):
    path = tmp_path / "hub.toml"
    path.write_text("[limits]\nrate_per_s = \"fast\"\n")
    result = run_cli("--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "limits.rate_per_s: must be a number" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_new_limit_in_a_subprocess_exits_2_naming_the_key(tmp_path: Path):
    path = tmp_path / "hub.toml"
    path.write_text("[limits]\nmax_unjoined_per_credential = 0\n")
    result = run_cli("--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "limits.max_unjoined_per_credential: must be >= 1" in result.stderr


def test_port_in_use_exits_1_with_one_line():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = run_cli("--port", str(port), "--token", "t")
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_redis_broker_without_the_redis_extra_exits_2_with_the_install_line(tmp_path: Path):
    """A trainer-only install has no Redis client: asking for a Redis broker says what to install."""
    code = ("import sys; sys.modules['redis'] = None  # as if the 'redis' extra were not installed\n"
            "from collab_hub.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, "--port", "0", "--token", "t", "--broker", "redis://127.0.0.1:9/0"],
                            capture_output=True, text=True, timeout=20, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "pip install 'collab-tui[redis]'" in result.stderr


def test_the_local_hub_never_imports_the_redis_client(tmp_path: Path):
    code = ("import sys; sys.modules['redis'] = None\n"
            "import asyncio; from collab_hub.config import HubConfig; from collab_hub.server import Hub\n"
            "async def go():\n"
            "    async with Hub(HubConfig(port=0, shared_token='t')) as hub: print(hub.url)\n"
            "asyncio.run(go())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ws://127.0.0.1:")


async def start_subprocess_hub(*args: str, env: dict[str, str] | None = None):
    hub = await launch_hub(*args, env=env)
    return hub.proc, hub.url, hub.lines


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_closes_connections_1001_and_exits_0(sig):
    proc, url, _ = await start_subprocess_hub("--token", "sub-token")
    try:
        trainer = await connect_to(url, "sub-token")
        await trainer.join("alice")
        other = await connect_to(url, "sub-token")  # open, never joins
        loop = asyncio.get_running_loop()
        started = loop.time()
        proc.send_signal(sig)
        assert await trainer.closed(timeout=10) == 1001
        assert await other.closed(timeout=10) == 1001
        async with asyncio.timeout(10):
            code = await proc.wait()
        assert code == 0
        assert loop.time() - started < 5
        stderr = (await proc.stderr.read()).decode()
        assert "join id=alice peer=127.0.0.1:" in stderr
        assert "leave id=alice peer=127.0.0.1:" in stderr
        assert "Traceback" not in stderr
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_no_token_configured_generates_and_prints_one():
    proc, url, lines = await start_subprocess_hub()
    try:
        async with asyncio.timeout(10):
            while not any("generated shared token" in line for line in lines):
                lines.append((await proc.stdout.readline()).decode())
        token_line = next(line for line in lines if "generated shared token" in line)
        token = token_line.rsplit(": ", 1)[1].strip()
        assert len(token) >= 24
        trainer = await connect_to(url, token)
        await trainer.join("alice")
        from websockets.exceptions import InvalidStatus

        with pytest.raises(InvalidStatus):
            await connect_to(url, None)
        await trainer.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await proc.wait() == 0


async def test_env_token_and_refusal_logs():
    proc, url, lines = await start_subprocess_hub(env={"COLLAB_HUB_TOKEN": "env-token"})
    try:
        assert not any("generated" in line for line in lines)
        from websockets.exceptions import InvalidStatus

        with pytest.raises(InvalidStatus):
            await connect_to(url, "wrong")
        trainer = await connect_to(url, "env-token")
        await trainer.send_env("HELLO", {"ai_id": "bad id", "specialization": "x", "capabilities": [], "protocol_version": 1})
        await trainer.expect_error("bad_hello")
        assert await trainer.closed() == 4400
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await proc.wait() == 0
    stderr = (await proc.stderr.read()).decode()
    assert "reason=unauthorized" in stderr
    assert "reason=bad_hello" in stderr and "'bad id'" in stderr


def test_collab_hub_console_script_help():
    script = Path(sys.executable).parent / "collab-hub"
    if not script.exists():
        pytest.skip("collab-hub console script not installed in this environment")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 0
    for flag in ("--host", "--port", "--config", "--token", "--log-level"):
        assert flag in result.stdout
