"""FallbackSource: primary, then fallback on outage within the same tick, then back once the primary has data."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence

import pytest

from governor.metrics.agents import by_service
from governor.metrics.fallback import FallbackSource, lacking
from governor.metrics.source import MetricsUnavailable, NullSource
from governor.model import Observation, Sample, ServiceKey, ServiceSpec

SPECS = [ServiceSpec(namespace="ml", name="chat")]


class Scripted:
    """Answers ``signals`` for every service (or per service name, through ``per_service``)."""

    def __init__(self, name: str, fail: bool = False, signals: Collection[str] = ("request_rate",)) -> None:
        self.name, self.fail, self.calls, self.signals = name, fail, 0, signals
        self.per_service: dict[str, Collection[str]] = {}

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        self.calls += 1
        if self.fail:
            raise MetricsUnavailable(self.name + " down")
        return {s.key: self._one(s, now) for s in specs}

    def _one(self, spec: ServiceSpec, now: float) -> Observation:
        signals = self.per_service.get(spec.name, self.signals)
        return Observation(at=now, source=self.name, **{name: Sample(1.0, now) for name in signals})


SCRAPED = ("request_rate", "latency_p99_ms", "queue_depth", "ready_replicas")
TWO = [ServiceSpec(namespace="ml", name="chat"), ServiceSpec(namespace="ml", name="embed")]


def sources(obs: Mapping[ServiceKey, Observation]) -> list[str]:
    return [o.source for o in obs.values()]


async def test_outage_then_recovery() -> None:
    primary, fallback = Scripted("prometheus"), Scripted("scrape")
    source = FallbackSource(primary, fallback)
    assert (await source.observe(SPECS, 1.0))[SPECS[0].key].source == "prometheus"
    primary.fail = True
    assert (await source.observe(SPECS, 2.0))[SPECS[0].key].source == "scrape" and source.degraded
    primary.fail = False
    assert (await source.observe(SPECS, 3.0))[SPECS[0].key].source == "prometheus" and not source.degraded
    assert fallback.calls == 1


async def test_restarted_primary_without_data_keeps_the_fallback_until_it_has_data() -> None:
    primary, fallback = Scripted("prometheus", fail=True), Scripted("scrape", signals=SCRAPED)
    source = FallbackSource(primary, fallback)
    assert sources(await source.observe(SPECS, 1.0)) == ["scrape"]
    primary.fail, primary.signals = False, ("ready_replicas",)  # answers, but has scraped nothing yet
    assert sources(await source.observe(SPECS, 2.0)) == ["scrape"] and source.degraded
    primary.signals = ("queue_depth", "ready_replicas")  # first scrape: gauges, no rates yet
    assert sources(await source.observe(SPECS, 3.0)) == ["scrape"] and source.degraded
    primary.signals = ("request_rate", "latency_p99_ms", "queue_depth")  # ready_replicas is the lister's
    assert sources(await source.observe(SPECS, 4.0)) == ["prometheus"] and not source.degraded
    calls = fallback.calls
    await source.observe(SPECS, 5.0)
    assert fallback.calls == calls  # back on the primary alone: no more scraping


async def test_catch_up_is_per_service() -> None:
    primary, fallback = Scripted("prometheus", fail=True), Scripted("scrape", signals=SCRAPED)
    source = FallbackSource(primary, fallback)
    await source.observe(TWO, 1.0)
    primary.fail, primary.per_service["embed"] = False, ("queue_depth",)  # chat's series are back, embed's not
    primary.signals = SCRAPED
    assert sources(await source.observe(TWO, 2.0)) == ["prometheus", "scrape"] and source.degraded
    del primary.per_service["embed"]
    assert sources(await source.observe(TWO, 3.0)) == ["prometheus", "prometheus"] and not source.degraded


async def test_a_signal_only_the_fallback_sees_keeps_it_on_for_catch_up_seconds_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary = Scripted("prometheus", fail=True, signals=("request_rate",))
    source = FallbackSource(primary, Scripted("scrape", signals=SCRAPED), catch_up_seconds=60.0)
    await source.observe(SPECS, 0.0)
    primary.fail = False
    assert sources(await source.observe(SPECS, 10.0)) == ["scrape"]
    assert sources(await source.observe(SPECS, 69.0)) == ["scrape"]
    with caplog.at_level(logging.WARNING):
        assert sources(await source.observe(SPECS, 70.0)) == ["prometheus"] and not source.degraded
    assert "still lacks ml/chat: latency_p99_ms, queue_depth" in caplog.text


async def test_catch_up_restarts_when_the_primary_fails_again() -> None:
    primary = Scripted("prometheus", fail=True, signals=())
    source = FallbackSource(primary, Scripted("scrape", signals=SCRAPED), catch_up_seconds=60.0)
    await source.observe(SPECS, 0.0)
    primary.fail = False
    await source.observe(SPECS, 10.0)
    primary.fail = True
    await source.observe(SPECS, 50.0)
    primary.fail = False
    assert sources(await source.observe(SPECS, 80.0)) == ["scrape"]  # answering again since 80, not since 10
    assert sources(await source.observe(SPECS, 140.0)) == ["prometheus"]


async def test_without_a_usable_fallback_the_answering_primary_is_taken() -> None:
    primary = Scripted("prometheus", fail=True, signals=())
    source = FallbackSource(primary, None)
    assert sources(await source.observe(SPECS, 1.0)) == ["none"]
    primary.fail = False
    assert sources(await source.observe(SPECS, 2.0)) == ["prometheus"] and not source.degraded
    broken = Scripted("scrape", fail=True)
    source = FallbackSource(Scripted("prometheus", fail=True, signals=()), broken)
    await source.observe(SPECS, 1.0)
    source.primary = Scripted("prometheus", signals=())
    assert sources(await source.observe(SPECS, 2.0)) == ["prometheus"] and not source.degraded


def test_lacking_ignores_the_pod_listers_replica_count() -> None:
    scraped = Observation(at=1.0, source="scrape", request_rate=Sample(1.0, 1.0), ready_replicas=Sample(2.0, 1.0))
    assert lacking(Observation(at=1.0, source="prometheus", request_rate=Sample(3.0, 1.0)), scraped) == ()
    assert lacking(Observation(at=1.0, source="prometheus"), scraped) == ("request_rate",)
    assert lacking(Observation(at=1.0, source="prometheus"), None) == ()


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
