"""The command line as a person uses it: real processes, real files."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import TOKEN, read_lines_until, start_hub, wait_until

PY = sys.executable


def run_cli(*args: str, env_home=None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if env_home is not None:
        env["COLLAB_TUI_HOME"] = str(env_home)
    return subprocess.run([PY, "-m", "collab_tui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args,needle", [
    (["A", "net", "tok", "--trust-threshold", "1.5"], "--trust-threshold must be a number between 0 and 1, got '1.5'"),
    (["A", "net", "tok", "--alpha", "abc"], "--alpha must be a number between 0 and 1, got 'abc'"),
    (["A", "net", "tok", "--hub", "http://x/"], "does not start with ws:// or wss://"),
    (["bad id!", "net", "tok"], "trainer id must be 1-64 characters"),
    (["A", "net", "tok", "--hold", "-1"], "--hold must be"),
    ([], "give this trainer's id"),
])
def test_bad_flags_exit_nonzero_with_a_clear_message(tmp_path, args, needle):
    result = run_cli(*args, env_home=tmp_path)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_token_is_explained(tmp_path):
    env_home = tmp_path
    result = subprocess.run([PY, "-m", "collab_tui.cli", "A", "networking", "--headless"], capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL,
                            env={k: v for k, v in {**os.environ, "COLLAB_TUI_HOME": str(env_home)}.items()
                                 if k != "COLLAB_HUB_TOKEN"})
    assert result.returncode == 2 and "no hub token" in result.stderr


async def test_corrupt_config_is_named_moved_aside_and_defaults_used(tmp_path):
    import asyncio
    hub = await start_hub()
    try:
        cfg = tmp_path / "config.toml"
        cfg.write_text("[reputation]\nalpha = 7\n")
        proc = await asyncio.create_subprocess_exec(
            PY, "-m", "collab_tui.cli", "A", "networking", "wrong-token", "--hub", hub.url, "--headless",
            "--config", str(cfg), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "COLLAB_TUI_HOME": str(tmp_path)})
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        err = err.decode()
        assert proc.returncode == 1  # the hub refused the token: a final stop, with the reason
        assert "reputation.alpha" in err and str(cfg) in err and "moved aside" in err
        assert "HTTP 401" in err and "Traceback" not in err
        aside = [p for p in tmp_path.iterdir() if p.name.startswith("config.toml.bad-")]
        assert len(aside) == 1 and aside[0].read_text() == "[reputation]\nalpha = 7\n"
    finally:
        await hub.close()


async def test_headless_prints_decisions_and_reputation_changes(tmp_path):
    """A headless trainer in its own process, against a real hub and a real peer."""
    import asyncio
    from collab_tui import NetworkedKernelTrainer
    from collab_tui.io.runner import TrainerRunner

    hub = await start_hub()
    env = {**os.environ, "COLLAB_TUI_HOME": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        PY, "-m", "collab_tui.cli", "AI_Node_1", "networking", TOKEN, "--hub", hub.url, "--headless",
        "--trust-threshold", "0.4", "--alpha", "0.5",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    peer = TrainerRunner(NetworkedKernelTrainer("AI_Node_2", "storage"), url=hub.url, token=TOKEN)
    try:
        await peer.start()
        await wait_until(lambda: "AI_Node_1" in peer.trainer.online, timeout=20, what="the CLI trainer to join")
        peer.send_request("cross_specialization", "tcp offload", 5.0)
        lines: list[str] = []
        await read_lines_until(proc.stdout, lines, "✓ ACCEPT")
        await wait_until(lambda: peer.trainer.reputation.get("AI_Node_1") == 0.65, what="delivery to the peer")
        assert any("request" in l and "AI_Node_2" in l and "storage complements networking" in l for l in lines)
        proc.terminate()
        rc = await asyncio.wait_for(proc.wait(), 10)
        assert rc == 0
        assert not (tmp_path / "config.toml").exists()  # flags apply to this run; nothing is written
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await peer.stop()
        await hub.close()


def test_demo_headless_shows_decisions_and_a_malicious_peer_sinking(tmp_path):
    result = run_cli("--demo", "--headless", "--demo-seconds", "10", env_home=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "✓ ACCEPT" in out and "✗ REJECT" in out
    sinking = [l for l in out.splitlines() if "reputation of malicious-1" in l]
    assert sinking and "→ 0.35" in sinking[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args,needle", [
    (["--honest", "x"], "argument --honest: expected a whole number, got 'x'"),
    (["--honest", "1", "--pace", "0"], "argument --pace: must be in (0, 3600], got 0"),
    (["--honest", "1", "--flaky-fail", "2"], "argument --flaky-fail: must be in [0, 1], got 2"),
    (["--honest", "1", "--hub", "tcp://x"], "does not start with ws:// or wss://"),
    ([], "nothing to run"),
])
def test_collab_bots_refuses_bad_flags_clearly(args, needle):
    result = subprocess.run([PY, "-m", "collab_tui.bots", *args], capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert needle in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args,needle", [
    (["A", "net", "tok", "--alpha", "abc"], "collab-tui: --alpha must be a number between 0 and 1, got 'abc'"),
    (["A", "net", "tok", "--log-level", "LOUD"], "collab-tui: argument --log-level: invalid choice: 'LOUD'"),
])
def test_flag_errors_are_one_line(tmp_path, args, needle):
    result = run_cli(*args, env_home=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(needle) and line.endswith("(see collab-tui --help)")
    assert "usage:" not in result.stderr


def test_headless_prints_a_bad_delivery_once_and_a_summary():
    from collab_tui import NetworkedKernelTrainer
    from collab_tui.launch import headless_lines, headless_summary
    from collab_tui.core.components import build_component

    t = NetworkedKernelTrainer("A", "networking")
    t.handle({"type": "TRAINING_SYNC", "message_id": "m1", "sender_id": "hub", "recipient_id": "A",
              "timestamp": 0.0, "payload": {"active_ais": ["M"], "global_knowledge_base": {},
                                            "collaboration_opportunities": [
                                                {"ai_id": "M", "specialization": "storage", "capabilities": []}]}},
             0.0)
    rid, _ = t.start_request("feature_development", "x", 30.0, 1.0)
    t.handle({"type": "COLLABORATION_RESPONSE", "message_id": "m2", "sender_id": "M", "recipient_id": "A",
              "timestamp": 0.0, "payload": {"request_id": rid, "accepted": True, "reason": "ok",
                                            "overridden": False}}, 2.0)
    bad = dict(build_component("c1", "comp", "1.0", "print(1)\n"), sha256="0" * 64)
    events = [e for e in t.handle({"type": "OS_COMPONENT_SHARE", "message_id": "m3", "sender_id": "M",
                                   "recipient_id": "A", "timestamp": 0.0,
                                   "payload": {"request_id": rid, "component": bad,
                                               "collaboration_complete": True}}, 3.0)
              if hasattr(e, "describe")]
    assert len([e for e in events if e.describe()]) == 3   # component, session, reputation
    [line] = headless_lines(events)
    assert line.startswith("component c1 from M: failed — ") and "sha256" in line
    assert line.endswith("· reputation of M: 0.50 → 0.35")
    summary = headless_summary(t)
    assert summary[0] == ("summary: 0 request(s) received (✓ 0 ✗ 0), 1 sent, "
                          "1 component(s) received (0 passed, 1 failed)")
    assert summary[1] == "reputation: M 0.35"


def test_demo_removes_its_temporary_home(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "COLLAB_TUI_HOME"}
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run([PY, "-m", "collab_tui.cli", "--demo", "--headless", "--demo-seconds", "2"],
                            capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "summary: " in result.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("collab-tui-demo-")]
