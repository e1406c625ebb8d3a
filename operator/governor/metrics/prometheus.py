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
    join,
)
from governor.metrics.rules import GPU_SOURCES, RecordedQueries
from governor.metrics.source import MetricsUnavailable, PodLister, ready_replicas
from governor.metrics.tokens import TOKEN_HISTOGRAMS, goodput_lower_bound, objective, quantile_for, quantile_signal
from governor.model import Observation, Sample, ServiceKey, ServiceSpec
from governor.model.promql import UnsafeQuery, render

logger = logging.getLogger(__name__)
SIGNALS = frozenset(f.name for f in fields(Observation)) - {"at", "source"}
TOKEN_BUCKETS = {f"{name}_bucket": name for name in TOKEN_HISTOGRAMS}  # row tag → token histogram


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
    # token histograms: quantile rows by tag (``ttft_ms@0.9``) and SLO bucket rows by histogram
    quantiles: dict[ServiceKey, dict[str, Sample]] = field(default_factory=lambda: defaultdict(dict))
    token_buckets: dict[tuple[ServiceKey, str], list[tuple[float, float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )


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
                logger.warning("Prometheus rejected a query (%s): %s", answer, job.expr[:200])
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
        token_les = await asyncio.gather(*(self._token_buckets(p, g) for p, g in by_preset.items()))
        recorded = await detection
        jobs: list[Job] = []
        for (preset, group), slo_le, token_le in zip(by_preset.items(), slo_les, token_les, strict=True):
            keys = frozenset(spec.key for spec in group)
            quantiles = {name: {quantile_for(spec.slo, name) for spec in group} for name in TOKEN_HISTOGRAMS}
            if preset.name in recorded:
                selectors = self.recorded.preset_query(preset, slo_le, len(keys), token_le)
                jobs += [Job(e, keys, names=n) for e, n in selectors]
                if expr := self.recorded.token_quantiles(preset, quantiles):
                    jobs.append(Job(expr, keys))
                continue
            # The token signals travel with the gauges: the count of queries per tick stays three.
            load = join([e for e in (self.builder.load(preset), self.builder.tokens(preset, quantiles, token_le)) if e])
            exprs = (self.builder.traffic(preset), self.builder.latency(preset, slo_le), load)
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
                logger.warning("%s: override for unknown signal %r ignored", spec.key, signal)
                continue
            try:
                jobs.append(Job(render(template, values), frozenset({spec.key}), signal))
            except UnsafeQuery as exc:
                logger.warning("%s: override for %s refused: %s", spec.key, signal, exc)
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
                logger.warning("recording-rule detection query rejected: %s", exc)
                rows = []
            present = {row.get("metric", {}).get("__name__") for row in rows}
            for group, marker in markers.items():
                self._detected[group] = (now + self.layout_ttl, marker in present)
                logger.info("Prometheus %s: %s", group, "recorded series" if marker in present else "raw queries")
        return frozenset(g for g in groups if self._detected[g][1])

    async def _slo_buckets(self, preset: Preset, thresholds_seconds: Collection[float]) -> tuple[str, ...]:
        """The ``le`` values around each threshold (and ``+Inf``), from the cached bucket layout."""
        if preset.latency is None:
            return ()
        layout = await self._layout(preset.name, self.builder.layout(preset))
        return _around(layout, [t / preset.latency.seconds_per_unit for t in thresholds_seconds])

    async def _token_buckets(self, preset: Preset, group: Sequence[ServiceSpec]) -> dict[str, tuple[str, ...]]:
        """Per token histogram, the ``le`` values around the thresholds of the services that declare it."""
        out: dict[str, tuple[str, ...]] = {}
        for name in TOKEN_HISTOGRAMS:
            spellings = preset.tokens.histogram(name)
            objectives = [o for o in (objective(spec.slo, name) for spec in group) if o is not None]
            if not spellings or not objectives:
                continue
            layout = await self._layout(f"{preset.name}:{name}", self.builder.token_layout(preset, name))
            unit = spellings[0].seconds_per_unit
            out[name] = _around(layout, [o.ms / 1000.0 / unit for o in objectives])
        return out

    async def _layout(self, cache_key: str, expr: str | None) -> tuple[tuple[float, ...], tuple[str, ...]]:
        cached = self._layouts.get(cache_key)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        try:
            rows = await self._run(expr) if expr else []
        except QueryRejected as exc:
            logger.warning("bucket layout query rejected: %s", exc)
            rows = []
        pairs = sorted((float(row["metric"]["le"]), row["metric"]["le"]) for row in rows if "le" in row["metric"])
        bounds, labels = tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        if bounds:  # an empty layout (no series yet) is asked again next tick
            self._layouts[cache_key] = (time.monotonic() + self.layout_ttl, bounds, labels)
        return bounds, labels


def _around(layout: tuple[tuple[float, ...], tuple[str, ...]], thresholds: Collection[float]) -> tuple[str, ...]:
    """The ``le`` labels just below and just above each threshold (in the histogram's unit), and ``+Inf``."""
    bounds, labels = layout
    chosen = {"+Inf"} if bounds else set()
    for units in thresholds:
        below = [i for i, b in enumerate(bounds) if b <= units]
        above = [i for i, b in enumerate(bounds) if b > units and not math.isinf(b)]
        chosen.update(labels[i] for i in below[-1:] + above[:1])
    return tuple(sorted(chosen))


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
    samples = _token_signals(spec, collected, samples)
    if replicas is not None and "ready_replicas" not in samples:
        samples = {**samples, "ready_replicas": replicas}
    return Observation(at=now, source="prometheus", **samples)


def _token_signals(spec: ServiceSpec, collected: Collected, samples: dict[str, Sample]) -> dict[str, Sample]:
    """TTFT/ITL at the service's own quantiles, their attainment at its thresholds, and goodput."""
    out = dict(samples)
    quantiles = collected.quantiles.get(spec.key, {})
    tokens = preset_for(spec.metrics.preset).tokens
    for name in TOKEN_HISTOGRAMS:
        found = quantiles.get(quantile_signal(name, quantile_for(spec.slo, name)))
        if found is not None:
            out.setdefault(f"{name}_ms", found)
        declared, buckets = objective(spec.slo, name), collected.token_buckets.get((spec.key, name))
        if declared is None or not buckets or f"{name}_attainment" in out:
            continue
        unit = tokens.histogram(name)[0].seconds_per_unit
        share = share_within(declared.ms / 1000.0 / unit, [(le, v) for le, v, _ in buckets])
        if share is not None:
            out[f"{name}_attainment"] = Sample(share, min(at for _, _, at in buckets))
    if "goodput_attainment" not in out:
        # A lower bound: the histograms say how many missed each objective, not which requests.
        attained = {n: out[n] for n in ("slo_attainment", "ttft_attainment", "itl_attainment") if n in out}
        goodput = goodput_lower_bound(spec.slo, {n: s.value for n, s in attained.items()})
        if goodput is not None:
            out["goodput_attainment"] = Sample(goodput, min(s.at for s in attained.values()))
    return out


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
        elif signal in TOKEN_BUCKETS:
            collected.token_buckets[(key, TOKEN_BUCKETS[signal])].append((float(labels["le"]), value, float(at)))
        elif signal is not None and "@" in signal:
            collected.quantiles[key].setdefault(signal, Sample(value, float(at)))
        elif signal in SIGNALS:
            found = samples[key]
            if signal not in found:
                found[signal] = Sample(value, float(at))


def _collect_override(collected: Collected, job: Job, rows: Rows) -> None:
    if len(rows) != 1:
        if rows:
            logger.warning("override for %s returned %d series, expected one", job.signal, len(rows))
        return
    at, raw = rows[0]["value"]
    value = float(raw)
    if math.isfinite(value) and job.signal is not None:
        collected.overrides[next(iter(job.keys))][job.signal] = Sample(value, float(at))
