"""The demo's simulated world: how a fleet of GPU model servers answers the load Governor leaves it with.

Pure arithmetic, no I/O: given the offered request rate, the ready replicas and the precision
they serve, one ``step`` says how much is served, how busy the GPUs are, how long the queue is
and what the latency distribution looks like. Per-replica capacity scales with the variant's
``relativeThroughput``; waiting grows as utilisation approaches 1 (Sakasegawa's M/M/c
approximation) and, past capacity, a backlog builds up and drains once capacity returns.
``Ledger`` keeps the run's ground truth for the final summary (SLO attainment, GPU-seconds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from governor.testing.servers import LatencyDistribution, ServedLoad

RHO_CAP = 0.97  # the smooth queueing term stops here; beyond it the backlog term takes over
MAX_BACKLOG_SECONDS = 60.0  # clients give up after about a minute: the backlog never grows past this
# Latency around its mean L: a right-skewed shape whose p99 is 2.1 L.
SHAPE: tuple[tuple[float, float, float], ...] = (
    (0.5, 0.9, 0.50),
    (0.9, 1.3, 0.35),
    (1.3, 1.8, 0.13),
    (1.8, 2.4, 0.02),
)


@dataclass(frozen=True)
class FleetParams:
    """What one replica can do, at relative throughput 1.0 (the preferred precision)."""

    capacity_rps: float = 5.0  # requests per second one replica serves at full batch
    service_seconds: float = 0.5  # mean latency of an unqueued request
    cache_hit_ratio: float = 0.5
    error_ratio: float = 0.002
    throughput: Mapping[str, float] = field(default_factory=lambda: {"bf16": 1.0})

    def relative(self, precision: str) -> float:
        return float(self.throughput.get(precision, 1.0))

    def service_at(self, precision: str) -> float:
        """Lower precisions run each token faster, so an unqueued request finishes sooner."""
        return self.service_seconds / math.sqrt(self.relative(precision))


@dataclass(frozen=True)
class FleetView:
    """What the fleet did during one step."""

    offered: float  # requests/s arriving
    served: float  # requests/s completed
    capacity: float  # requests/s the ready replicas can complete
    utilisation: float  # GPU busy share, 0..1
    backlog: float  # requests waiting beyond capacity at the end of the step
    mean_latency: float  # seconds
    latency: LatencyDistribution
    queue: float  # requests waiting (gauge)
    running: float  # requests in service (gauge)

    @property
    def p99_seconds(self) -> float:
        return self.latency.quantile(0.99)

    def within(self, slo_seconds: float) -> float:
        """Share of the requests finishing within ``slo_seconds``."""
        return self.latency.cdf(slo_seconds)


def queue_wait(service: float, replicas: int, rho: float) -> float:
    """Mean wait in an M/M/c queue (Sakasegawa): ``s · ρ^√(2(c+1)) / (c (1 − ρ))``."""
    if replicas <= 0 or rho <= 0:
        return 0.0
    rho = min(rho, RHO_CAP)
    return service * math.pow(rho, math.sqrt(2 * (replicas + 1))) / (replicas * (1 - rho))


def distribution(mean: float) -> LatencyDistribution:
    return LatencyDistribution(tuple((lo * mean, hi * mean, share) for lo, hi, share in SHAPE))


def step(params: FleetParams, backlog: float, offered: float, ready: Mapping[str, int], dt: float) -> FleetView:
    """Advance the fleet by ``dt`` seconds at a constant ``offered`` rate; returns the step's view.

    ``ready`` counts the ready replicas per precision they serve (two precisions while a swap rolls).
    """
    pods = {p: n for p, n in ready.items() if n > 0}
    replicas = sum(pods.values())
    capacity = sum(n * params.capacity_rps * params.relative(p) for p, n in pods.items())
    service = sum(n * params.service_at(p) for p, n in pods.items()) / replicas if replicas else params.service_seconds
    if capacity <= 0:  # no ready endpoint: the load balancer refuses requests, nothing queues up
        return FleetView(offered, 0.0, 0.0, 0.0, 0.0, service, distribution(service), 0.0, 0.0)
    demand = offered + backlog / dt if dt > 0 else offered
    served = min(demand, capacity)
    backlog = min(MAX_BACKLOG_SECONDS * capacity, max(0.0, backlog + (offered - served) * dt))
    wait = queue_wait(service, replicas, offered / capacity)
    mean = service + wait + backlog / capacity
    return FleetView(
        offered=offered,
        served=served,
        capacity=capacity,
        utilisation=min(1.0, served / capacity),
        backlog=backlog,
        mean_latency=mean,
        latency=distribution(mean),
        queue=backlog + offered * wait,
        running=served * service,
    )


def server_load(params: FleetParams, view: FleetView) -> ServedLoad:
    """The fleet's view as the simulated server's ``ServedLoad`` (what its ``/metrics`` page shows)."""
    return ServedLoad(
        rps=view.served,
        latency=view.latency,
        error_ratio=params.error_ratio,
        cache_hit_ratio=params.cache_hit_ratio,
        queue=view.queue,
        running=view.running,
    )


@dataclass(frozen=True)
class Ledger:
    """The run's ground truth, summed step by step."""

    seconds: float = 0.0
    requests: float = 0.0
    good: float = 0.0  # requests within the SLO latency
    gpu_seconds: float = 0.0  # ready replicas × seconds (one GPU each)
    peak_gpu_seconds: float = 0.0  # what maxReplicas all the time would have cost
    breach_seconds: float = 0.0  # time with p99 above the SLO latency

    def add(self, view: FleetView, ready: int, max_replicas: int, slo_seconds: float, dt: float) -> Ledger:
        served = view.served * dt
        refused = (view.offered if view.capacity <= 0 else 0.0) * dt  # no ready endpoint: every request fails
        return Ledger(
            seconds=self.seconds + dt,
            requests=self.requests + served + refused,
            good=self.good + served * view.within(slo_seconds),
            gpu_seconds=self.gpu_seconds + max(0, ready) * dt,
            peak_gpu_seconds=self.peak_gpu_seconds + max_replicas * dt,
            breach_seconds=self.breach_seconds + (dt if view.p99_seconds > slo_seconds else 0.0),
        )

    @property
    def attainment(self) -> float | None:
        return self.good / self.requests if self.requests > 0 else None
