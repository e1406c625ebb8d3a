"""Prometheus recording rules that precompute every batched signal, and the queries that read them.

At thousands of services the latency query is the expensive one: ``rate`` over every bucket
series, recomputed by Prometheus for each of the three ``histogram_quantile`` calls. Recording
rules move that work into Prometheus' rule evaluation, done once per evaluation interval: the
bucket rates are recorded once per (namespace, service, le) and the quantiles are computed from
the recorded rates. A collection tick then only selects precomputed series.

Rules are generated from the same ``QueryBuilder`` parts as the raw queries, so both paths
compute the same thing. Names follow Prometheus' ``level:metric:operations`` convention:
``namespace_service:governor_vllm_latency_p99_ms:rate1m`` (level = the labels kept, metric =
``governor_<preset or GPU source>_<signal>``, operations = what was applied).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from governor.metrics.presets import PRESETS, Preset
from governor.metrics.queries import SLO_BUCKET, Part, QueryBuilder, join, tag
from governor.metrics.tokens import TOKEN_HISTOGRAMS, quantile_signal
from governor.model.promql import quote, regex_literal

GPU_SOURCES = ("agent", "dcgm")
RATE_SIGNALS = frozenset(
    {"request_rate", "error_rate", "cache_hit_ratio", "queue_wait_ms", "prompt_tokens_rate", "generation_tokens_rate"}
)
RATE_PREFIXES = ("latency_", "ttft_", "itl_", "prefix_cache_")
# TTFT/ITL quantiles recorded for every service; a service asking for another one costs one more query.
RECORDED_TOKEN_QUANTILES = (0.5, 0.9, 0.95, 0.99)
DEFAULT_EVALUATION_INTERVAL = "15s"
ROWS_PER_QUERY = 40_000  # rows one recorded-series answer may carry before it is split
MAX_SPLIT = 3


@dataclass(frozen=True)
class Rule:
    record: str
    expr: str


@dataclass(frozen=True)
class RecordedQueries:
    """Names of the recorded series, the rules that record them and the tick's queries over them."""

    builder: QueryBuilder

    @property
    def level(self) -> str:
        return f"namespace_{self.builder.service_label}"

    def name(self, group: str, signal: str, ops: str | None = None) -> str:
        return f"{self.level}:governor_{group}_{signal}:{ops or self._ops(signal)}"

    def _ops(self, signal: str) -> str:
        if signal in RATE_SIGNALS or signal.startswith(RATE_PREFIXES):
            return "rate" + re.sub(r"[^a-zA-Z0-9]", "_", self.builder.window)
        if signal in ("queue_depth", "running_requests"):
            return "sum"
        return "max" if signal.endswith("_max") else "avg"

    def _quantile_name(self, preset: Preset, signal: str) -> str:
        # A summary's quantiles are the largest over the pods, not computed from a rate.
        return self.name(preset.name, signal, None if preset.latency is not None else "max")

    # The rules ---------------------------------------------------------------------------

    def preset_rules(self, preset: Preset) -> list[Rule]:
        b = self.builder
        requests = self.name(preset.name, "request_rate")
        rules = [Rule(requests, b.rate_sum(preset.requests))]
        if preset.errors or preset.successes:
            rules.append(Rule(self.name(preset.name, "error_rate"), b.error_rate(preset, requests)))
        if preset.latency is not None:
            bucket = self.name(preset.name, "latency_bucket")
            rules.append(Rule(bucket, b.bucket_rates(preset)))
            # Quantiles over the series recorded just above (same group, same evaluation): the rate
            # is computed once per evaluation, not once per quantile.
            rules += [Rule(self.name(preset.name, s), e) for s, e in b.quantile_parts(preset, bucket)]
        else:
            rules += [Rule(self._quantile_name(preset, s), e) for s, e in b.quantile_parts(preset)]
        rules += [Rule(self.name(preset.name, s), e) for s, e in b.load_parts(preset)]
        # Token histograms: bucket rates recorded once; the tick reads the buckets around each
        # service's thresholds and asks for its quantiles over the recorded rates (token_quantiles).
        for name in TOKEN_HISTOGRAMS:
            if preset.tokens.histogram(name):
                rules.append(Rule(self.name(preset.name, f"{name}_bucket"), b.token_bucket_rates(preset, name)))
        recorded = self._token_quantile_names(preset)
        quantiles = dict.fromkeys(TOKEN_HISTOGRAMS, RECORDED_TOKEN_QUANTILES)
        rules += [Rule(recorded[s], e) for s, e in b.token_quantile_parts(preset, quantiles, self._token_rates(preset))]
        rules += [Rule(self.name(preset.name, s), e) for s, e in b.token_parts(preset)]
        return rules

    def _token_rates(self, preset: Preset) -> dict[str, str]:
        """The recorded bucket-rate series of each token histogram of ``preset``."""
        return {
            name: f"{self.name(preset.name, f'{name}_bucket')}{{{self.builder.service_label}!={quote('')}}}"
            for name in TOKEN_HISTOGRAMS
            if preset.tokens.histogram(name)
        }

    def _token_quantile_names(self, preset: Preset) -> dict[str, str]:
        """Signal tag (``ttft_ms@0.9``) → recorded name (``..._ttft_p90_ms:rate1m``) of the recorded quantiles."""
        return {
            quantile_signal(name, q): self.name(preset.name, f"{name}_p{q * 100:g}_ms")
            for name in TOKEN_HISTOGRAMS
            if preset.tokens.histogram(name)
            for q in RECORDED_TOKEN_QUANTILES
        }

    def gpu_rules(self, source: str) -> list[Rule]:
        return [Rule(self.name(source, s), e) for s, e in self.builder.gpu_parts(source)]

    def groups(self, interval: str = DEFAULT_EVALUATION_INTERVAL) -> list[dict[str, Any]]:
        """Rule groups for every preset and GPU source, in Prometheus' rules-file shape."""
        groups = [(f"governor-{p.name}", self.preset_rules(p)) for p in PRESETS.values()]
        groups += [(f"governor-gpu-{source}", self.gpu_rules(source)) for source in GPU_SOURCES]
        return [
            {"name": name, "interval": interval, "rules": [{"record": r.record, "expr": r.expr} for r in rules]}
            for name, rules in groups
        ]

    # The tick's queries over the recorded series -------------------------------------------

    def markers(self, groups: Iterable[str]) -> dict[str, str]:
        """One recorded name per group whose presence shows the group's rules are loaded."""
        return {group: self.name(group, "request_rate" if group not in GPU_SOURCES else "gpu_utilization_mean")
                for group in groups}  # fmt: skip

    def detect(self, markers: Mapping[str, str]) -> str:
        names = "|".join(sorted(markers.values()))
        return f'group by (__name__) ({{__name__=~"{names}"}})'

    def preset_query(
        self,
        preset: Preset,
        slo_le: Sequence[str],
        services: int = 0,
        token_le: Mapping[str, Sequence[str]] | None = None,
    ) -> list[tuple[str, dict[str, str]]]:
        """Plain selectors for every recorded series of ``preset``, each with recorded name → signal.

        No ``label_replace`` or ``or``: Prometheus only looks series up, and the answer's
        ``__name__`` says which signal each row is. ``le=~"|..."`` keeps the series without
        an ``le`` label plus the SLO buckets. A large fleet's names are split over a few
        selectors (see ``split``) that Prometheus answers and Governor decodes concurrently.
        """
        b = self.builder
        parts = b.traffic_parts(preset) + b.load_parts(preset) + b.token_parts(preset)
        signals = {self.name(preset.name, s): s for s, _ in parts}
        signals.update({self._quantile_name(preset, s): s for s, _ in b.quantile_parts(preset)})
        signals.update({name: signal for signal, name in self._token_quantile_names(preset).items()})
        weights = dict.fromkeys(signals, 1)
        if preset.latency is not None and slo_le:
            bucket = self.name(preset.name, "latency_bucket")
            signals[bucket], weights[bucket] = SLO_BUCKET, len(slo_le)
        les = set(slo_le)
        for name, token_les in (token_le or {}).items():
            if preset.tokens.histogram(name) and token_les:
                bucket = self.name(preset.name, f"{name}_bucket")
                signals[bucket], weights[bucket] = f"{name}_bucket", len(token_les)
                les.update(token_les)
        # One ``le`` set for every bucket name: a bound another histogram needs is a true bucket of this
        # one too (or matches nothing), so the interpolation around each threshold is unchanged.
        ordered = [*slo_le, *sorted(les - set(slo_le))]
        return [(self._selector(part, ordered), part) for part in split(signals, weights, services)]

    def token_quantiles(self, preset: Preset, quantiles: Mapping[str, Iterable[float]]) -> str | None:
        """TTFT/ITL quantiles over the recorded bucket rates, for quantiles the rules do not record (else None)."""
        others = {n: tuple(q for q in qs if q not in RECORDED_TOKEN_QUANTILES) for n, qs in quantiles.items()}
        parts = self.builder.token_quantile_parts(preset, others, self._token_rates(preset))
        return join([tag(expr, signal) for signal, expr in parts])

    def gpu_query(self, source: str, services: int = 0) -> list[tuple[str, dict[str, str]]]:
        signals = {self.name(source, s): s for s, _ in self.builder.gpu_parts(source)}
        return [(self._selector(part, ()), part) for part in split(signals, dict.fromkeys(signals, 1), services)]

    def _selector(self, signals: Mapping[str, str], slo_le: Sequence[str]) -> str:
        names = "|".join(regex_literal(n) for n in sorted(signals))
        le = "|".join(["", *(regex_literal(v) for v in slo_le)])
        return f"{{__name__=~{quote(names)},{self.builder.service_label}!={quote('')},le=~{quote(le)}}}"

    # Same shapes as QueryBuilder's, for callers that want one query per kind of signal.
    def traffic(self, preset: Preset) -> str | None:
        return self._select(preset.name, self.builder.traffic_parts(preset))

    def latency(self, preset: Preset, slo_le: Sequence[str]) -> str | None:
        parts = [tag(self._quantile_name(preset, s), s) for s, _ in self.builder.quantile_parts(preset)]
        if preset.latency is not None and slo_le:
            bucket = self.name(preset.name, "latency_bucket")
            parts.append(tag(f"{bucket}{{{self.builder.le_matcher(slo_le)}}}", SLO_BUCKET))
        return join(parts)

    def load(self, preset: Preset) -> str | None:
        return self._select(preset.name, self.builder.load_parts(preset))

    def gpu(self, source: str) -> str | None:
        return self._select(source, self.builder.gpu_parts(source))

    def _select(self, group: str, parts: Sequence[Part]) -> str | None:
        return join([tag(self.name(group, signal), signal) for signal, _ in parts])


