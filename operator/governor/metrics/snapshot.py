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
from governor.metrics.presets import Histogram, Preset, Series
from governor.metrics.tokens import TOKEN_HISTOGRAMS, goodput_lower_bound, objective, quantile_for
from governor.model import Observation, Sample, SLOSpec

COUNTERS = (
    "requests",
    "errors",
    "successes",
    "cache_hits",
    "cache_lookups",
    "cache_misses",
    "prompt_tokens",
    "generation_tokens",
    "prefix_hits",
    "prefix_queries",
    "queue_time_sum",
    "queue_time_count",
)


@dataclass(frozen=True)
class PodSnapshot:
    at: float  # monotonic seconds of the scrape
    counters: Mapping[str, float] = field(default_factory=dict)
    gauges: Mapping[str, float] = field(default_factory=dict)
    buckets: Mapping[float, float] = field(default_factory=dict)  # le (preset units) → cumulative count
    summary: Mapping[float, float] = field(default_factory=dict)  # quantile → value (preset units)
    token_buckets: Mapping[str, Mapping[float, float]] = field(default_factory=dict)  # ttft/itl → le → count


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
    samples = list(samples)
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
    token_sums, token_buckets = _token_series(preset, samples, model)
    sums.update(token_sums)
    counters = {k: v for k, v in sums.items() if k in COUNTERS}
    gauges = {k: v for k, v in sums.items() if k not in COUNTERS}
    clean = {k: v for k, v in buckets.items() if not math.isnan(k)}
    return PodSnapshot(at, counters, gauges, clean, summary, token_buckets)


