"""Coalescing trainer events into what must be redrawn.

Events arrive in bursts (a flood of requests can produce thousands a second). Each is
reduced at once to the keys of the rows it touched; the sets are bounded by the
trainer's own bounded state, so a paused or busy UI never piles up events.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core import events as ev
from ..core.sessions import RESPONDER


@dataclass
class Dirty:
    requests: set[str] = field(default_factory=set)
    peers: set[str] = field(default_factory=set)
    components: set[str] = field(default_factory=set)
    all_peers: bool = False
    status: bool = False
    events: int = 0
    problems: int = 0
    notices: list[tuple[str, str]] = field(default_factory=list)   # (message, severity)

    def __bool__(self) -> bool:
        return bool(self.events or self.status or self.requests or self.peers or self.components
                    or self.all_peers)

    def add(self, events: list[ev.Event]) -> None:
        self.events += len(events)
        self.status = True
        for event in events:
            if isinstance(event, (ev.DecisionMade, ev.ResponseSent)):
                self.requests.add("in:" + event.incoming.key)
            elif isinstance(event, (ev.RequestSent, ev.ResponseReceived)):
                self.requests.add("out:" + event.outgoing.request_id)
            elif isinstance(event, ev.SessionChanged):
                s = event.session
                self.requests.add(s.key if s.role == RESPONDER else "out:" + s.request_id)
            elif isinstance(event, ev.ComponentReceived):
                self.components.add(event.key)
                rid = event.record.get("request_id")
                if rid:
                    self.requests.add("out:" + rid)
            elif isinstance(event, ev.ReputationChanged):
                self.peers.add(event.change.peer)
            elif isinstance(event, ev.PeerChanged):
                self.peers.add(event.peer)
            elif isinstance(event, ev.SettingsChanged):
                self.all_peers = True
            elif isinstance(event, ev.ProtocolProblem):
                self.problems += 1
            elif isinstance(event, ev.HubError):
                if len(self.notices) < 5:
                    self.notices.append((f"hub error {event.code}: {event.detail}", "warning"))
