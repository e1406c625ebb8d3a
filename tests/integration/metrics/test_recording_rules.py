"""Governor's recording rules in a real Prometheus: valid for promtool, and read back as the same observation.

A Prometheus of its own evaluates the generated rules every second over remote-written series
(one point every 10 s from a minute before now to a minute after, so rate windows are full).
The collector with rules off (raw PromQL) and with detection on must observe the same values
(1 % tolerance: the recorded series were evaluated up to a second earlier), and the detecting
collector must actually read the recorded series.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from governor.metrics.client import HttpQueryClient, Rows
from governor.metrics.prometheus import SIGNALS, PrometheusSource
from governor.metrics.queries import QueryBuilder
from governor.metrics.rules import RecordedQueries, prometheus_rule, rules_file
from governor.model import MetricsPreset, MetricsSpec, ServiceSpec, SLOSpec
from governor.settings import PrometheusSettings
from tests.support.processes import require_binary
from tests.support.prometheus import Labels, Points, prometheus, query, remote_write

RATE, ABORTED, HITS, LOOKUPS = 6.0, 0.3, 40.0, 100.0
BOUNDS = ("0.3", "0.5", "0.8", "1", "2.5", "+Inf")
SHARES = (0.2, 0.5, 0.9, 0.95, 0.99, 1.0)  # cumulative share of requests under each bound
SPECS = [
    ServiceSpec(
        namespace="ml",
        name=f"svc-{preset.value}",
        slo=SLOSpec(latency_ms=700),
        metrics=MetricsSpec(preset=preset, gpu_source="agent"),
    )
    for preset in (MetricsPreset.VLLM, MetricsPreset.TRITON, MetricsPreset.GENERIC)
]


def _series(spec: ServiceSpec, stamps: list[int], t0: int) -> list[tuple[Labels, Points]]:
    base = {"namespace": spec.namespace, "service": spec.name, "pod": f"{spec.name}-0"}

    def counter(rate: float) -> Points:
        return [(t, 50 + rate * (t - t0) / 1000) for t in stamps]

    def gauge(value: float) -> Points:
        return [(t, value) for t in stamps]

    if spec.metrics.preset is MetricsPreset.TRITON:
        out = [
            ({"__name__": "nv_inference_request_success", **base}, counter(RATE - ABORTED)),
            ({"__name__": "nv_inference_request_failure", **base}, counter(ABORTED)),
            ({"__name__": "nv_inference_pending_request_count", **base}, gauge(3)),
            ({"__name__": "nv_cache_num_hits_per_model", **base}, counter(HITS)),
            ({"__name__": "nv_cache_num_misses_per_model", **base}, counter(LOOKUPS - HITS)),
        ]
        out += [
            ({"__name__": "nv_inference_request_summary_us", **base, "quantile": q}, gauge(v))
            for q, v in (("0.5", 4e5), ("0.95", 9e5), ("0.99", 1.2e6))
        ]
    else:
        vllm = spec.metrics.preset is MetricsPreset.VLLM
        names = (
            ("vllm:request_success_total", "vllm:e2e_request_latency_seconds_bucket", "vllm:num_requests_waiting")
            if vllm
            else ("inference_requests_total", "inference_request_duration_seconds_bucket", "inference_queue_depth")
        )
        stop = {"finished_reason": "stop"} if vllm else {}  # vLLM counts aborted requests in the same counter
        out = [({"__name__": names[0], **base, **stop}, counter(RATE - ABORTED if vllm else RATE))]
        errors = {"__name__": names[0], **base, "finished_reason": "abort"} if vllm else None
        out.append((errors or {"__name__": "inference_request_errors_total", **base}, counter(ABORTED)))
        out.append(({"__name__": names[2], **base}, gauge(3)))
        out += [
            ({"__name__": names[1], **base, "le": le}, counter(RATE * s)) for le, s in zip(BOUNDS, SHARES, strict=True)
        ]
    gpu = {**base, "gpu": "0", "node": "n"}
    out += [
        ({"__name__": "governor_gpu_utilization_ratio", **gpu}, gauge(0.6)),
        ({"__name__": "governor_gpu_memory_used_bytes", **gpu}, gauge(40e9)),
        ({"__name__": "governor_gpu_memory_total_bytes", **gpu}, gauge(80e9)),
    ]
    return out


@pytest.fixture(scope="module")
def rules_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "governor.yml"
    path.write_text(yaml.safe_dump(rules_file(QueryBuilder(), interval="1s")))
    return path


@pytest.fixture(scope="module")
def rules_prometheus(rules_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prometheus(tmp_path_factory.mktemp("prom-rules"), rule_files=[rules_path]) as url:
        now = int(time.time() * 1000)
        stamps = list(range(now - 60_000, now + 60_001, 10_000))
        remote_write(url, [s for spec in SPECS for s in _series(spec, stamps, stamps[0])])
        markers = RecordedQueries(QueryBuilder()).markers(["vllm", "triton", "generic", "agent"]).values()
        deadline = time.monotonic() + 30
        while not all(query(url, m) for m in markers):
            if time.monotonic() > deadline:
                pytest.fail("Prometheus did not record Governor's series within 30 s")
            time.sleep(0.3)
        time.sleep(1.5)  # one more evaluation: every rule of every group has run since the write
        yield url


@pytest.mark.parametrize("form", ["rules", "prometheusrule"])
def test_promtool_accepts_the_generated_rules(form: str, tmp_path: Path) -> None:
    document = rules_file(QueryBuilder()) if form == "rules" else prometheus_rule(QueryBuilder())["spec"]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(document))
    done = subprocess.run(
        [require_binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in document['groups'])} rules found" in done.stdout


class CountingClient:
    def __init__(self, url: str) -> None:
        self.inner = HttpQueryClient(PrometheusSettings(url=url, timeout_seconds=10))
        self.queries: list[str] = []
        self.lock = threading.Lock()

    def query(self, expr: str) -> Rows:
        with self.lock:
            self.queries.append(expr)
        return self.inner.query(expr)

    def close(self) -> None:
        self.inner.close()


async def test_recorded_series_give_the_raw_observation(rules_prometheus: str) -> None:
    raw_client, rec_client = CountingClient(rules_prometheus), CountingClient(rules_prometheus)
    raw = PrometheusSource(raw_client, recording_rules="off")
    recorded = PrometheusSource(rec_client, recording_rules="auto")
    try:
        raw_obs, rec_obs = await asyncio.gather(raw.observe(SPECS, time.time()), recorded.observe(SPECS, time.time()))
    finally:
        await raw.aclose()
        await recorded.aclose()
    assert not any("namespace_service:governor_" in q for q in raw_client.queries)
    steady = [q for q in rec_client.queries if not q.startswith(("group by", "count by (le)"))]
    assert len(steady) == len(SPECS) + 1 and len(rec_client.queries) <= 10  # one per preset + the GPU one
    assert all(q.startswith('{__name__=~"namespace_service:governor_') for q in steady)
    compared = 0
    for spec in SPECS:
        r, c = raw_obs[spec.key], rec_obs[spec.key]
        assert r.request_rate is not None and r.request_rate.value == pytest.approx(RATE, rel=0.02)
        for signal in sorted(SIGNALS - {"ready_replicas"}):
            raw_sample, rec_sample = getattr(r, signal), getattr(c, signal)
            assert (raw_sample is None) == (rec_sample is None), (spec.name, signal)
            if raw_sample is not None and rec_sample is not None:
                assert rec_sample.value == pytest.approx(raw_sample.value, rel=0.01, abs=1e-9), (spec.name, signal)
                compared += 1
    assert compared >= 3 * 8  # every preset contributed its signals
