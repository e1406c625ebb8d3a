"""Specs and self-consistent observations for policy tests.

``world`` builds what a monitoring stack would show of a fleet of ``ready`` replicas, each
completing ``mu × relative_throughput`` requests/s at full batch, under ``rate`` requests/s:
utilisation, in-flight requests (Little's law) and a p99 that breaches when the fleet is short.
"""

from __future__ import annotations

from governor.model.observation import Observation, Sample
from governor.model.spec import (
    Precision,
    PrecisionMode,
    PrecisionSpec,
    ServiceSpec,
    SLOSpec,
    SwapMode,
    TargetsSpec,
    Variant,
)

MU = 4.0  # requests/s per replica at relative throughput 1.0
SERVICE_S = 4.0

VARIANTS = (
    Variant(Precision.BF16, 1.0, 1.0, swap_modes=(SwapMode.ROLLING, SwapMode.IN_PLACE)),
    Variant(Precision.FP8, 1.6, 0.995, swap_modes=(SwapMode.ROLLING, SwapMode.IN_PLACE)),
    Variant(Precision.INT8, 1.8, 0.985, swap_modes=(SwapMode.ROLLING, SwapMode.IN_PLACE)),
    Variant(Precision.INT4, 2.0, 0.96, swap_modes=(SwapMode.ROLLING, SwapMode.IN_PLACE)),
)


def service(
    min_replicas: int = 1,
    max_replicas: int = 20,
    auto: bool = True,
    floor: float = 0.98,
    gpu_target: float | None = 0.75,
    concurrency: float | None = None,
    variants: tuple[Variant, ...] = VARIANTS,
    startup: float = 90.0,
) -> ServiceSpec:
    precision = PrecisionSpec(
        mode=PrecisionMode.AUTO if auto else PrecisionMode.FIXED,
        preferred=Precision.BF16,
        quality_floor=floor,
        variants=variants,
        min_dwell_seconds=600.0,
    )
    return ServiceSpec(
        namespace="ml",
        name="chat",
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        startup_seconds=startup,
        slo=SLOSpec(latency_ms=8000.0, latency_quantile=0.99, objective=0.99),
        targets=TargetsSpec(gpu_utilization=gpu_target, concurrency_per_replica=concurrency),
        precision=precision,
    )


def throughput(spec: ServiceSpec, precision: Precision) -> float:
    variant = spec.precision.variant(precision)
    return variant.relative_throughput if variant is not None else 1.0


def world(
    spec: ServiceSpec, rate: float, ready: int, precision: Precision, at: float, hit: float | None = None
) -> Observation:
    effective = rate * (1.0 - (hit or 0.0))
    capacity = max(ready, 1) * MU * throughput(spec, precision)
    util = min(1.0, effective / capacity)
    service_s = SERVICE_S / throughput(spec, precision)
    short = effective > capacity * 0.95
    queue = max(0.0, (effective - capacity) * 30.0)
    p99 = service_s * 1000.0 * (4.0 if short else 1.0)

    def s(value: float) -> Sample:
        return Sample(value, at)

    return Observation(
        at=at,
        source="test",
        request_rate=s(rate),
        cache_hit_ratio=None if hit is None else s(hit),
        gpu_utilization_mean=s(util),
        running_requests=s(min(effective, capacity) * service_s),
        queue_depth=s(queue),
        latency_p99_ms=s(p99),
        ready_replicas=s(float(ready)),
    )
