"""Recording rules: generated from the presets, named by convention, detected once and read by the tick."""

from __future__ import annotations

import argparse
import re
import threading
from pathlib import Path

import pytest
import yaml

from governor.metrics import rules
from governor.metrics.client import Rows
from governor.metrics.presets import PRESETS
from governor.metrics.prometheus import PrometheusSource
from governor.metrics.queries import DEFAULT_DCGM_SELECTOR, DEFAULT_POD_LABELS_SELECTOR, QueryBuilder
from governor.metrics.rules import GPU_SOURCES, RecordedQueries, rules_file
from governor.metrics.rules_entry import render
from governor.model import MetricsPreset
from tests.unit.metrics.helpers import specs

MANIFEST = Path(__file__).resolve().parents[3] / "manifests" / "prometheus-operator" / "prometheus-rules.yaml"
NAME = re.compile(r"^namespace_[a-z_]+:governor_[a-z]+_[a-z0-9_]+:[a-z0-9_]+$")  # level:metric:operations


class DetectingClient:
    """Answers the detection query with the markers it is told exist; everything else with nothing."""

    def __init__(self, present: set[str]) -> None:
        self.present = present
        self.queries: list[str] = []
        self.lock = threading.Lock()

    def query(self, expr: str) -> Rows:
        with self.lock:
            self.queries.append(expr)
        if expr.startswith("group by (__name__)"):
            return [{"metric": {"__name__": n}, "value": [0, "1"]} for n in sorted(self.present) if n in expr]
        if expr.startswith("count by (le)"):
            return [{"metric": {"le": le}, "value": [0, "1"]} for le in ("0.3", "0.5", "1", "+Inf")]
        return []

    def close(self) -> None:
        return None


def all_rules(builder: QueryBuilder) -> dict[str, str]:
    return {r["record"]: r["expr"] for g in rules_file(builder)["groups"] for r in g["rules"]}


@pytest.mark.parametrize("builder", [QueryBuilder(), QueryBuilder(service_label="app", window="30s")])
def test_every_series_the_tick_reads_is_recorded_once(builder: QueryBuilder) -> None:
    recorded = RecordedQueries(builder)
    rules = all_rules(builder)
    groups = rules_file(builder)["groups"]
    assert sum(len(g["rules"]) for g in groups) == len(rules)  # no name recorded twice
    assert all(NAME.fullmatch(name) for name in rules), [n for n in rules if not NAME.fullmatch(n)]
    assert all(f"namespace_{builder.service_label}:" in name for name in rules)
    window = builder.window
    queries = [recorded.gpu(s) or "" for s in GPU_SOURCES]
    for preset in PRESETS.values():
        queries += [recorded.traffic(preset) or "", recorded.latency(preset, ("0.5", "+Inf")) or ""]
        queries += [recorded.load(preset) or ""]
    selected = {n for q in queries for n in re.findall(r"namespace_\w+:governor_\w+:\w+", q)}
    assert selected and selected <= set(rules)
    assert all(f"rate({window}" not in q and "histogram_quantile" not in q for q in queries)  # selects only


def test_quantile_rules_reuse_the_recorded_bucket_rates() -> None:
    rules = all_rules(QueryBuilder())
    bucket = "namespace_service:governor_vllm_latency_bucket:rate1m"
    assert "rate(vllm:e2e_request_latency_seconds_bucket" in rules[bucket]
    p99 = rules["namespace_service:governor_vllm_latency_p99_ms:rate1m"]
    assert p99 == f"histogram_quantile(0.99, {bucket}) * 1000"
    assert "namespace_service:governor_triton_latency_p99_ms:max" in rules  # a summary is no rate


def test_committed_manifest_matches_the_generator() -> None:
    args = argparse.Namespace(
        format="prometheusrule",
        window="1m",
        service_label="service",
        interval="15s",
        name="governor-recording-rules",
        namespace="governor-system",
        label=[],
        dcgm_selector=DEFAULT_DCGM_SELECTOR,
        pod_labels_selector=DEFAULT_POD_LABELS_SELECTOR,
    )
    assert MANIFEST.read_text() == render(args)
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert manifest["kind"] == "PrometheusRule" and manifest["apiVersion"] == "monitoring.coreos.com/v1"


