"""Direct pod scrape against the simulated pods, and the fallback when Prometheus stops.

The outage test runs its OWN Prometheus (stopping the session one would break other tests).
Tolerances: rates 5 %, quantiles and shares 2 % (the scrape source's arithmetic is exact on
these bucket-aligned distributions; only the timing of the two scrapes adds jitter).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from governor.metrics.client import HttpQueryClient
from governor.metrics.fallback import FallbackSource
from governor.metrics.prometheus import SIGNALS, PrometheusSource
from governor.metrics.scrape import ScrapeSource
from governor.model import MetricsPreset
from governor.settings import PrometheusSettings
from tests.integration.metrics.conftest import LOAD, PODS_PER_SERVICE, SLO_MS, Fleet, StaticPods, spec_for
from tests.support.processes import free_port
from tests.support.prometheus import prometheus

RATE = LOAD.rps * PODS_PER_SERVICE


async def test_scrape_source_matches_ground_truth(fleet: Fleet) -> None:
    src = ScrapeSource(fleet.pods, timeout_seconds=5)
    try:
        first = await src.observe(fleet.specs, time.time())
        await asyncio.sleep(1.5)
        second = await src.observe(fleet.specs, time.time())
    finally:
        await src.aclose()
    for spec in fleet.specs:
        gauges_only, o = first[spec.key], second[spec.key]
        assert gauges_only.request_rate is None and gauges_only.queue_depth is not None  # one scrape: no rate yet
        assert o.source == "scrape"
        assert o.request_rate is not None and o.request_rate.value == pytest.approx(RATE, rel=0.05)
        assert o.error_rate is not None and o.error_rate.value == pytest.approx(RATE * LOAD.error_ratio, rel=0.05)
        assert o.latency_p99_ms is not None
        assert o.latency_p99_ms.value == pytest.approx(LOAD.latency.quantile(0.99) * 1000, rel=0.02)
        assert o.ready_replicas is not None and o.ready_replicas.value == PODS_PER_SERVICE
    vllm = second[spec_for(MetricsPreset.VLLM).key]
    assert vllm.slo_attainment is not None
    assert vllm.slo_attainment.value == pytest.approx(LOAD.latency.cdf(SLO_MS / 1000), rel=0.02)
    assert vllm.cache_hit_ratio is not None and vllm.cache_hit_ratio.value == pytest.approx(0.6, rel=0.02)


async def test_scrape_takes_no_rate_over_a_gap_longer_than_the_staleness_bound(fleet: Fleet) -> None:
    src = ScrapeSource(fleet.pods, timeout_seconds=5, max_age_seconds=0.5)
    try:
        await src.observe(fleet.specs, time.time())
        await asyncio.sleep(1.0)
        late = await src.observe(fleet.specs, time.time())
    finally:
        await src.aclose()
    for spec in fleet.specs:
        obs = late[spec.key]
        assert obs.queue_depth is not None, "the gauges of this scrape still count"
        assert obs.request_rate is None and obs.error_rate is None, "a rate over a stale gap is missing"


async def test_scrape_of_dead_pods_is_unavailable_not_zero(fleet: Fleet) -> None:
    spec = spec_for(MetricsPreset.VLLM)
    src = ScrapeSource(StaticPods({spec.key: ["127.0.0.1:1"]}), timeout_seconds=2)
    try:
        obs = (await src.observe([spec], time.time()))[spec.key]
    finally:
        await src.aclose()
    assert obs.source == "none" and not obs.available
    assert obs.queue_depth is None and obs.request_rate is None
    assert obs.ready_replicas is not None and obs.ready_replicas.value == 1  # the pod is ready, just unreadable


async def test_prometheus_outage_falls_back_within_one_tick(fleet: Fleet, tmp_path: Path) -> None:
    specs = fleet.specs[:1]
    with prometheus(tmp_path / "outage", fleet.targets) as url:
        primary = PrometheusSource(HttpQueryClient(PrometheusSettings(url=url, timeout_seconds=3)), window="5s")
        source = FallbackSource(primary, ScrapeSource(fleet.pods))
        deadline = time.monotonic() + 45
        while True:
            before = (await source.observe(specs, time.time()))[specs[0].key]
            if before.request_rate is not None or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert before.source == "prometheus" and before.request_rate is not None
    # Prometheus is stopped now: the very next tick answers from the pods.
    try:
        during = (await source.observe(specs, time.time()))[specs[0].key]
        assert source.degraded and during.source == "scrape"
        assert during.queue_depth is not None and during.queue_depth.value == LOAD.queue * PODS_PER_SERVICE
        assert during.request_rate is None  # first scrape: no rate yet, and no fake zero
        await asyncio.sleep(1.0)
        later = (await source.observe(specs, time.time()))[specs[0].key]
        assert later.request_rate is not None and later.request_rate.value == pytest.approx(RATE, rel=0.05)
    finally:
        await source.aclose()


# What the scrape source measures for the vLLM preset once it has two scrapes; a tick that lacks
# any of these while the scrape could have answered is a gap in the metrics.
SCRAPED = ("request_rate", "error_rate", "latency_p99_ms", "slo_attainment", "queue_depth", "cache_hit_ratio")


async def test_switch_back_waits_until_restarted_prometheus_has_data(fleet: Fleet, tmp_path: Path) -> None:
    """Stop Prometheus, restart it empty on the same address: no tick in between lacks metrics."""
    specs = [spec_for(MetricsPreset.VLLM)]
    key, port = specs[0].key, free_port()
    with prometheus(tmp_path / "first", fleet.targets, port=port) as url:
        primary = PrometheusSource(HttpQueryClient(PrometheusSettings(url=url, timeout_seconds=3)), window="5s")
        source = FallbackSource(primary, ScrapeSource(fleet.pods))
        deadline = time.monotonic() + 45
        while (obs := (await source.observe(specs, time.time()))[key]).request_rate is None:
            assert time.monotonic() < deadline, "Prometheus never had a request rate"
            await asyncio.sleep(0.5)
        assert obs.source == "prometheus"
    try:
        await source.observe(specs, time.time())  # the scrape's first tick: gauges only
        assert source.degraded
        await asyncio.sleep(1.0)
        warm = (await source.observe(specs, time.time()))[key]
        assert warm.source == "scrape" and all(getattr(warm, s) is not None for s in SCRAPED)
        # A fresh Prometheus (empty TSDB) at the same address: it answers at once, but its first
        # scrape lands ~5.5 s after start and rates need a second one.
        ticks: list[tuple[float, str, tuple[str, ...]]] = []  # (seconds since restart, source, lacking)
        with prometheus(tmp_path / "second", fleet.targets, port=port):
            restarted = time.monotonic()
            while time.monotonic() - restarted < 30:
                obs = (await source.observe(specs, time.time()))[key]
                lacking = tuple(s for s in SCRAPED if getattr(obs, s) is None)
                ticks.append((time.monotonic() - restarted, obs.source, lacking))
                if len(ticks) >= 3 and all(t[1] == "prometheus" and not t[2] for t in ticks[-3:]):
                    break
                await asyncio.sleep(0.5)
        gaps = [t for t in ticks if t[2]]
        assert not gaps, f"ticks without metrics after the restart: {gaps}"
        switched = next((t[0] for t in ticks if t[1] == "prometheus"), None)
        assert switched is not None and not source.degraded, f"never switched back: {ticks}"
        assert all(t[1] == "prometheus" for t in ticks if t[0] >= switched)  # and stayed there
        assert switched >= 5.0  # not before Prometheus' first scrape (~5.5 s after start)
    finally:
        await source.aclose()


async def test_outage_without_fallback_marks_unavailable(fleet: Fleet) -> None:
    primary = PrometheusSource(HttpQueryClient(PrometheusSettings(url="http://127.0.0.1:1", timeout_seconds=2)))
    source = FallbackSource(primary, None)
    try:
        obs = await source.observe(fleet.specs, time.time())
    finally:
        await source.aclose()
    for o in obs.values():
        assert o.source == "none" and not o.available
        assert set(o.missing()) == SIGNALS  # every signal missing, none reported as zero
