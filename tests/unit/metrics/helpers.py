"""Builders shared by the metrics unit tests."""

from __future__ import annotations

from governor.model import MetricsPreset, MetricsSpec, ServiceSpec, SLOSpec


def specs(n: int, preset: MetricsPreset = MetricsPreset.VLLM, gpu: str = "agent") -> list[ServiceSpec]:
    """``n`` services in namespace ``ml`` (s0, s1, ...) with a 400 ms SLO, one preset and GPU source."""
    return [
        ServiceSpec(namespace="ml", name=f"s{i}", slo=SLOSpec(latency_ms=400), metrics=MetricsSpec(preset, gpu))
        for i in range(n)
    ]
