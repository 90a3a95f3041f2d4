"""Counters and gauges, rendered in the Prometheus text exposition format (0.0.4)."""

from __future__ import annotations

from collections import Counter
from typing import Callable

from .broker import BrokerStatus
from .protocol import CLIENT_TYPES, ErrorCode


class HubMetrics:
    """Plain counters, cheap enough for the hot path (a dict increment)."""

    def __init__(
        self,
        open_connections: Callable[[], int],
        joined_trainers: Callable[[], int],
        broker_status: Callable[[], BrokerStatus | None] | None = None,
        queued_bytes: Callable[[], int] | None = None,
    ) -> None:
        self._open_connections = open_connections
        self._joined_trainers = joined_trainers
        self._broker_status = broker_status
        self._queued_bytes = queued_bytes
        self.frames_in: Counter[str] = Counter()
        self.frames_out: Counter[str] = Counter()
        self.errors: Counter[str] = Counter({str(code): 0 for code in ErrorCode})
        self.closes: Counter[int] = Counter()
        self.handshakes_refused: Counter[str] = Counter()
        self.slow_receivers_disconnected = 0
        self.queue_budget_closes = 0  # of those, closed because all queues together were over budget
        self.memory_trims = 0  # times freed memory was returned to the OS after a large queue was dropped
        self.joins = 0
        self.leaves = 0

    def frame_in(self, type_: str) -> None:
        # Bound the label set: only the protocol's client types get their own label.
        self.frames_in[type_ if type_ in CLIENT_TYPES or type_ == "invalid" else "unknown"] += 1

    def render(self) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
            lines.append(f"# HELP collab_hub_{name} {help_}")
            lines.append(f"# TYPE collab_hub_{name} {kind}")
            for labels, value in samples:
                lines.append(f"collab_hub_{name}{labels} {value:g}" if isinstance(value, float) else f"collab_hub_{name}{labels} {value}")

        def labelled(label: str, counter: Counter) -> list[tuple[str, float]]:
            return [(f'{{{label}="{key}"}}', value) for key, value in sorted(counter.items(), key=lambda kv: str(kv[0]))]

        metric("open_connections", "gauge", "Open websocket connections (joined or not).", [("", self._open_connections())])
        metric("joined_trainers", "gauge", "Trainers joined on this hub.", [("", self._joined_trainers())])
        metric("frames_in_total", "counter", "Frames received, by envelope type (invalid: not a decodable envelope).", labelled("type", self.frames_in))
        metric("frames_out_total", "counter", "Frames written to receivers, by type.", labelled("type", self.frames_out))
        metric("errors_total", "counter", "ERROR frames sent, by code.", labelled("code", self.errors))
        metric(
            "closes_total", "counter",
            "Connections the hub closed, by close code (1002/1007/1009: closed by the websocket layer).",
            labelled("code", self.closes),
        )
        metric(
            "handshakes_refused_total", "counter",
            "Opening handshakes refused over HTTP, by reason (unauthorized, max_connections, credential_connections, "
            "credential_unjoined, shutting_down, not_found).",
            labelled("reason", self.handshakes_refused),
        )
        metric("slow_receivers_disconnected_total", "counter", "Receivers closed (1013) because their outbound queue was full.", [("", self.slow_receivers_disconnected)])
        metric(
            "queue_budget_closes_total", "counter",
            "Of those, receivers closed (1013) because all outbound queues together were over limits.queues_total_bytes.",
            [("", self.queue_budget_closes)],
        )
        if self._queued_bytes is not None:
            metric("queued_bytes", "gauge", "Bytes waiting in every receiver's outbound queue together.", [("", self._queued_bytes())])
        metric("memory_trims_total", "counter", "Times freed memory was returned to the OS after a large queue was dropped.", [("", self.memory_trims)])
        metric("joins_total", "counter", "Accepted HELLOs.", [("", self.joins)])
        metric("leaves_total", "counter", "Joined trainers whose connection ended.", [("", self.leaves)])
        broker = self._broker_status() if self._broker_status is not None else None
        if broker is not None:  # a shared broker (Redis): several hubs, one network
            kind = f'{{kind="{broker.kind}"}}'
            metric("broker_up", "gauge", "1 while the shared broker is reachable and presence is in sync, else 0.", [(kind, int(broker.up))])
            metric("broker_outages_total", "counter", "Times the connection to the shared broker was lost (or could not be made).", [(kind, broker.outages)])
            metric("remote_trainers", "gauge", "Trainers joined through other hubs, as this hub knows them.", [("", broker.remote_trainers)])
            metric("broker_frames_published_total", "counter", "Frames sent to other hubs through the broker.", [("", broker.frames_published)])
            metric("broker_frames_received_total", "counter", "Frames received from other hubs through the broker.", [("", broker.frames_received)])
            metric("broker_frames_dropped_total", "counter", "Frames for other hubs dropped because the broker was unreachable.", [("", broker.frames_dropped)])
        return "\n".join(lines) + "\n"
