"""Benchmark: one batched collection tick against a real Prometheus holding 100 / 1,000 / 10,000 services.

Series of the vLLM preset (success counters, the 17-bucket e2e latency histogram, queue and
running gauges, prefix-cache counters) plus the agent's GPU series are remote-written for every
service, one point every 20 s from 40 s before the phase starts to 120 s after it, so every
tick's 1 m window holds the same number of points however slow the ticks are and no writer
competes for the CPU while ticks are timed. Per size, on a fresh Prometheus:

1. raw path (recording rules off): queries of the first tick and of a steady tick, wall time;
   at 100 services also the naive baseline (the same expressions once per service);
   and the client-side alternative's floor: fetching every per-service bucket rate once;
2. Governor's recording rules are loaded (``rule_files`` + reload), the series are extended,
   and once every service has recorded series the recorded path is timed the same way, with
   the rule evaluation time Prometheus reports (``prometheus_rule_group_last_duration_seconds``
   of Governor's groups, evaluated every 15 s, or every ``--interval``) — the cost moved into Prometheus.

"tick s" is the median of the steady ticks (seven on the recorded path, whose slowest is printed
too: Prometheus' rule evaluation competes for the same cores). "with data" is the share of
services whose request rate and p99 were observed; RSS is this process' peak; prom RSS is
Prometheus' resident memory after the phase.

Run: .venv/bin/python benchmarks/bench_collector.py [--interval 15s] [SIZES...]  (needs Debian's prometheus; ~4 min)
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.prometheus import prometheus, query, reload, remote_write, write_config

from governor.metrics.client import HttpQueryClient
from governor.metrics.presets import VLLM
from governor.metrics.prometheus import PrometheusSource
from governor.metrics.queries import QueryBuilder
from governor.metrics.rules import RecordedQueries, rules_file
from governor.model import MetricsPreset, MetricsSpec, ServiceSpec, SLOSpec
from governor.settings import PrometheusSettings
from governor.testing.servers import VLLM_BUCKETS

SIZES = (100, 1000, 10_000)
STEP_MS, BEFORE_MS, AHEAD_MS = 20_000, 40_000, 120_000
Series = list[tuple[dict[str, str], list[tuple[int, float]]]]


def service_series(namespace: str, name: str, stamps: list[int], t0: int) -> Series:
    base = {"namespace": namespace, "service": name, "pod": f"{name}-0", "model_name": "m"}

    def counter(rate: float) -> list[tuple[int, float]]:
        return [(t, rate * (t - t0) / 1000 + 100) for t in stamps]

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


@dataclass
class Writer:
    """Extends every series up to AHEAD_MS past now, continuing from the last point written."""

    url: str
    services: list[ServiceSpec]
    t0: int = 0
    next_ms: int = 0

    def extend(self) -> float:
        started, now_ms = time.monotonic(), int(time.time() * 1000)
        if not self.t0:
            self.t0 = self.next_ms = now_ms - BEFORE_MS
        stamps = list(range(self.next_ms, now_ms + AHEAD_MS + 1, STEP_MS))
        if not stamps:
            return 0.0
        self.next_ms = stamps[-1] + STEP_MS
        batch: Series = []
        for spec in self.services:
            batch += service_series(spec.namespace, spec.name, stamps, self.t0)
            if len(batch) >= 20_000:
                remote_write(self.url, batch, batch=5000)
                batch = []
        remote_write(self.url, batch, batch=5000)
        return time.monotonic() - started


@dataclass(frozen=True)
class Ticks:
    first_q: int
    first_s: float
    queries: int
    wall: float  # median of the steady ticks
    worst: float  # slowest steady tick (rule evaluation competes for the same cores)
    with_data: float


async def tick(source: PrometheusSource, services: list[ServiceSpec]) -> tuple[int, float, float]:
    before = source.queries_issued
    started = time.perf_counter()
    observed = await source.observe(services, time.time())
    elapsed = time.perf_counter() - started
    ok = sum(1 for o in observed.values() if o.request_rate is not None and o.latency_p99_ms is not None)
    return source.queries_issued - before, elapsed, ok / len(services)


async def ticks(source: PrometheusSource, services: list[ServiceSpec], steady: int) -> Ticks:
    first = await tick(source, services)
    runs = [await tick(source, services) for _ in range(steady)]
    walls = [r[1] for r in runs]
    return Ticks(first[0], first[1], runs[-1][0], statistics.median(walls), max(walls), runs[-1][2])


async def naive(source: PrometheusSource, services: list[ServiceSpec]) -> tuple[int, float]:
    """Baseline: the raw expressions once per service, selecting it by namespace and name."""
    b = source.builder
    templates = [b.traffic(VLLM), b.latency(VLLM, ("0.5", "0.8", "+Inf")), b.load(VLLM), b.gpu("agent")]
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    exprs = [
        t.replace('service!=""', f'namespace="{s.namespace}",service="{s.name}"')
        for s in services
        for t in templates
        if t
    ]
    await asyncio.gather(*(loop.run_in_executor(source._pool, source.client.query, e) for e in exprs))
    return len(exprs), time.perf_counter() - started


def fetch_bucket_rates(client: HttpQueryClient) -> tuple[int, float]:
    """Floor of the client-side alternative: one query returning every per-service bucket rate."""
    started = time.perf_counter()
    rows = client.query(QueryBuilder().bucket_rates(VLLM))
    return len(rows), time.perf_counter() - started


def scalar(url: str, expr: str) -> float:
    rows = query(url, expr)
    return float(rows[0]["value"][1]) if rows else float("nan")


def own_metric(url: str, prefix: str) -> dict[str, float]:
    """Prometheus' own ``/metrics`` lines starting with ``prefix`` (it does not scrape itself here)."""
    with urllib.request.urlopen(url + "/metrics", timeout=30) as resp:
        lines = resp.read().decode().splitlines()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix)}


