"""The primary metrics source: a handful of batched PromQL queries per tick for every service.

Per preset in use it sends the traffic, latency and load queries (plus one GPU query per GPU
source, and a cached bucket-layout query every few minutes); services with per-service
overrides add their own queries. Queries run in a thread pool and concurrently, and the
answers are sorted into observations in that pool too (one dict pass over the rows, with the
garbage collector paused), so a 10,000-service tick never holds the event loop. When
Prometheus cannot be reached the whole tick raises ``MetricsUnavailable`` so the fallback
answers instead; a rejected query only leaves its signals missing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields

from governor.metrics.client import QueryClient, QueryRejected, Rows, paused_gc
from governor.metrics.histogram import share_within
from governor.metrics.presets import Preset, preset_for
from governor.metrics.queries import (
    DEFAULT_DCGM_SELECTOR,
    DEFAULT_POD_LABELS_SELECTOR,
    SIGNAL_LABEL,
    SLO_BUCKET,
    QueryBuilder,
)
from governor.metrics.rules import GPU_SOURCES, RecordedQueries
from governor.metrics.source import MetricsUnavailable, PodLister, ready_replicas
from governor.model import Observation, Sample, ServiceKey, ServiceSpec
from governor.model.promql import UnsafeQuery, render

log = logging.getLogger(__name__)
SIGNALS = frozenset(f.name for f in fields(Observation)) - {"at", "source"}


@dataclass(frozen=True)
class Job:
    expr: str
    keys: frozenset[ServiceKey]  # services allowed to take rows from this answer
    signal: str | None = None  # overrides: the signal the single answer is
    names: Mapping[str, str] = field(default_factory=dict)  # recorded series name → its signal


@dataclass
class Collected:
    samples: dict[ServiceKey, dict[str, Sample]] = field(default_factory=lambda: defaultdict(dict))
    buckets: dict[ServiceKey, list[tuple[float, float, float]]] = field(default_factory=lambda: defaultdict(list))
    overrides: dict[ServiceKey, dict[str, Sample]] = field(default_factory=lambda: defaultdict(dict))


class PrometheusSource:
    def __init__(
        self,
        client: QueryClient,
        *,
        service_label: str = "service",
        window: str = "1m",
        pod_lister: PodLister | None = None,
        layout_ttl_seconds: float = 300.0,
        max_workers: int = 4,
        recording_rules: str = "auto",
        dcgm_selector: str = DEFAULT_DCGM_SELECTOR,
        pod_labels_selector: str = DEFAULT_POD_LABELS_SELECTOR,
    ) -> None:
        if recording_rules not in ("auto", "on", "off"):
            raise ValueError(f"recording_rules must be auto, on or off, not {recording_rules!r}")
        self.client = client
        self.builder = QueryBuilder(service_label, window, dcgm_selector, pod_labels_selector)
        self.recorded = RecordedQueries(self.builder)
        self.recording_rules = recording_rules
        self._detected: dict[str, tuple[float, bool]] = {}  # rule group → (valid until, rules loaded)
        self.pod_lister = pod_lister
        self.layout_ttl = layout_ttl_seconds
        self.queries_issued = 0  # cumulative, for the operator's own metrics and benchmarks
        self._layouts: dict[str, tuple[float, tuple[float, ...], tuple[str, ...]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="promql")

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        jobs = await self._jobs(specs)
        answers = await asyncio.gather(*(self._run(job.expr) for job in jobs), return_exceptions=True)
        answered: list[tuple[Job, Rows]] = []
        for job, answer in zip(jobs, answers, strict=True):
            if isinstance(answer, MetricsUnavailable):
                raise answer
            if isinstance(answer, QueryRejected):
                log.warning("Prometheus rejected a query (%s): %s", answer, job.expr[:200])
                continue
            if isinstance(answer, BaseException):
                raise answer
            answered.append((job, answer))
        replicas: Sequence[Sample | None] = [None] * len(specs)
        if self.pod_lister is not None:
            replicas = await asyncio.gather(*(ready_replicas(self.pod_lister, s.key, now) for s in specs))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._assemble, specs, answered, replicas, now)

    def _assemble(
        self,
        specs: Sequence[ServiceSpec],
        answered: Sequence[tuple[Job, Rows]],
        replicas: Sequence[Sample | None],
        now: float,
    ) -> dict[ServiceKey, Observation]:
        with paused_gc():
            collected = Collected()
            for job, rows in answered:
                _collect(collected, job, rows, self.builder.service_label)
            return {
                spec.key: _observation(spec, collected, now, replica)
                for spec, replica in zip(specs, replicas, strict=True)
            }

    async def _run(self, expr: str) -> Rows:
        self.queries_issued += 1
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.client.query, expr)

    async def _jobs(self, specs: Sequence[ServiceSpec]) -> list[Job]:
        by_preset: dict[Preset, list[ServiceSpec]] = defaultdict(list)
        by_gpu: dict[str, set[ServiceKey]] = defaultdict(set)
        for spec in specs:
            by_preset[preset_for(spec.metrics.preset)].append(spec)
            by_gpu[spec.metrics.gpu_source].add(spec.key)
        thresholds = [{spec.slo.latency_ms / 1000.0 for spec in group} for group in by_preset.values()]
        groups = [p.name for p in by_preset] + [g for g in by_gpu if g in GPU_SOURCES]
        detection = asyncio.ensure_future(self._recorded_groups(groups))  # concurrent with the layouts
        slo_les = await asyncio.gather(*(self._slo_buckets(p, t) for p, t in zip(by_preset, thresholds, strict=True)))
        recorded = await detection
        jobs: list[Job] = []
        for (preset, group), slo_le in zip(by_preset.items(), slo_les, strict=True):
            keys = frozenset(spec.key for spec in group)
            if preset.name in recorded:
                jobs += [Job(e, keys, names=n) for e, n in self.recorded.preset_query(preset, slo_le, len(keys))]
                continue
            exprs = (self.builder.traffic(preset), self.builder.latency(preset, slo_le), self.builder.load(preset))
            jobs += [Job(expr, keys) for expr in exprs if expr]
        for source, gpu_keys in by_gpu.items():
            if source in recorded:
                recorded_gpu = self.recorded.gpu_query(source, len(gpu_keys))
                jobs += [Job(e, frozenset(gpu_keys), names=n) for e, n in recorded_gpu]
            elif raw := self.builder.gpu(source):
                jobs.append(Job(raw, frozenset(gpu_keys)))
        for spec in specs:
            jobs += self._override_jobs(spec)
        return jobs

    def _override_jobs(self, spec: ServiceSpec) -> list[Job]:
        jobs = []
        values = {
            "namespace": spec.namespace,
            "service": spec.name,
            "model": spec.metrics.model_label or "",
            "window": self.builder.window,
            "threshold_seconds": f"{spec.slo.latency_ms / 1000.0:g}",
            "service_label": self.builder.service_label,
        }
        for signal, template in spec.metrics.overrides.items():
            if signal not in SIGNALS:
                log.warning("%s: override for unknown signal %r ignored", spec.key, signal)
                continue
            try:
                jobs.append(Job(render(template, values), frozenset({spec.key}), signal))
            except UnsafeQuery as exc:
                log.warning("%s: override for %s refused: %s", spec.key, signal, exc)
        return jobs

    async def _recorded_groups(self, groups: Sequence[str]) -> frozenset[str]:
        """The rule groups whose recorded series the tick reads (detected once, then cached)."""
        if self.recording_rules != "auto":
            return frozenset(groups) if self.recording_rules == "on" else frozenset()
        now = time.monotonic()
        unknown = [g for g in groups if self._detected.get(g, (0.0, False))[0] <= now]
        if unknown:
            markers = self.recorded.markers(unknown)
            try:
                rows = await self._run(self.recorded.detect(markers))
            except QueryRejected as exc:
                log.warning("recording-rule detection query rejected: %s", exc)
                rows = []
            present = {row.get("metric", {}).get("__name__") for row in rows}
            for group, marker in markers.items():
                self._detected[group] = (now + self.layout_ttl, marker in present)
                log.info("Prometheus %s: %s", group, "recorded series" if marker in present else "raw queries")
        return frozenset(g for g in groups if self._detected[g][1])

    async def _slo_buckets(self, preset: Preset, thresholds_seconds: Collection[float]) -> tuple[str, ...]:
        """The ``le`` values around each threshold (and ``+Inf``), from the cached bucket layout."""
        if preset.latency is None:
            return ()
        bounds, labels = await self._layout(preset)
        chosen = {"+Inf"} if bounds else set()
        for threshold in thresholds_seconds:
            units = threshold / preset.latency.seconds_per_unit
            below = [i for i, b in enumerate(bounds) if b <= units]
            above = [i for i, b in enumerate(bounds) if b > units and not math.isinf(b)]
            chosen.update(labels[i] for i in below[-1:] + above[:1])
        return tuple(sorted(chosen))

    async def _layout(self, preset: Preset) -> tuple[tuple[float, ...], tuple[str, ...]]:
        cached = self._layouts.get(preset.name)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        expr = self.builder.layout(preset)
        try:
            rows = await self._run(expr) if expr else []
        except QueryRejected as exc:
            log.warning("bucket layout query rejected: %s", exc)
            rows = []
        pairs = sorted((float(row["metric"]["le"]), row["metric"]["le"]) for row in rows if "le" in row["metric"])
        bounds, labels = tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        if bounds:  # an empty layout (no series yet) is asked again next tick
            self._layouts[preset.name] = (time.monotonic() + self.layout_ttl, bounds, labels)
        return bounds, labels


def _observation(spec: ServiceSpec, collected: Collected, now: float, replicas: Sample | None) -> Observation:
    samples = collected.samples.get(spec.key, {})
    if spec.metrics.overrides:
        # An overridden signal comes from its override alone: an empty answer means missing.
        samples = {k: v for k, v in samples.items() if k not in spec.metrics.overrides}
        samples.update(collected.overrides.get(spec.key, {}))
    buckets = collected.buckets.get(spec.key)
    if buckets and "slo_attainment" not in samples:
        preset = preset_for(spec.metrics.preset)
        unit = preset.latency.seconds_per_unit if preset.latency else 1.0
        share = share_within(spec.slo.latency_ms / 1000.0 / unit, [(le, v) for le, v, _ in buckets])
        if share is not None:
            samples = {**samples, "slo_attainment": Sample(share, min(at for _, _, at in buckets))}
    if replicas is not None and "ready_replicas" not in samples:
        samples = {**samples, "ready_replicas": replicas}
    return Observation(at=now, source="prometheus", **samples)


def _collect(collected: Collected, job: Job, rows: Rows, service_label: str) -> None:
    """Sort one answer's rows into per-service samples and SLO buckets: one dict pass, no copies.

    Keys are plain ``(namespace, service)`` tuples, equal to (and hashing like) ``ServiceKey``.
    """
    if job.signal is not None:
        _collect_override(collected, job, rows)
        return
    keys, names, samples, buckets = job.keys, job.names, collected.samples, collected.buckets
    isfinite = math.isfinite
    for row in rows:
        labels = row["metric"]
        key = (labels.get("namespace", ""), labels.get(service_label, ""))
        if key not in keys:
            continue
        signal = labels.get(SIGNAL_LABEL) or names.get(labels.get("__name__", ""))
        at, raw = row["value"]
        value = float(raw)
        if not isfinite(value):
            continue  # NaN (0/0, no requests) or ±Inf: not a measurement
        if signal == SLO_BUCKET:
            buckets[key].append((float(labels["le"]), value, float(at)))
        elif signal in SIGNALS:
            found = samples[key]
            if signal not in found:
                found[signal] = Sample(value, float(at))


def _collect_override(collected: Collected, job: Job, rows: Rows) -> None:
    if len(rows) != 1:
        if rows:
            log.warning("override for %s returned %d series, expected one", job.signal, len(rows))
        return
    at, raw = rows[0]["value"]
    value = float(raw)
    if math.isfinite(value) and job.signal is not None:
        collected.overrides[next(iter(job.keys))][job.signal] = Sample(value, float(at))
