"""A scenario: the arrivals, the service as the operator would see it (a ServiceSpec) and its physics.

Every policy runs the same Scenario, so the SLO, replica bounds, variants and swap modes
are the same for all of them; only the decisions differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from governor.model.spec import Precision, ServiceSpec, SwapMode
from governor.sim.arrivals import Arrivals
from governor.sim.fleet import FleetConfig, VariantPhysics
from governor.sim.telemetry import TelemetryConfig


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    arrivals: Arrivals
    spec: ServiceSpec
    initial_replicas: int
    service_time_s: float = 4.0  # one request at the preferred variant (relative throughput 1.0)
    slots: int = 16  # concurrent requests per replica (continuous batching)
    in_place_s: float = 20.0  # one pod serves nothing for this long during an in-place swap
    timeout_s: float = 60.0  # clients give up after waiting this long in the queue
    scrape_s: int = 15
    rate_window_s: int = 60
    # Seconds of load played before the measured run, with nobody deciding, so that every
    # policy starts from a warmed steady state (full metric windows, a settled queue).
    warmup_s: int = 120
    # Arrival rate of that warm-up (None: the mean of the run's first minute).
    warmup_rate: float | None = None

    @property
    def slo_latency_s(self) -> float:
        return self.spec.slo.latency_ms / 1000.0

    def physics(self) -> dict[Precision, VariantPhysics]:
        out = {}
        for variant in self.spec.precision.variants:
            service_s = self.service_time_s / variant.relative_throughput
            out[variant.precision] = VariantPhysics(
                precision=variant.precision,
                rate_per_replica=self.slots / service_s,
                service_time_s=service_s,
                quality=variant.relative_quality,
                in_place=SwapMode.IN_PLACE in variant.swap_modes,
            )
        return out

    def rate_per_replica(self, precision: Precision | None = None) -> float:
        return self.physics()[precision or self.spec.precision.preferred].rate_per_replica

    def replicas_for(self, rate: float, utilization: float, precision: Precision | None = None) -> int:
        """Replicas that keep ``rate`` at ``utilization`` of capacity, within the spec's bounds."""
        needed = math.ceil(rate / (self.rate_per_replica(precision) * utilization) - 1e-9)
        return max(self.spec.min_replicas, min(self.spec.max_replicas, needed))

    def fleet_config(self) -> FleetConfig:
        return FleetConfig.of(self.spec, self.in_place_s)

    def telemetry_config(self) -> TelemetryConfig:
        return TelemetryConfig(self.scrape_s, self.rate_window_s, self.slo_latency_s)
