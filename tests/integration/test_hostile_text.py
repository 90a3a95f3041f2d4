"""Text from a hostile peer never reaches a terminal or a log raw (PROTOCOL.md, "Text from
peers"): a client written from PROTOCOL.md alone sends ESC sequences, C1 controls and bidi
overrides in every free-text field; a headless trainer in its own process prints and logs
what it saw, cleaned."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
import uuid

from websockets.asyncio.client import connect

from collab_tui.core.text import is_clean
from collab_tui.io.logs import configure_logging

from .conftest import TOKEN, read_lines_until, start_hub

PY = sys.executable
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[1;1H\x1b[31mFAKE ROW\x1b[0m\u202eevil\u202c\x9b31m\x7fend"
FORBIDDEN = ["\x1b", "\x07", "\x9b", "\x7f", "\u202e", "\u202c", "\x00"]


def frame(msg_type: str, payload: dict, recipient: str | None = None) -> str:
    return json.dumps({"type": msg_type, "message_id": uuid.uuid4().hex, "recipient_id": recipient,
                       "timestamp": time.time(), "payload": payload})


def assert_clean(text: str) -> None:
    found = [repr(c) for c in FORBIDDEN if c in text]
    assert not found, f"raw control characters reached the output: {found}"
    assert all(is_clean(line) for line in text.splitlines())


async def test_headless_output_and_log_lines_hold_no_peer_control_sequences(tmp_path):
    hub = await start_hub()
    env = {**os.environ, "COLLAB_TUI_HOME": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        PY, "-m", "collab_tui.cli", "victim", "networking", TOKEN, "--hub", hub.url, "--headless",
        "--log-level", "DEBUG", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    try:
        async with connect(hub.url, additional_headers={"Authorization": f"Bearer {TOKEN}"},
                           compression=None) as ws:
            await ws.send(frame("HELLO", {"ai_id": "evil", "specialization": "storage", "capabilities": [],
                                          "protocol_version": 1}))
            sync = json.loads(await ws.recv())
            assert sync["type"] == "TRAINING_SYNC"
            while "victim" not in sync["payload"]["active_ais"]:
                sync = json.loads(await ws.recv())   # PEER_JOINED once the victim is in
                if sync["type"] == "PEER_JOINED":
                    sync = {"payload": {"active_ais": [sync["payload"]["ai_id"]]}}
            await ws.send(frame("COLLABORATION_REQUEST", {
                "request_id": "r1" + HOSTILE[:100], "collaboration_type": HOSTILE, "feature": HOSTILE,
                "deadline_s": 30}))
            await ws.send(frame("COLLABORATION_RESPONSE", {
                "request_id": "nope" + HOSTILE[:100], "accepted": True, "reason": HOSTILE, "overridden": False},
                recipient="victim"))
            await ws.send(frame("OS_COMPONENT_SHARE", {
                "request_id": None, "collaboration_complete": True,
                "component": {"id": HOSTILE, "name": HOSTILE, "version": HOSTILE, "content": "x",
                              "sha256": "0" * 64}}, recipient="victim"))
            answers = []
            while not any(a["type"] == "COLLABORATION_RESPONSE" for a in answers):
                answers.append(json.loads(await asyncio.wait_for(ws.recv(), 20)))
        out_lines: list[str] = []
        await read_lines_until(proc.stdout, out_lines, "request r1")
        await read_lines_until(proc.stdout, out_lines, "component")
        proc.terminate()
        rest, err = await asyncio.wait_for(proc.communicate(), 20)
        out = "".join(out_lines) + rest.decode()
        err = err.decode()
        assert "FAKE ROW" in out and "pwned" not in out  # the text arrived, cleaned (an OSC title whole)
        assert_clean(out)
        assert "evil" in err                               # DEBUG logging saw the frames ...
        assert_clean(err)                                  # ... and logged them cleaned
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await hub.close()


def test_log_file_lines_are_cleaned_messages_and_tracebacks_alike(tmp_path):
    path = tmp_path / "collab-tui.log"
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("INFO", path=path)
        logging.getLogger("collab_tui.test").warning("peer said %s", HOSTILE)
        try:
            raise ValueError(HOSTILE)
        except ValueError:
            logging.getLogger("collab_tui.test").exception("frame from %s failed", HOSTILE)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    text = path.read_text(encoding="utf-8")
    assert text.count("FAKE ROW") == 3 and "Traceback" in text
    assert_clean(text)
