"""The Prometheus source against a real Prometheus scraping simulated pods of every preset.

Ground truth: each service has 2 pods at 4 req/s (8 req/s), 2 % errors, cache hit ratio 0.6,
queue 3 and running 8 per pod, and a latency distribution whose segments align with the bucket
bounds, so p99 = 1.25 s and the share under the 0.9 s SLO threshold = 0.94 exactly.
Tolerances: rates 5 % (scrape timing jitter), quantiles and shares 2 %.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import pytest

from governor.metrics.client import HttpQueryClient
from governor.metrics.prometheus import PrometheusSource
from governor.model import MetricsPreset, Observation, ServiceKey
from governor.settings import PrometheusSettings
from tests.integration.metrics.conftest import LOAD, PODS_PER_SERVICE, PRESETS, SLO_MS, Fleet, spec_for

WINDOW_S = 5
RATE = LOAD.rps * PODS_PER_SERVICE
P99_MS = LOAD.latency.quantile(0.99) * 1000
SLO_SHARE = LOAD.latency.cdf(SLO_MS / 1000)


def source(url: str, **kwargs: object) -> PrometheusSource:
    client = HttpQueryClient(PrometheusSettings(url=url, timeout_seconds=10))
    return PrometheusSource(client, window=f"{WINDOW_S}s", **kwargs)  # type: ignore[arg-type]


async def wait_for_rates(src: PrometheusSource, fleet: Fleet, limit_s: float = 45) -> Mapping[ServiceKey, Observation]:
    """Observe once the rate window is full of scraped data (the first scrape lands ~5.5 s in)."""
    global _window_full_at
    if _window_full_at is None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            obs = await src.observe(fleet.specs, time.time())
            if all(o.request_rate is not None for o in obs.values()):
                break
            await asyncio.sleep(0.5)
        _window_full_at = time.monotonic() + WINDOW_S + 1.5
    await asyncio.sleep(max(0.0, _window_full_at - time.monotonic()))
    return await src.observe(fleet.specs, time.time())


_window_full_at: float | None = None


async def test_signals_match_ground_truth(fleet: Fleet, prometheus_url: str) -> None:
    src = source(prometheus_url, pod_lister=fleet.pods)
    try:
        obs = await wait_for_rates(src, fleet)
    finally:
        await src.aclose()
    for spec in fleet.specs:
        o = obs[spec.key]
        assert o.source == "prometheus"
        assert o.request_rate is not None and o.request_rate.value == pytest.approx(RATE, rel=0.05), spec.name
        assert o.error_rate is not None and o.error_rate.value == pytest.approx(RATE * LOAD.error_ratio, rel=0.05)
        assert o.latency_p99_ms is not None and o.latency_p99_ms.value == pytest.approx(P99_MS, rel=0.02), spec.name
        assert o.queue_depth is not None and o.queue_depth.value == pytest.approx(LOAD.queue * PODS_PER_SERVICE)
        assert o.ready_replicas is not None and o.ready_replicas.value == PODS_PER_SERVICE
        assert o.gpu_utilization_mean is None  # gpu_source "none": missing, not zero
    for preset in (MetricsPreset.VLLM, MetricsPreset.TGI, MetricsPreset.GENERIC):
        o = obs[spec_for(preset).key]
        assert o.slo_attainment is not None and o.slo_attainment.value == pytest.approx(SLO_SHARE, rel=0.02)
        assert o.running_requests is not None and o.running_requests.value == LOAD.running * PODS_PER_SERVICE
    for preset in (MetricsPreset.VLLM, MetricsPreset.TRITON, MetricsPreset.GENERIC):
        o = obs[spec_for(preset).key]
        assert o.cache_hit_ratio is not None
        assert o.cache_hit_ratio.value == pytest.approx(LOAD.cache_hit_ratio, rel=0.02)
    tgi, triton = obs[spec_for(MetricsPreset.TGI).key], obs[spec_for(MetricsPreset.TRITON).key]
    assert tgi.cache_hit_ratio is None and triton.running_requests is None and triton.slo_attainment is None


async def test_query_count_does_not_grow_with_services(fleet: Fleet, prometheus_url: str) -> None:
    src = source(prometheus_url)
    try:
        await src.observe(fleet.specs, time.time())  # fills the bucket-layout cache
        before = src.queries_issued
        await src.observe(fleet.specs, time.time())
        few = src.queries_issued - before
        many = fleet.specs + [spec_for(p, name=f"idle-{p.value}-{i}") for p in PRESETS for i in range(50)]
        before = src.queries_issued
        obs = await src.observe(many, time.time())
        assert src.queries_issued - before == few
    finally:
        await src.aclose()
    assert few <= 3 * len(fleet.specs)
    idle = obs[spec_for(MetricsPreset.VLLM, name="idle-vllm-3").key]
    assert not idle.available and idle.request_rate is None  # no series: missing, never 0


@pytest.mark.parametrize(
    "value",
    ['m"} or vector(1) #', 'm\\"} or vector(1)', "m'\n} or vector(1)", "m` or vector(1)", "m\\"],
)
async def test_override_values_cannot_inject(fleet: Fleet, prometheus_url: str, value: str) -> None:
    template = 'sum(rate(vllm:request_success_total{namespace="{{namespace}}",model_name="{{model}}"}[{{window}}]))'
    spec = spec_for(
        MetricsPreset.VLLM, overrides={"queue_depth": "vector(7)", "request_rate": template}, model_label=value
    )
    src = source(prometheus_url)
    try:
        obs = (await src.observe([spec], time.time()))[spec.key]
    finally:
        await src.aclose()
    assert obs.queue_depth is not None and obs.queue_depth.value == 7  # overrides do run
    # The hostile model name is one literal label value that matches nothing: no series, no vector(1).
    assert obs.request_rate is None


async def test_override_with_real_model_name(fleet: Fleet, prometheus_url: str) -> None:
    template = 'sum(rate(vllm:request_success_total{namespace="{{namespace}}",model_name="{{model}}"}[{{window}}]))'
    spec = spec_for(MetricsPreset.VLLM, overrides={"request_rate": template}, model_label="m")
    src = source(prometheus_url)
    try:
        await wait_for_rates(src, fleet)
        obs = (await src.observe([spec], time.time()))[spec.key]
    finally:
        await src.aclose()
    # All four presets' pods carry model_name="m" only for vLLM: 2 pods at 4 req/s.
    assert obs.request_rate is not None and obs.request_rate.value == pytest.approx(RATE, rel=0.05)