def split(signals: Mapping[str, str], weights: Mapping[str, int], services: int) -> list[dict[str, str]]:
    """The recorded names in as few selectors as keep each answer under ``ROWS_PER_QUERY`` rows.

    ``weights`` is the number of rows per service each name returns (an SLO bucket name returns
    one per ``le``). Prometheus encodes one answer on one core, and Governor decodes one answer
    while the next is still on the wire, so a 110,000-row answer split in three arrives and is
    sorted sooner. At most ``MAX_SPLIT`` selectors per group: the count never grows past that,
    whatever the number of services; small fleets keep one.
    """
    rows = services * sum(weights.values())
    count = max(1, min(MAX_SPLIT, len(signals), -(-rows // ROWS_PER_QUERY)))
    parts: list[dict[str, str]] = [{} for _ in range(count)]
    loads = [0] * count
    for name in sorted(signals, key=lambda n: (-weights[n], n)):  # heaviest first, to the lightest part
        lightest = loads.index(min(loads))
        parts[lightest][name] = signals[name]
        loads[lightest] += weights[name]
    return parts


def rules_file(builder: QueryBuilder, interval: str = DEFAULT_EVALUATION_INTERVAL) -> dict[str, Any]:
    """A Prometheus ``rule_files`` document."""
    return {"groups": RecordedQueries(builder).groups(interval)}


def prometheus_rule(
    builder: QueryBuilder,
    interval: str = DEFAULT_EVALUATION_INTERVAL,
    name: str = "governor-recording-rules",
    namespace: str = "governor-system",
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The same rules as a Prometheus Operator ``PrometheusRule`` object."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    metadata["labels"] = {"app.kubernetes.io/name": "governor", **(labels or {})}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": rules_file(builder, interval),
    }
