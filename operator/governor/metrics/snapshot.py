"""Pure arithmetic of the direct scrape source: one pod's counters now, and rates between scrapes.

A ``PodSnapshot`` holds what one ``/metrics`` page said about the preset's series; two
snapshots of the same pod give rates (a counter that went down was reset by a restart, so its
whole current value is the increase, as in Prometheus' ``rate``). The pods of a service are
summed: rates and gauges add up, histogram bucket increases add up before the quantiles.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from governor.metrics.histogram import quantile, share_within
from governor.metrics.presets import Preset, Series
from governor.model import Observation, Sample

COUNTERS = ("requests", "errors", "successes", "cache_hits", "cache_lookups", "cache_misses")


@dataclass(frozen=True)
class PodSnapshot:
    at: float  # monotonic seconds of the scrape
    counters: Mapping[str, float] = field(default_factory=dict)
    gauges: Mapping[str, float] = field(default_factory=dict)
    buckets: Mapping[float, float] = field(default_factory=dict)  # le (preset units) → cumulative count
    summary: Mapping[float, float] = field(default_factory=dict)  # quantile → value (preset units)


@dataclass(frozen=True)
class RawSample:
    name: str
    labels: Mapping[str, str]
    value: float


def _matches(sample: RawSample, series: Series, model_label: str | None, model: str | None) -> bool:
    # prometheus_client's parser adds ``_total`` to counters exported without it (Triton, TGI).
    if sample.name != series.name and sample.name != series.name + "_total":
        return False
    if model is not None and model_label is not None and sample.labels.get(model_label) != model:
        return False
    return all(sample.labels.get(k) == v for k, v in series.matchers)


def extract(preset: Preset, samples: Iterable[RawSample], at: float, model: str | None = None) -> PodSnapshot:
    """The preset's series out of one pod's samples (summed over their other labels)."""
    wanted: dict[str, Sequence[Series]] = {
        "requests": preset.requests,
        "errors": preset.errors,
        "successes": (preset.successes,) if preset.successes else (),
        "cache_hits": (preset.cache_hits,) if preset.cache_hits else (),
        "cache_lookups": (preset.cache_lookups,) if preset.cache_lookups else (),
        "cache_misses": (preset.cache_misses,) if preset.cache_misses else (),
        "queue": (preset.queue,) if preset.queue else (),
        "running": (preset.running,) if preset.running else (),
    }
    sums: dict[str, float] = {}
    buckets: dict[float, float] = defaultdict(float)
    summary: dict[float, float] = {}
    for sample in samples:
        for role, series_list in wanted.items():
            if any(_matches(sample, s, preset.model_label, model) for s in series_list):
                sums[role] = sums.get(role, 0.0) + sample.value
        if preset.latency and _matches(sample, Series(preset.latency.bucket), preset.model_label, model):
            buckets[float(sample.labels.get("le", "nan"))] += sample.value
        if preset.latency_summary and _matches(sample, preset.latency_summary, preset.model_label, model):
            q = float(sample.labels.get("quantile", "nan"))
            if math.isfinite(sample.value):
                summary[q] = max(summary.get(q, 0.0), sample.value)
    if preset.errors and "requests" in sums:
        sums.setdefault("errors", 0.0)  # no failure series yet while requests flow: zero failures
    counters = {k: v for k, v in sums.items() if k in COUNTERS}
    gauges = {k: v for k, v in sums.items() if k not in COUNTERS}
    return PodSnapshot(at, counters, gauges, {k: v for k, v in buckets.items() if not math.isnan(k)}, summary)


def increase(previous: float, current: float) -> float:
    return current if current < previous else current - previous


@dataclass
class Interval:
    """Summed per-second rates of every pod with two snapshots, plus the bucket increases."""

    rates: dict[str, float] = field(default_factory=dict)
    buckets: dict[float, float] = field(default_factory=lambda: defaultdict(float))
    pods: int = 0

    def add(self, before: PodSnapshot, after: PodSnapshot) -> None:
        elapsed = after.at - before.at
        if elapsed <= 0:
            return
        self.pods += 1
        for name, value in after.counters.items():
            if name in before.counters:
                self.rates[name] = self.rates.get(name, 0.0) + increase(before.counters[name], value) / elapsed
        reset = any(after.buckets.get(le, 0.0) < count for le, count in before.buckets.items())
        for le, count in after.buckets.items():
            self.buckets[le] += count if reset else count - before.buckets.get(le, 0.0)


def observation(
    preset: Preset, threshold_seconds: float, interval: Interval, current: Sequence[PodSnapshot], now: float
) -> Observation:
    """The service's observation from this tick's snapshots and the interval since the last."""
    if not current:
        return Observation(at=now, source="none")
    values: dict[str, float | None] = {
        "queue_depth": _gauge_sum(current, "queue"),
        "running_requests": _gauge_sum(current, "running"),
    }
    if interval.pods:
        values.update(_rates(interval))
        values.update(_latency(preset, threshold_seconds, interval))
    if preset.latency_summary is not None:
        unit_ms = 1000.0 * preset.summary_seconds_per_unit
        for name, q in (("latency_p50_ms", 0.5), ("latency_p95_ms", 0.95), ("latency_p99_ms", 0.99)):
            found = [s.summary[q] for s in current if q in s.summary]
            values[name] = max(found) * unit_ms if found else None
    samples = {k: Sample(v, now) for k, v in values.items() if v is not None and math.isfinite(v)}
    return Observation(at=now, source="scrape", **samples)


def _gauge_sum(snapshots: Sequence[PodSnapshot], name: str) -> float | None:
    found = [s.gauges[name] for s in snapshots if name in s.gauges]
    return sum(found) if found else None


def _rates(interval: Interval) -> dict[str, float | None]:
    rates = interval.rates
    out: dict[str, float | None] = {"request_rate": rates.get("requests")}
    if "successes" in rates and "requests" in rates:
        out["error_rate"] = max(0.0, rates["requests"] - rates["successes"])
    elif "errors" in rates:
        out["error_rate"] = rates["errors"]
    hits = rates.get("cache_hits")
    lookups = rates.get("cache_lookups")
    if lookups is None and hits is not None and "cache_misses" in rates:
        lookups = hits + rates["cache_misses"]
    out["cache_hit_ratio"] = hits / lookups if hits is not None and lookups else None
    return out


def _latency(preset: Preset, threshold_seconds: float, interval: Interval) -> dict[str, float | None]:
    if preset.latency is None or not interval.buckets:
        return {}
    unit = preset.latency.seconds_per_unit
    pairs = list(interval.buckets.items())
    out: dict[str, float | None] = {}
    for name, q in (("latency_p50_ms", 0.5), ("latency_p95_ms", 0.95), ("latency_p99_ms", 0.99)):
        value = quantile(q, pairs)
        out[name] = value * unit * 1000.0 if value is not None else None
    out["slo_attainment"] = share_within(threshold_seconds / unit, pairs)
    return out