async def _tick(source: PrometheusSource, n: int = 3) -> None:
    await source.observe(specs(n), 0.0)


async def test_auto_reads_recorded_series_once_detected() -> None:
    recorded = RecordedQueries(QueryBuilder())
    client = DetectingClient(set(recorded.markers(["vllm", "agent"]).values()))
    source = PrometheusSource(client)
    try:
        await _tick(source)
        first = list(client.queries)
        client.queries.clear()
        await _tick(source)
    finally:
        await source.aclose()
    assert sum(q.startswith("group by (__name__)") for q in first) == 1
    # One plain selector per preset and per GPU source; layout and detection only on the first tick.
    assert len(first) <= 10 and len(client.queries) == 2
    assert all(q.startswith('{__name__=~"namespace_service:governor_') for q in client.queries)
    assert not any("histogram_quantile" in q or "rate(" in q for q in client.queries)
    (vllm,) = [q for q in client.queries if "vllm" in q]
    assert "governor_vllm_latency_p99_ms" in vllm and r'le=~"|\\+Inf|0\\.3|0\\.5"' in vllm


async def test_auto_without_rules_uses_raw_queries_per_group() -> None:
    recorded = RecordedQueries(QueryBuilder())
    client = DetectingClient({recorded.markers(["agent"])["agent"]})  # only the GPU rules are loaded
    source = PrometheusSource(client)
    try:
        await _tick(source)
        client.queries.clear()
        await _tick(source)
    finally:
        await source.aclose()
    latency = next(q for q in client.queries if "latency" in q)
    assert "histogram_quantile" in latency
    gpu = next(q for q in client.queries if "gpu_utilization_mean" in q)
    assert "namespace_service:governor_agent_gpu_utilization_mean:avg" in gpu


@pytest.mark.parametrize(("mode", "recorded_expected"), [("on", True), ("off", False)])
async def test_forced_modes_skip_detection(mode: str, recorded_expected: bool) -> None:
    client = DetectingClient(set())
    source = PrometheusSource(client, recording_rules=mode)
    try:
        await _tick(source)
    finally:
        await source.aclose()
    assert not any(q.startswith("group by (__name__)") for q in client.queries)
    assert any("namespace_service:governor_vllm" in q for q in client.queries) is recorded_expected


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="auto, on or off"):
        PrometheusSource(DetectingClient(set()), recording_rules="sometimes")


@pytest.mark.parametrize("services", [1, 100, 3_000, 10_000, 1_000_000])
def test_large_fleets_split_the_selector_into_a_bounded_number(services: int) -> None:
    recorded = RecordedQueries(QueryBuilder())
    vllm = PRESETS[MetricsPreset.VLLM]
    slo_le = ("0.5", "0.8", "+Inf")
    whole = recorded.preset_query(vllm, slo_le)
    parts = recorded.preset_query(vllm, slo_le, services)
    assert len(whole) == 1
    single_names = whole[0][1]
    merged = [name for _, names in parts for name in names]
    assert sorted(merged) == sorted(single_names)  # every recorded name read exactly once
    assert all(single_names[k] == v for _, n in parts for k, v in n.items())  # same name → signal
    weights = [sum(len(slo_le) if s == "slo_bucket" else 1 for s in names.values()) for _, names in parts]
    expected = min(rules.MAX_SPLIT, -(-services * sum(weights) // rules.ROWS_PER_QUERY))
    assert len(parts) == max(1, expected)
    assert max(weights) - min(weights) <= len(slo_le)  # balanced: rows per answer differ by < one bucket name
    for expr, names in parts:
        assert set(re.findall(r"namespace_\w+:governor_\w+:\w+", expr)) == set(names)
        assert r'le=~"|0\\.5|0\\.8|\\+Inf"' in expr
