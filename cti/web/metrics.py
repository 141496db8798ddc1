"""Prometheus metrics of the web side, on a registry of their own per app."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass
class WebMetrics:
    """Counters and gauges exported at `/metrics`."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.logins = Counter("cti_logins", "Login attempts", ["result"], registry=r)
        self.sockets = Gauge("cti_agent_sockets", "Open agent WebSockets", registry=r)
        self.messages_sent = Counter(
            "cti_agent_messages_sent", "Messages written to agent WebSockets", ["type"], registry=r
        )
        self.dropped_sockets = Counter(
            "cti_agent_sockets_dropped", "Sockets dropped for not reading", ["reason"], registry=r
        )
        self.wrapups = Counter("cti_wrapups", "Wrap-up forms saved", ["outcome"], registry=r)
