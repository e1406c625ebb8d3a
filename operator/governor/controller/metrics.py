"""The operator's own Prometheus metrics: how the control loop itself is doing.

Built on an injectable ``CollectorRegistry`` (as client_python recommends) so every test gets a
fresh one; ``serve`` exposes it on ``GOVERNOR_METRICS_PORT`` (0 switches it off).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


@dataclass
class OperatorMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.ticks = Counter("governor_ticks", "Control-loop ticks run.", registry=r)
        self.tick_seconds = Histogram(
            "governor_tick_duration_seconds",
            "Wall time of one control-loop tick.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.decisions = Counter("governor_decisions", "Decisions taken, by direction.", ["direction"], registry=r)
        self.api_errors = Counter(
            "governor_api_errors", "Kubernetes API errors, by operation.", ["operation"], registry=r
        )
        self.reconcile_errors = Counter(
            "governor_reconcile_errors", "Per-service reconcile failures (isolated; the loop goes on).", registry=r
        )
        self.status_writes = Counter("governor_status_writes", "InferenceService status patches.", registry=r)
        self.active = Gauge(
            "governor_active", "1 while this replica acts, 0 while it stands by for a peer (Kopf peering).", registry=r
        )
        self.services = Gauge(
            "governor_services", "InferenceServices by condition (Ready, Invalid, NotReady).", ["condition"], registry=r
        )
        self.scrape_rejected = Counter(
            "governor_scrape_rejected",
            "Pod /metrics pages the direct scrape refused, by reason (too_large, timeout, malformed).",
            ["reason"],
            registry=r,
        )

    def set_services(self, counts: Mapping[str, int]) -> None:
        for condition in ("Ready", "NotReady", "Invalid"):
            self.services.labels(condition=condition).set(counts.get(condition, 0))

    def count_scrape_rejected(self, reason: str) -> None:
        self.scrape_rejected.labels(reason=reason).inc()

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:
        if port:
            start_http_server(port, addr=addr, registry=self.registry)
