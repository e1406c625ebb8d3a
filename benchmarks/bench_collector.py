"""Benchmark: one batched collection tick against a real Prometheus holding 100 / 1,000 / 10,000 services.

Series of the vLLM preset (success counters, the 17-bucket e2e latency histogram, queue and
running gauges, prefix-cache counters) plus the agent's GPU series are remote-written for every
service (3 samples, 20 s apart, ending now). For each size it prints the queries one tick
issues, the tick's wall time (median of 3 steady ticks; the first tick also reads the bucket
layout), the share of services that got a request rate, and the peak RSS of this process and of
Prometheus (a fresh Prometheus per size). At 100 services it also runs a naive baseline (the same
expressions once per service) against the same Prometheus.

Run: .venv/bin/python benchmarks/bench_collector.py  (needs Debian's prometheus; ~1-2 minutes)
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.prometheus import prometheus, remote_write

from governor.demo.servers import VLLM_BUCKETS
from governor.metrics.client import HttpQueryClient
from governor.metrics.prometheus import PrometheusSource
from governor.model import MetricsPreset, MetricsSpec, ServiceSpec, SLOSpec
from governor.settings import PrometheusSettings

SIZES = (100, 1000, 10_000)


def service_series(namespace: str, name: str, now_ms: int) -> list[tuple[dict[str, str], list[tuple[int, float]]]]:
    stamps = [now_ms - 40_000, now_ms - 20_000, now_ms]
    base = {"namespace": namespace, "service": name, "pod": f"{name}-0", "model_name": "m"}

    def counter(rate: float) -> list[tuple[int, float]]:
        return [(t, rate * (t - stamps[0]) / 1000 + 100) for t in stamps]

    def gauge(value: float) -> list[tuple[int, float]]:
        return [(t, value) for t in stamps]

    out = [
        ({"__name__": "vllm:request_success_total", **base, "finished_reason": "stop"}, counter(5.0)),
        ({"__name__": "vllm:request_success_total", **base, "finished_reason": "abort"}, counter(0.1)),
        ({"__name__": "vllm:num_requests_waiting", **base}, gauge(2)),
        ({"__name__": "vllm:num_requests_running", **base}, gauge(8)),
        ({"__name__": "vllm:prefix_cache_hits_total", **base}, counter(300)),
        ({"__name__": "vllm:prefix_cache_queries_total", **base}, counter(500)),
    ]
    for i, le in enumerate((*VLLM_BUCKETS, float("inf"))):
        share = min(1.0, (i + 1) / 6)
        label = "+Inf" if le == float("inf") else f"{le:g}"
        out.append(({"__name__": "vllm:e2e_request_latency_seconds_bucket", **base, "le": label}, counter(5 * share)))
    gpu = {"namespace": namespace, "service": name, "pod": f"{name}-0", "gpu": "0", "node": "n"}
    out += [
        ({"__name__": "governor_gpu_utilization_ratio", **gpu}, gauge(0.6)),
        ({"__name__": "governor_gpu_memory_used_bytes", **gpu}, gauge(40e9)),
        ({"__name__": "governor_gpu_memory_total_bytes", **gpu}, gauge(80e9)),
    ]
    return out


def specs(count: int) -> list[ServiceSpec]:
    metrics = MetricsSpec(preset=MetricsPreset.VLLM, gpu_source="agent")
    return [
        ServiceSpec(namespace=f"ns{i % 50}", name=f"svc-{i}", slo=SLOSpec(latency_ms=700), metrics=metrics)
        for i in range(count)
    ]


def write(url: str, services: list[ServiceSpec]) -> float:
    started = time.monotonic()
    now_ms = int(time.time() * 1000)
    batch: list[tuple[dict[str, str], list[tuple[int, float]]]] = []
    for spec in services:
        batch += service_series(spec.namespace, spec.name, now_ms)
        if len(batch) >= 20_000:
            remote_write(url, batch, batch=5000)
            batch = []
    remote_write(url, batch, batch=5000)
    return time.monotonic() - started


async def tick(source: PrometheusSource, services: list[ServiceSpec]) -> tuple[int, float, int]:
    before = source.queries_issued
    started = time.perf_counter()
    observed = await source.observe(services, time.time())
    elapsed = time.perf_counter() - started
    with_rate = sum(1 for o in observed.values() if o.request_rate is not None)
    return source.queries_issued - before, elapsed, with_rate


async def naive(client: HttpQueryClient, source: PrometheusSource, services: list[ServiceSpec]) -> tuple[int, float]:
    """Baseline: the same expressions once per service, selecting it by namespace and name."""
    from governor.metrics.presets import VLLM

    b = source.builder
    templates = [b.traffic(VLLM), b.latency(VLLM, ("0.5", "0.8", "+Inf")), b.load(VLLM), b.gpu("agent")]
    pool = source._pool
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    exprs = [
        t.replace('service!=""', f'namespace="{s.namespace}",service="{s.name}"')
        for s in services
        for t in templates
        if t
    ]
    await asyncio.gather(*(loop.run_in_executor(pool, client.query, e) for e in exprs))
    return len(exprs), time.perf_counter() - started


def prometheus_peak_rss_mb(url: str) -> float:
    import urllib.request

    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("process_resident_memory_bytes "):
                return float(line.split()[1]) / 2**20
    return float("nan")


async def measure(url: str, size: int) -> tuple[int, float, tuple[int, float] | None]:
    """Write ``size`` services into a fresh Prometheus, then time steady collection ticks."""
    services = specs(size)
    write_s = write(url, services)
    client = HttpQueryClient(PrometheusSettings(url=url, timeout_seconds=120))
    source = PrometheusSource(client, window="1m")
    try:
        first_q, _, _ = await tick(source, services)
        runs = [await tick(source, services) for _ in range(2)]
        queries, wall = runs[-1][0], statistics.median(r[1] for r in runs)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{size:>9} {write_s:>8.1f} {first_q:>10} {queries:>8} {wall:>7.3f} "
              f"{runs[-1][2] / size:>9.0%} {rss:>7.0f} {prometheus_peak_rss_mb(url):>11.0f}", flush=True)  # fmt: skip
        baseline = await naive(client, source, services) if size == 100 else None
    finally:
        await source.aclose()
    return queries, wall, baseline


def main() -> None:
    print(f"{'services':>9} {'write s':>8} {'1st tick q':>10} {'queries':>8} {'tick s':>7} {'with rate':>9} "
          f"{'RSS MB':>7} {'prom RSS MB':>11}")  # fmt: skip
    for size in SIZES:  # a fresh Prometheus per size: each holds exactly that many services
        with tempfile.TemporaryDirectory() as tmp, prometheus(Path(tmp)) as url:
            queries, wall, baseline = asyncio.run(measure(url, size))
        if baseline:
            naive_q, naive_wall = baseline
            print(f"  naive baseline at {size}: {naive_q} queries in {naive_wall:.3f} s; batched {queries} in "
                  f"{wall:.3f} s: {naive_q / queries:.0f}x fewer queries, {naive_wall / wall:.1f}x faster")  # fmt: skip


if __name__ == "__main__":
    main()
