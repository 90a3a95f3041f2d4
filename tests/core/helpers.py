"""Frame builders for core tests: what the hub would hand a trainer."""
from __future__ import annotations

import uuid

from collab_tui.core.components import build_component


def frame(msg_type: str, sender: str, payload: dict, recipient: str | None = "A") -> dict:
    return {"type": msg_type, "message_id": uuid.uuid4().hex, "sender_id": sender,
            "recipient_id": recipient, "timestamp": 0.0, "payload": payload}


def sync(*peers: tuple[str, str]) -> dict:
    return frame("TRAINING_SYNC", "hub", {
        "active_ais": [p for p, _ in peers],
        "collaboration_opportunities": [{"ai_id": p, "specialization": s, "capabilities": []} for p, s in peers],
        "global_knowledge_base": {}})


def request(sender: str, request_id: str = "r1", ctype: str = "feature_development",
            deadline: float = 10.0, feature: str = "tcp offload") -> dict:
    return frame("COLLABORATION_REQUEST", sender, {"request_id": request_id, "collaboration_type": ctype,
                                                   "feature": feature, "deadline_s": deadline}, None)


def response(sender: str, request_id: str, accepted: bool = True, reason: str = "ok",
             overridden: bool = False) -> dict:
    return frame("COLLABORATION_RESPONSE", sender, {"request_id": request_id, "accepted": accepted,
                                                    "reason": reason, "overridden": overridden})


def share(sender: str, request_id: str | None, content: str = "print('hi')\n", *, complete: bool = True,
          component: dict | None = None, cid: str = "c1") -> dict:
    comp = component if component is not None else build_component(cid, "comp", "1.0", content)
    return frame("OS_COMPONENT_SHARE", sender, {"request_id": request_id, "component": comp,
                                                "collaboration_complete": complete})


def kinds(items) -> list[str]:
    return [type(i).__name__ for i in items]


def sent(items) -> list[dict]:
    return [i.message.to_frame() for i in items if type(i).__name__ == "Send"]
