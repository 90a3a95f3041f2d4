"""OS components: the artifacts trainers deliver, and the checks on one that arrives."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_COMPONENT_BYTES = 256 * 1024
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_FIELDS = ("id", "name", "version", "content", "sha256")


def sha256_hex(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def build_component(component_id: str, name: str, version: str, content: str) -> dict[str, Any]:
    return {"id": component_id, "name": name, "version": version, "content": content,
            "sha256": sha256_hex(content)}


@dataclass(frozen=True, slots=True)
class ComponentCheck:
    ok: bool
    reason: str


def check_component(component: Any, max_bytes: int = DEFAULT_MAX_COMPONENT_BYTES) -> ComponentCheck:
    """Schema, size and digest. Anything else is a validator's job, out of process."""
    if not isinstance(component, dict):
        return ComponentCheck(False, "malformed component: not an object")
    missing = [f for f in _FIELDS if f not in component]
    if missing:
        return ComponentCheck(False, f"malformed component: missing {', '.join(missing)}")
    for key in ("id", "name", "content", "sha256"):
        if not isinstance(component[key], str):
            return ComponentCheck(False, f"malformed component: '{key}' is not a string")
    version = component["version"]
    if isinstance(version, bool) or not isinstance(version, (str, int, float)):
        return ComponentCheck(False, "malformed component: 'version' is not a string or number")
    if not (1 <= len(component["id"]) <= 128):
        return ComponentCheck(False, "malformed component: 'id' must be 1-128 characters")
    size = len(component["content"].encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return ComponentCheck(False, f"component too large: {size} bytes > limit {max_bytes}")
    if not _HEX64.fullmatch(component["sha256"]):
        return ComponentCheck(False, "malformed component: 'sha256' is not 64 hex digits")
    try:
        digest = sha256_hex(component["content"])
    except UnicodeEncodeError:
        return ComponentCheck(False, "malformed component: content is not valid Unicode text")
    if digest != component["sha256"].lower():
        return ComponentCheck(False, f"sha256 mismatch: declared {component['sha256'][:12]}…, "
                                     f"content hashes to {digest[:12]}…")
    return ComponentCheck(True, f"schema, size ({size} bytes) and sha256 ok")


def builtin_content(ai_id: str, specialization: str, request: dict[str, Any]) -> str:
    """What the built-in producer delivers: a small deterministic text artifact."""
    feature = str(request.get("feature", "")) or "component"
    return (f"# OS component: {feature}\n"
            f"# produced by {ai_id} ({specialization}) for request {request.get('request_id', '?')}\n"
            f"collaboration_type = {request.get('collaboration_type', '')!r}\n"
            f"feature = {feature!r}\n")
