"""A token-mode scenario: requests with token lengths, the service as the operator sees it, its physics.

Every policy runs the same ``TokenScenario``: the same requests (measured run and warm-up),
the same ``ServiceSpec`` (TTFT / ITL objectives, replica bounds, variants) and the same
``TokenPhysics``; only the decisions differ. The fleet (start-up, scale, swaps) is the
request-level simulator's ``Fleet``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from governor.model.spec import Precision, ServiceSpec, SwapMode
from governor.sim.arrivals import Arrivals
from governor.sim.fleet import FleetConfig, VariantPhysics
from governor.sim.tokens.physics import KV_SCALE, TokenPhysics
from governor.sim.tokens.workload import TokenRequests

DEFAULT_TTFT_S = 3.0
DEFAULT_ITL_S = 0.1


@dataclass(frozen=True)
class Published:
    """A published result to print beside the simulated rows."""

    source: str
    attainment: float  # combined TTFT and ITL attainment
    average_replicas: float
    static_replicas: int


@dataclass(frozen=True, eq=False)
class TokenScenario:
    name: str
    description: str
    requests: TokenRequests  # the measured run: arrivals in [0, duration_s)
    warmup: TokenRequests  # arrivals in [-warmup_s, 0), played with nobody deciding
    duration_s: int
    spec: ServiceSpec
    initial_replicas: int
    physics: TokenPhysics = field(default_factory=TokenPhysics)
    warmup_s: int = 100
    tick_s: float = 0.25  # the batches advance in ticks of this length (fluid inside a tick)
    in_place_s: float = 20.0
    timeout_s: float = 180.0  # a request still queued this long after arriving is dropped by its client
    scrape_s: int = 15
    rate_window_s: int = 60
    published: Published | None = None

    # --- the objectives -------------------------------------------------------------------
    @property
    def ttft_s(self) -> float | None:
        return None if self.spec.slo.ttft is None else self.spec.slo.ttft.ms / 1000.0

    @property
    def itl_s(self) -> float | None:
        return None if self.spec.slo.itl is None else self.spec.slo.itl.ms / 1000.0

    @property
    def planning_itl_s(self) -> float:
        """The ITL the capacity model plans for: the objective's, else the default 100 ms."""
        return self.itl_s or DEFAULT_ITL_S

    # --- per-variant physics --------------------------------------------------------------
    def speed(self, precision: Precision) -> float:
        variant = self.spec.precision.variant(precision)
        return variant.relative_throughput if variant is not None else 1.0

    def quality(self, precision: Precision) -> float:
        variant = self.spec.precision.variant(precision)
        return variant.relative_quality if variant is not None else 1.0

    def mean_lengths(self) -> tuple[float, float]:
        source = self.requests if self.requests.size else self.warmup
        if source.size == 0:
            return 1.0, 1.0
        return float(source.isl.mean()), float(source.osl.mean())

    def rate_per_replica(self, precision: Precision | None = None) -> float:
        """Requests/s one replica sustains at the run's mean lengths within the planning ITL (no cache)."""
        chosen = precision or self.spec.precision.preferred
        isl, osl = self.mean_lengths()
        return self.physics.sustainable_rate(
            isl, osl, self.planning_itl_s, self.speed(chosen), KV_SCALE.get(chosen, 1.0)
        )

    def replicas_for(self, rate: float, utilization: float, precision: Precision | None = None) -> int:
        needed = math.ceil(rate / (self.rate_per_replica(precision) * utilization) - 1e-9)
        return max(self.spec.min_replicas, min(self.spec.max_replicas, needed))

    def fleet_physics(self) -> dict[Precision, VariantPhysics]:
        """What the shared ``Fleet`` needs of each variant (its request rate is the capacity model's)."""
        osl = self.mean_lengths()[1]
        out = {}
        for variant in self.spec.precision.variants:
            rate = self.rate_per_replica(variant.precision)
            service_s = osl * self.planning_itl_s
            out[variant.precision] = VariantPhysics(
                variant.precision, rate, service_s, variant.relative_quality, SwapMode.IN_PLACE in variant.swap_modes
            )
        return out

    def fleet_config(self) -> FleetConfig:
        return FleetConfig.of(self.spec, self.in_place_s)

    def arrivals(self) -> Arrivals:
        """The measured run as per-second counts (for plots and the request-level helpers)."""
        return Arrivals(self.requests.counts(0.0, self.duration_s), self.description)

    def work_per_second(self) -> np.ndarray:
        """GPU work (``TokenPhysics.work_s``, no cache) arriving in each measured second."""
        req = self.requests
        seconds = np.clip(np.floor(req.arrival_s).astype(np.int64), 0, max(0, self.duration_s - 1))
        work = self.physics.work_s(req.isl, req.osl)
        return np.bincount(seconds, weights=work, minlength=self.duration_s)[: self.duration_s]
