"""The Prometheus source's query plan: a fixed number per preset, whatever the number of services."""

from __future__ import annotations

import threading

import pytest

from governor.metrics.client import Rows
from governor.metrics.presets import VLLM
from governor.metrics.prometheus import PrometheusSource
from governor.metrics.queries import QueryBuilder
from governor.metrics.source import MetricsUnavailable
from governor.model import MetricsPreset
from governor.model.promql import UnsafeQuery
from tests.unit.metrics.helpers import specs


class RecordingClient:
    """Answers the layout query with vLLM-like bounds and every other query with nothing."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.lock = threading.Lock()

    def query(self, expr: str) -> Rows:
        with self.lock:
            self.queries.append(expr)
        if expr.startswith("count by (le)"):
            return [{"metric": {"le": le}, "value": [0, "1"]} for le in ("0.3", "0.5", "1", "+Inf")]
        return []

    def close(self) -> None:
        return None


@pytest.mark.parametrize("preset", list(MetricsPreset))
async def test_queries_per_tick_do_not_grow(preset: MetricsPreset) -> None:
    client = RecordingClient()
    source = PrometheusSource(client)
    try:
        counts = []
        for n in (1, 10, 1000):
            client.queries.clear()
            observed = await source.observe(specs(n, preset), 0.0)
            counts.append(len(client.queries))
            assert all(not o.available and o.request_rate is None for o in observed.values())
    finally:
        await source.aclose()
    assert counts[1] == counts[2] <= counts[0] <= 6  # first tick also reads the layout and detects rules


async def test_slo_buckets_are_the_ones_around_the_threshold() -> None:
    client = RecordingClient()
    source = PrometheusSource(client)
    try:
        await source.observe(specs(3), 0.0)
    finally:
        await source.aclose()
    latency = next(q for q in client.queries if "histogram_quantile" in q)
    assert 'le=~"\\\\+Inf|0\\\\.3|0\\\\.5"' in latency  # 0.4 s lies between 0.3 and 0.5


async def test_connection_failure_makes_the_whole_tick_unavailable() -> None:
    class Down:
        def query(self, expr: str) -> Rows:
            raise MetricsUnavailable("refused")

        def close(self) -> None:
            return None

    source = PrometheusSource(Down())
    try:
        with pytest.raises(MetricsUnavailable):
            await source.observe(specs(2), 0.0)
    finally:
        await source.aclose()


def test_nan_answers_are_missing() -> None:
    from governor.metrics.prometheus import Collected, Job, _collect
    from governor.model import ServiceKey

    key = ServiceKey("ml", "s0")
    rows = [
        {"metric": {"namespace": "ml", "service": "s0", "governor_signal": "latency_p99_ms"}, "value": [5, "NaN"]},
        {"metric": {"namespace": "ml", "service": "s0", "governor_signal": "request_rate"}, "value": [5, "0"]},
        {"metric": {"namespace": "ml", "service": "other", "governor_signal": "request_rate"}, "value": [5, "3"]},
    ]
    collected = Collected()
    _collect(collected, Job("q", frozenset({key})), rows, "service")
    assert set(collected.samples[key]) == {"request_rate"}  # NaN p99 dropped: missing
    assert collected.samples[key]["request_rate"].value == 0.0  # a measured zero stays zero


def test_custom_service_label_is_validated() -> None:
    traffic = QueryBuilder(service_label="app_service").traffic(VLLM) or ""
    assert "by (namespace, app_service)" in traffic and 'app_service!=""' in traffic
    with pytest.raises(UnsafeQuery):
        QueryBuilder(service_label='service"} or vector(1)')
