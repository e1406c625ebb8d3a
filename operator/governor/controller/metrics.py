"""The operator's own Prometheus metrics: how the control loop itself is doing, and each service.

Built on an injectable ``CollectorRegistry`` (as client_python recommends) so every test gets a
fresh one; ``serve`` exposes it, with the ``/healthz`` and ``/readyz`` probes, on
``GOVERNOR_METRICS_PORT`` (0 switches it off).

The per-service gauges (``governor_service_*``) are one snapshot the loop replaces at the end of
each tick and a collector reads at scrape time: a deleted service's series are gone with the next
snapshot (or at once, on ``forget_service``), and a standby exports none — its peer does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from governor.controller.health import Health, Server, serve
from governor.model import Observation, ServiceKey
from governor.model.status import ServiceStatus


@dataclass(frozen=True)
class ServiceGauges:
    """What ``/metrics`` shows of one service: from its status and the tick's observation."""

    replicas: int | None = None  # the workload's replicas
    desired_replicas: int | None = None  # the last decision's
    precision: str | None = None  # served
    slo_attainment: float | None = None  # share of requests within the SLO latency, when measured
    alerts: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (alertname, severity) → firing


def service_gauges(status: ServiceStatus, observation: Observation | None) -> ServiceGauges:
    alerts: dict[tuple[str, str], int] = {}
    for alert in status.alerts.records:
        if alert.get("state") == "firing":
            key = (str(alert.get("name", "")), str(alert.get("severity", "")))
            alerts[key] = alerts.get(key, 0) + 1
    attainment = observation.slo_attainment if observation is not None else None
    return ServiceGauges(
        replicas=status.workload.replicas,
        desired_replicas=status.decision.desired_replicas,
        precision=status.actuation.precision,
        slo_attainment=attainment.value if attainment is not None else None,
        alerts=alerts,
    )


class ServiceCollector(Collector):
    """Yields the ``governor_service_*`` families from the latest snapshot (replaced whole, never mutated)."""

    def __init__(self) -> None:
        self.snapshot: Mapping[ServiceKey, ServiceGauges] = {}

    def collect(self) -> Iterator[Metric]:
        labels = ["namespace", "service"]
        replicas = GaugeMetricFamily("governor_service_replicas", "Replicas of the service's workload.", labels=labels)
        desired = GaugeMetricFamily(
            "governor_service_desired_replicas", "Replicas the last decision asked for.", labels=labels
        )
        precision = GaugeMetricFamily(
            "governor_service_precision", "1 for the precision the service serves.", labels=[*labels, "precision"]
        )
        attainment = GaugeMetricFamily(
            "governor_service_slo_attainment", "Share of requests within the SLO latency (0..1).", labels=labels
        )
        alerts = GaugeMetricFamily(
            "governor_service_alerts",
            "Firing alerts of the service, by alert name and severity.",
            labels=[*labels, "alertname", "severity"],
        )
        for key, g in sorted(self.snapshot.items()):
            names = [key.namespace, key.name]
            if g.replicas is not None:
                replicas.add_metric(names, g.replicas)
            if g.desired_replicas is not None:
                desired.add_metric(names, g.desired_replicas)
            if g.precision is not None:
                precision.add_metric([*names, g.precision], 1)
            if g.slo_attainment is not None:
                attainment.add_metric(names, g.slo_attainment)
            for (alertname, severity), count in sorted(g.alerts.items()):
                alerts.add_metric([*names, alertname, severity], count)
        yield from (replicas, desired, precision, attainment, alerts)


@dataclass
class OperatorMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    health: Health = field(default_factory=Health)
    server: Server | None = field(default=None, init=False)

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
        self.per_service = ServiceCollector()
        r.register(self.per_service)

    def set_active(self, active: bool) -> None:
        """Each turn of the loop: this replica acts (1) or stands by (0, and exports no service gauges)."""
        self.active.set(1 if active else 0)
        self.health.turned(active)
        if not active:
            self.per_service.snapshot = {}

    def set_service_gauges(self, gauges: Mapping[ServiceKey, ServiceGauges]) -> None:
        """The whole per-service view after a tick; services not in it have no series any more."""
        self.per_service.snapshot = dict(gauges)

    def forget_service(self, key: ServiceKey) -> None:
        self.per_service.snapshot = {k: v for k, v in self.per_service.snapshot.items() if k != key}

    def set_services(self, counts: Mapping[str, int]) -> None:
        for condition in ("Ready", "NotReady", "Invalid"):
            self.services.labels(condition=condition).set(counts.get(condition, 0))

    def count_scrape_rejected(self, reason: str) -> None:
        self.scrape_rejected.labels(reason=reason).inc()

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:
        """Serve /metrics, /healthz and /readyz on ``port`` (0: not at all); once (a second call keeps the first).

        ``OSError`` when the port is taken (``governor run`` binds before Kopf starts, to say so at once)."""
        if port and self.server is None:
            self.server = serve(self.health, self.registry, port, addr)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
