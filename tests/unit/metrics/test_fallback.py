"""FallbackSource: primary, then fallback on outage within the same tick, then back by itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from governor.metrics.agents import by_service
from governor.metrics.fallback import FallbackSource
from governor.metrics.source import MetricsUnavailable, NullSource
from governor.model import Observation, Sample, ServiceKey, ServiceSpec

SPECS = [ServiceSpec(namespace="ml", name="chat")]


class Scripted:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail, self.calls = name, fail, 0

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        self.calls += 1
        if self.fail:
            raise MetricsUnavailable(self.name + " down")
        return {s.key: Observation(at=now, source=self.name, request_rate=Sample(1.0, now)) for s in specs}


async def test_outage_then_recovery() -> None:
    primary, fallback = Scripted("prometheus"), Scripted("scrape")
    source = FallbackSource(primary, fallback)
    assert (await source.observe(SPECS, 1.0))[SPECS[0].key].source == "prometheus"
    primary.fail = True
    assert (await source.observe(SPECS, 2.0))[SPECS[0].key].source == "scrape" and source.degraded
    primary.fail = False
    assert (await source.observe(SPECS, 3.0))[SPECS[0].key].source == "prometheus" and not source.degraded
    assert fallback.calls == 1


async def test_both_down_is_unavailable_never_zero() -> None:
    source = FallbackSource(Scripted("prometheus", fail=True), Scripted("scrape", fail=True))
    obs = (await source.observe(SPECS, 5.0))[SPECS[0].key]
    assert obs.source == "none" and obs.request_rate is None and not obs.available
    null = (await NullSource().observe(SPECS, 5.0))[SPECS[0].key]
    assert null == obs


def test_agent_reports_by_service() -> None:
    gpu = {"available": True, "utilization": 0.5, "memory_used_bytes": 40, "memory_total_bytes": 80}
    report = {
        "available": True,
        "gpus": [
            {**gpu, "pods": [{"namespace": "ml", "pod": "chat-0", "service": "chat"}]},
            {**gpu, "utilization": 0.9, "pods": [{"namespace": "ml", "pod": "chat-1", "service": "chat"}]},
            {**gpu, "available": False, "utilization": None, "pods": [{"namespace": "ml", "service": "lost"}]},
        ],
    }
    out = by_service([report, {"available": False, "gpus": []}], 7.0)
    chat = out[ServiceKey("ml", "chat")]
    assert chat["gpu_utilization_mean"].value == 0.7 and chat["gpu_utilization_max"].value == 0.9
    assert chat["gpu_memory_used_max"].value == 0.5
    assert ServiceKey("ml", "lost") not in out  # an unavailable GPU gives no value, not zero
