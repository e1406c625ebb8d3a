"""One real Prometheus per session scraping simulated pods of every preset (first scrape ~5.5 s)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from governor.model import MetricsPreset, MetricsSpec, ServiceKey, ServiceSpec, SLOSpec
from governor.testing.servers import LatencyDistribution, ServedLoad, SimulatedModelServer
from tests.support.prometheus import ServerFleet, Target, prometheus

PODS_PER_SERVICE = 2
LOAD = ServedLoad(rps=4.0, latency=LatencyDistribution(), error_ratio=0.02, cache_hit_ratio=0.6, queue=3.0, running=8.0)
SLO_MS = 900.0
PRESETS = (MetricsPreset.VLLM, MetricsPreset.TRITON, MetricsPreset.TGI, MetricsPreset.GENERIC)


def spec_for(preset: MetricsPreset, name: str | None = None, **metrics: object) -> ServiceSpec:
    return ServiceSpec(
        namespace="ml",
        name=name or f"chat-{preset.value}",
        slo=SLOSpec(latency_ms=SLO_MS),
        metrics=MetricsSpec(preset=preset, gpu_source="none", **metrics),  # type: ignore[arg-type]
    )


@dataclass
class StaticPods:
    """PodLister over fixed ``ip:port`` entries."""

    pods: Mapping[ServiceKey, Sequence[str]] = field(default_factory=dict)

    async def ready_pod_ips(self, key: ServiceKey) -> Sequence[str]:
        return list(self.pods.get(key, ()))


@dataclass
class Fleet:
    specs: list[ServiceSpec]
    pods: StaticPods
    targets: list[Target]
    servers: ServerFleet


@pytest.fixture(scope="session")
def fleet() -> Iterator[Fleet]:
    servers = ServerFleet()
    pods: dict[ServiceKey, list[str]] = {}
    targets: list[Target] = []
    specs = [spec_for(p) for p in PRESETS]
    try:
        for spec in specs:
            for index in range(PODS_PER_SERVICE):
                handle = servers.start(SimulatedModelServer(spec.metrics.preset.value, LOAD, model="m"))
                address = f"127.0.0.1:{handle.port}"
                pods.setdefault(spec.key, []).append(address)
                labels = {"namespace": spec.namespace, "service": spec.name, "pod": f"{spec.name}-{index}"}
                targets.append(Target(address, labels))
        yield Fleet(specs, StaticPods(pods), targets, servers)
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def prometheus_url(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prometheus(Path(tmp_path_factory.mktemp("prometheus")), fleet.targets) as url:
        yield url