def governor_rule_seconds(url: str) -> float | None:
    """Sum of ``prometheus_rule_group_last_duration_seconds`` over Governor's groups, once all ran."""
    found = own_metric(url, "prometheus_rule_group_last_duration_seconds{")
    ours = {k: v for k, v in found.items() if "governor-" in k}
    if not ours or any(v == 0 for v in ours.values()):
        return None
    return sum(ours.values())


async def wait_recorded(url: str, size: int, limit_s: float = 180) -> float:
    marker = RecordedQueries(QueryBuilder()).name("vllm", "latency_p99_ms")
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if scalar(url, f"count({marker})") >= size and governor_rule_seconds(url) is not None:
            return time.monotonic() - started
        await asyncio.sleep(1)
    raise RuntimeError(f"recorded series for {size} services did not appear within {limit_s} s")


def row(path: str, size: int, t: Ticks, url: str, extra: str = "") -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    prom = own_metric(url, "process_resident_memory_bytes")["process_resident_memory_bytes"] / 2**20
    print(f"{size:>9} {path:>9} {t.first_q:>7} {t.first_s:>7.3f} {t.queries:>7} {t.wall:>7.3f} {t.with_data:>9.0%} "
          f"{rss:>7.0f} {prom:>8.0f}  {extra}", flush=True)  # fmt: skip


async def measure(url: str, workdir: Path, size: int, interval: str) -> None:
    services = specs(size)
    writer = Writer(url, services)
    write_s = writer.extend()
    client = HttpQueryClient(PrometheusSettings(url=url, timeout_seconds=300))
    raw = PrometheusSource(client, window="1m", recording_rules="off")
    try:
        raw_t = await ticks(raw, services, steady=1 if size >= 10_000 else 2)
        rows, fetch_s = fetch_bucket_rates(client)
        row("raw", size, raw_t, url, f"write {write_s:.1f} s; fetching all {rows} bucket rates: {fetch_s:.3f} s")
        naive_s = None
        if size <= 100:
            naive_q, naive_s = await naive(raw, services)
            print(f"{'':>9} {'naive':>9} {'':>7} {'':>7} {naive_q:>7} {naive_s:>7.3f}", flush=True)
    finally:
        await raw.aclose()
    rules_path = workdir / "governor-rules.yml"
    rules_path.write_text(yaml.safe_dump(rules_file(QueryBuilder(), interval)))
    write_config(workdir, rule_files=[rules_path])
    reload(url)
    writer.extend()
    waited = await wait_recorded(url, size)
    rec = PrometheusSource(client, window="1m", recording_rules="auto")
    try:
        rec_t = await ticks(rec, services, steady=7)
    finally:
        await rec.aclose()
    rule_s = governor_rule_seconds(url) or float("nan")
    extra = f"slowest {rec_t.worst:.3f} s; rules: {rule_s:.3f} s per {interval} evaluation; series after {waited:.0f} s"
    row("recorded", size, rec_t, url, extra)
    vs_naive = f", {naive_s / rec_t.wall:.0f}x faster than naive" if naive_s else ""
    print(f"{'':>9} {'ratio':>9}  recorded tick {raw_t.wall / rec_t.wall:.1f}x faster than raw{vs_naive}", flush=True)


def main() -> None:
    args = sys.argv[1:]
    interval = args.pop(args.index("--interval") + 1) if "--interval" in args else "15s"
    args = [a for a in args if a != "--interval"]
    sizes = tuple(int(a) for a in args) or SIZES
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    print(f"{'services':>9} {'path':>9} {'1st q':>7} {'1st s':>7} {'queries':>7} {'tick s':>7} {'with data':>9} "
          f"{'RSS MB':>7} {'prom MB':>8}")  # fmt: skip
    for size in sizes:  # a fresh Prometheus per size: each holds exactly that many services
        with tempfile.TemporaryDirectory() as tmp, prometheus(Path(tmp)) as url:
            asyncio.run(measure(url, Path(tmp), size, interval))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