def _token_series(
    preset: Preset, samples: Iterable[RawSample], model: str | None
) -> tuple[dict[str, float], dict[str, dict[float, float]]]:
    """The token signals' sums and the TTFT/ITL buckets; of several spellings, the first the page carries."""
    t = preset.tokens
    roles: dict[str, tuple[Series, ...]] = {
        "prompt_tokens": t.prompt_tokens,
        "generation_tokens": t.generation_tokens,
        "prefix_hits": t.prefix_hits,
        "prefix_queries": t.prefix_queries,
        "prefix_hit_gauge": t.prefix_hit_gauge,
        "kv_usage": t.kv_usage,
        "queue_time_sum": tuple(Series(h.base + "_sum") for h in t.queue_time),
        "queue_time_count": tuple(Series(h.base + "_count") for h in t.queue_time),
    }
    histograms: dict[str, tuple[Histogram, ...]] = {name: t.histogram(name) for name in TOKEN_HISTOGRAMS}
    found: dict[tuple[str, int], float] = defaultdict(float)
    bucket_found: dict[tuple[str, int], dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for sample in samples:
        for role, spellings in roles.items():
            for index, series in enumerate(spellings):
                if _matches(sample, series, preset.model_label, model):
                    found[(role, index)] += sample.value
        for name, hists in histograms.items():
            for index, h in enumerate(hists):
                if _matches(sample, Series(h.bucket), preset.model_label, model):
                    le = float(sample.labels.get("le", "nan"))
                    if not math.isnan(le):
                        bucket_found[(name, index)][le] += sample.value
    sums: dict[str, float] = {}
    for role, spellings in roles.items():
        first = _first(found, role, len(spellings))
        if first is not None:
            sums[role] = found[(role, first)]
    buckets: dict[str, dict[float, float]] = {}
    for name, hists in histograms.items():
        first = _first(bucket_found, name, len(hists))
        if first is not None:
            buckets[name] = dict(bucket_found[(name, first)])
    return sums, buckets


def _first(found: Mapping[tuple[str, int], object], role: str, spellings: int) -> int | None:
    """The index of the first spelling of ``role`` the page carried, if any."""
    return next((i for i in range(spellings) if (role, i) in found), None)


def increase(previous: float, current: float) -> float:
    return current if current < previous else current - previous


@dataclass
class Interval:
    """Summed per-second rates of every pod with two snapshots, plus the bucket increases."""

    rates: dict[str, float] = field(default_factory=dict)
    buckets: dict[float, float] = field(default_factory=lambda: defaultdict(float))
    token_buckets: dict[str, dict[float, float]] = field(default_factory=dict)  # ttft/itl → le → increase
    pods: int = 0

    def add(self, before: PodSnapshot, after: PodSnapshot) -> None:
        elapsed = after.at - before.at
        if elapsed <= 0:
            return
        self.pods += 1
        for name, value in after.counters.items():
            if name in before.counters:
                self.rates[name] = self.rates.get(name, 0.0) + increase(before.counters[name], value) / elapsed
        _add_increase(self.buckets, before.buckets, after.buckets)
        for name, counts in after.token_buckets.items():
            _add_increase(
                self.token_buckets.setdefault(name, defaultdict(float)), before.token_buckets.get(name, {}), counts
            )


def _add_increase(total: dict[float, float], before: Mapping[float, float], after: Mapping[float, float]) -> None:
    """Add one pod's bucket increases; a bucket that went down means a restart: the whole count is new."""
    reset = any(after.get(le, 0.0) < count for le, count in before.items())
    for le, count in after.items():
        total[le] = total.get(le, 0.0) + (count if reset else count - before.get(le, 0.0))


def observation(
    preset: Preset,
    threshold_seconds: float,
    interval: Interval,
    current: Sequence[PodSnapshot],
    now: float,
    slo: SLOSpec | None = None,
) -> Observation:
    """The service's observation from this tick's snapshots and the interval since the last.

    ``slo`` (the service's objectives) picks the TTFT/ITL quantiles and thresholds; without it the
    request-latency threshold alone is judged, as ``threshold_seconds`` says.
    """
    if not current:
        return Observation(at=now, source="none")
    slo = slo or SLOSpec(latency_ms=threshold_seconds * 1000.0)
    values: dict[str, float | None] = {
        "queue_depth": _gauge_sum(current, "queue"),
        "running_requests": _gauge_sum(current, "running"),
        **_token_gauges(current),
    }
    if interval.pods:
        values.update(_rates(interval))
        values.update(_latency(preset, threshold_seconds, interval))
        values.update(_token_rates(interval))
        values.update(_token_latency(preset, slo, interval))
    attained = {k: values.get(k) for k in ("slo_attainment", "ttft_attainment", "itl_attainment")}
    values["goodput_attainment"] = goodput_lower_bound(slo, attained)  # a lower bound, as from Prometheus
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


def _token_gauges(current: Sequence[PodSnapshot]) -> dict[str, float | None]:
    usage = [s.gauges["kv_usage"] for s in current if "kv_usage" in s.gauges]
    ratios = [s.gauges["prefix_hit_gauge"] for s in current if "prefix_hit_gauge" in s.gauges]
    return {
        "kv_cache_usage_mean": sum(usage) / len(usage) if usage else None,
        "kv_cache_usage_max": max(usage) if usage else None,
        "prefix_cache_hit_ratio": sum(ratios) / len(ratios) if ratios else None,
    }


def _token_rates(interval: Interval) -> dict[str, float | None]:
    rates = interval.rates
    out: dict[str, float | None] = {
        "prompt_tokens_rate": rates.get("prompt_tokens"),
        "generation_tokens_rate": rates.get("generation_tokens"),
    }
    hits, lookups = rates.get("prefix_hits"), rates.get("prefix_queries")
    if hits is not None and lookups:
        out["prefix_cache_hit_ratio"] = hits / lookups
    waited, count = rates.get("queue_time_sum"), rates.get("queue_time_count")
    if waited is not None and count:
        out["queue_wait_ms"] = waited / count * 1000.0
    return {k: v for k, v in out.items() if v is not None}


def _token_latency(preset: Preset, slo: SLOSpec, interval: Interval) -> dict[str, float | None]:
    """TTFT/ITL at the service's quantiles and, where it declares the objective, the share within it."""
    out: dict[str, float | None] = {}
    for name in TOKEN_HISTOGRAMS:
        spellings, increases = preset.tokens.histogram(name), interval.token_buckets.get(name)
        if not spellings or not increases:
            continue
        unit = spellings[0].seconds_per_unit
        pairs = list(increases.items())
        value = quantile(quantile_for(slo, name), pairs)
        out[f"{name}_ms"] = value * unit * 1000.0 if value is not None else None
        declared = objective(slo, name)
        if declared is not None:
            out[f"{name}_attainment"] = share_within(declared.ms / 1000.0 / unit, pairs)
    return out
