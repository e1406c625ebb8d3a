"""The batched PromQL of one tick: a fixed number of queries per preset, for all services.

Every expression aggregates ``by (namespace, <service label>)`` and tags its rows with a
``governor_signal`` label, so several signals travel in one query (joined with ``or``) and
the number of queries does not grow with the number of services. Services are selected by
the presence of the service label (``<label>!=""``) and picked out of the answer by key.

GPU series are attributed by the exporter that produced them, never by labels a page could
carry: a tenant's pod that exports ``DCGM_FI_DEV_GPU_UTIL`` with another namespace's
``namespace``/``pod`` is stored with those as ``exported_namespace``/``exported_pod`` — the same
shape as the DCGM exporter's own series — so DCGM series are read only from the exporter's
target labels (``dcgm_selector``, e.g. its job) and pods map to services only through
kube-state-metrics' ``kube_pod_labels`` (``pod_labels_selector``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from governor.metrics.presets import (
    AGENT_GPU_UTIL,
    AGENT_MEM_TOTAL,
    AGENT_MEM_USED,
    DCGM_FB_FREE,
    DCGM_FB_USED,
    DCGM_GPU_UTIL,
    Histogram,
    Preset,
    Series,
)
from governor.metrics.tokens import TOKEN_HISTOGRAMS, quantile_signal
from governor.model.promql import check_label_name, check_matchers, quote, regex_literal
from governor.settings import PrometheusSettings

SIGNAL_LABEL = "governor_signal"
SLO_BUCKET = "slo_bucket"
QUANTILES = (("latency_p50_ms", 0.5), ("latency_p95_ms", 0.95), ("latency_p99_ms", 0.99))
POD_SERVICE_LABEL = "label_governor_dev_service"  # kube-state-metrics' name for governor.dev/service
Part = tuple[str, str]  # (signal, PromQL returning that signal by (namespace, service))
DEFAULT_DCGM_SELECTOR = PrometheusSettings.dcgm_selector  # the dcgm-exporter chart's / GPU Operator's job
DEFAULT_POD_LABELS_SELECTOR = PrometheusSettings.pod_labels_selector  # kube-state-metrics' job


@dataclass(frozen=True)
class QueryBuilder:
    service_label: str = "service"
    window: str = "1m"
    dcgm_selector: str = DEFAULT_DCGM_SELECTOR  # label matchers of the DCGM exporter's own series
    pod_labels_selector: str = DEFAULT_POD_LABELS_SELECTOR  # ... of kube-state-metrics' kube_pod_labels

    def __post_init__(self) -> None:
        check_label_name(self.service_label)
        object.__setattr__(self, "dcgm_selector", check_matchers(self.dcgm_selector))
        object.__setattr__(self, "pod_labels_selector", check_matchers(self.pod_labels_selector))

    @property
    def by(self) -> str:
        return f"namespace, {self.service_label}"

    def select(self, series: Series, extra: str = "") -> str:
        matchers = [f"{self.service_label}!={quote('')}"]
        matchers += [f"{name}={quote(value)}" for name, value in series.matchers]
        if extra:
            matchers.append(extra)
        return f"{series.name}{{{','.join(matchers)}}}"

    def rate_sum(self, series: Sequence[Series]) -> str:
        """Summed per-service rate of one or more counters; a missing later counter counts as 0.

        Several counters are added per service rather than selected together: ``rate`` drops
        the metric name, so two counters with otherwise equal labels would clash.
        """
        total = f"sum by ({self.by}) (rate({self.select(series[0])}[{self.window}]))"
        for extra in series[1:]:
            term = f"sum by ({self.by}) (rate({self.select(extra)}[{self.window}]))"
            total = f"({total} + ({term} or {total} * 0))"
        return total

    def traffic(self, preset: Preset) -> str | None:
        return join([tag(expr, signal) for signal, expr in self.traffic_parts(preset)])

    def traffic_parts(self, preset: Preset) -> list[Part]:
        parts = [("request_rate", self.rate_sum(preset.requests))]
        if preset.errors or preset.successes:
            parts.append(("error_rate", self.error_rate(preset)))
        return parts

    def error_rate(self, preset: Preset, requests: str | None = None) -> str:
        """Failed requests per second; ``requests`` may name a series already holding the request rate."""
        requests = requests or self.rate_sum(preset.requests)
        if preset.successes is not None:
            return f"clamp_min({requests} - {self.rate_sum((preset.successes,))}, 0)"
        # No failure series yet but requests flowing means zero failures, not missing data.
        return f"({self.rate_sum(preset.errors)}) or ({requests} * 0)"

    def latency(self, preset: Preset, slo_le: Sequence[str]) -> str | None:
        parts = [tag(expr, signal) for signal, expr in self.quantile_parts(preset)]
        if preset.latency is not None and slo_le:
            parts.append(tag(self.bucket_rates(preset, self.le_matcher(slo_le)), SLO_BUCKET))
        return join(parts)

    def bucket_rates(self, preset: Preset, extra: str = "") -> str:
        """Per-service rates of the latency histogram's buckets, ``by (..., le)``."""
        if preset.latency is None:
            raise ValueError(f"preset {preset.name} has no latency histogram")
        selector = self.select(Series(preset.latency.bucket), extra)
        return f"sum by ({self.by}, le) (rate({selector}[{self.window}]))"

    @staticmethod
    def le_matcher(slo_le: Sequence[str]) -> str:
        return f"le=~{quote('|'.join(regex_literal(v) for v in slo_le))}"

    def quantile_parts(self, preset: Preset, bucket_rates: str | None = None) -> list[Part]:
        """p50/p95/p99 in milliseconds, from the histogram (over ``bucket_rates`` when given) or the summary."""
        if preset.latency is not None:
            ms = 1000.0 * preset.latency.seconds_per_unit
            rates = bucket_rates or self.bucket_rates(preset)
            return [(name, f"histogram_quantile({q}, {rates}) * {ms:g}") for name, q in QUANTILES]
        if preset.latency_summary is not None:
            ms = 1000.0 * preset.summary_seconds_per_unit
            parts = []
            for name, q in QUANTILES:
                summary = self.select(preset.latency_summary, f"quantile={quote(str(q))}")
                parts.append((name, f"max by ({self.by}) ({summary}) * {ms:g}"))
            return parts
        return []

    def layout(self, preset: Preset) -> str | None:
        """The histogram's bucket bounds, to pick the buckets around each SLO threshold."""
        if preset.latency is None:
            return None
        return f"count by (le) ({self.select(Series(preset.latency.bucket))})"

    def load(self, preset: Preset) -> str | None:
        return join([tag(expr, signal) for signal, expr in self.load_parts(preset)])

    def load_parts(self, preset: Preset) -> list[Part]:
        parts: list[Part] = []
        if preset.queue is not None:
            parts.append(("queue_depth", f"sum by ({self.by}) ({self.select(preset.queue)})"))
        if preset.running is not None:
            parts.append(("running_requests", f"sum by ({self.by}) ({self.select(preset.running)})"))
        if preset.cache_hits is not None:
            hits = self.rate_sum((preset.cache_hits,))
            if preset.cache_lookups is not None:
                parts.append(("cache_hit_ratio", f"{hits} / {self.rate_sum((preset.cache_lookups,))}"))
            elif preset.cache_misses is not None:
                parts.append(("cache_hit_ratio", f"{hits} / ({hits} + {self.rate_sum((preset.cache_misses,))})"))
        return parts

    # LLM-native signals ------------------------------------------------------------------------

    def tokens(
        self,
        preset: Preset,
        quantiles: Mapping[str, Collection[float]],
        token_le: Mapping[str, Sequence[str]] | None = None,
    ) -> str | None:
        """One query for the token signals: quantiles per requested ``q``, the rest, and the SLO buckets."""
        parts = [tag(expr, signal) for signal, expr in self.token_quantile_parts(preset, quantiles)]
        parts += [tag(expr, signal) for signal, expr in self.token_parts(preset)]
        for name, les in (token_le or {}).items():
            if preset.tokens.histogram(name) and les:
                parts.append(tag(self.token_bucket_rates(preset, name, self.le_matcher(les)), f"{name}_bucket"))
        return join(parts)

    def token_bucket_rates(self, preset: Preset, name: str, extra: str = "") -> str:
        """Per-service bucket rates of the ``ttft`` or ``itl`` histogram, whichever spelling is exported."""
        spellings = preset.tokens.histogram(name)
        if not spellings:
            raise ValueError(f"preset {preset.name} has no {name} histogram")
        rates = [
            f"sum by ({self.by}, le) (rate({self.select(Series(h.bucket), extra)}[{self.window}]))" for h in spellings
        ]
        return rates[0] if len(rates) == 1 else "(" + " or ".join(rates) + ")"

    def token_quantile_parts(
        self, preset: Preset, quantiles: Mapping[str, Collection[float]], bucket_rates: Mapping[str, str] | None = None
    ) -> list[Part]:
        """``ttft_ms@q`` / ``itl_ms@q`` for every ``q`` some service asks for (over ``bucket_rates`` when given)."""
        parts: list[Part] = []
        for name in TOKEN_HISTOGRAMS:
            spellings = preset.tokens.histogram(name)
            if not spellings:
                continue
            ms = 1000.0 * spellings[0].seconds_per_unit
            rates = (bucket_rates or {}).get(name) or self.token_bucket_rates(preset, name)
            for q in sorted(set(quantiles.get(name, ()))):
                parts.append((quantile_signal(name, q), f"histogram_quantile({q:g}, {rates}) * {ms:g}"))
        return parts

    def token_parts(self, preset: Preset) -> list[Part]:
        """Queue wait, token rates, prefix-cache hit ratio and KV-cache usage, by (namespace, service)."""
        t = preset.tokens
        parts: list[Part] = []
        if t.queue_time:
            parts.append(("queue_wait_ms", self._either([self._mean_ms(h) for h in t.queue_time])))
        if t.prompt_tokens:
            parts.append(("prompt_tokens_rate", self._either([self.rate_sum((s,)) for s in t.prompt_tokens])))
        if t.generation_tokens:
            parts.append(("generation_tokens_rate", self._either([self.rate_sum((s,)) for s in t.generation_tokens])))
        ratios = [
            f"{self.rate_sum((hits,))} / {self.rate_sum((lookups,))}"
            for hits, lookups in zip(t.prefix_hits, t.prefix_queries, strict=False)
        ]
        ratios += [f"avg by ({self.by}) ({self.select(g)})" for g in t.prefix_hit_gauge]
        if ratios:
            parts.append(("prefix_cache_hit_ratio", self._either(ratios)))
        if t.kv_usage:
            parts.append(
                ("kv_cache_usage_mean", self._either([f"avg by ({self.by}) ({self.select(g)})" for g in t.kv_usage]))
            )
            parts.append(
                ("kv_cache_usage_max", self._either([f"max by ({self.by}) ({self.select(g)})" for g in t.kv_usage]))
            )
        return parts

    def token_layout(self, preset: Preset, name: str) -> str | None:
        """The bucket bounds of the ``ttft`` or ``itl`` histogram (every spelling), for the SLO buckets."""
        spellings = preset.tokens.histogram(name)
        if not spellings:
            return None
        return f"count by (le) ({' or '.join(self.select(Series(h.bucket)) for h in spellings)})"

    def _mean_ms(self, histogram: Histogram) -> str:
        total = self.rate_sum((Series(histogram.base + "_sum"),))
        count = self.rate_sum((Series(histogram.base + "_count"),))
        return f"{total} / {count} * {1000.0 * histogram.seconds_per_unit:g}"

    @staticmethod
    def _either(exprs: Sequence[str]) -> str:
        """The first of several spellings a service exports (``or`` keeps the left side's rows)."""
        return exprs[0] if len(exprs) == 1 else " or ".join(f"({e})" for e in exprs)

    def gpu(self, source: str) -> str | None:
        return join([tag(expr, signal) for signal, expr in self.gpu_parts(source)])

    def gpu_parts(self, source: str) -> list[Part]:
        if source == "dcgm":
            used, free = self._dcgm(DCGM_FB_USED), self._dcgm(DCGM_FB_FREE)
            util = f"({self._dcgm_pods(self._dcgm(DCGM_GPU_UTIL))} / 100)"
            mem = f"({self._dcgm_pods(f'{used} / ({used} + {free})')})"
            util, mem = self._dcgm_service(util), self._dcgm_service(mem)
        elif source == "agent":
            util = self._agent(f'{AGENT_GPU_UTIL}{{service!=""}}')
            mem = self._agent(f'{AGENT_MEM_USED}{{service!=""}} / {AGENT_MEM_TOTAL}{{service!=""}}')
        else:
            return []
        return [
            ("gpu_utilization_mean", f"avg by ({self.by}) ({util})"),
            ("gpu_utilization_max", f"max by ({self.by}) ({util})"),
            ("gpu_memory_used_mean", f"avg by ({self.by}) ({mem})"),
            ("gpu_memory_used_max", f"max by ({self.by}) ({mem})"),
        ]

    def _dcgm(self, name: str) -> str:
        """One DCGM series as the exporter itself produced it (its target labels, not the page's)."""
        return f"{name}{{{self.dcgm_selector}}}"

    @staticmethod
    def _dcgm_pods(expr: str) -> str:
        """DCGM series with the workload's namespace/pod, whichever label spelling they carry.

        Trusted only on the exporter's own series (``_dcgm``): it names the pod using each GPU.
        """
        inner = f'label_replace({expr}, "namespace", "$1", "exported_namespace", "(.+)")'
        return f'label_replace({inner}, "pod", "$1", "exported_pod", "(.+)")'

    def _dcgm_service(self, expr: str) -> str:
        """Join DCGM's pods to services through kube-state-metrics' ``kube_pod_labels``."""
        labels = f'kube_pod_labels{{{POD_SERVICE_LABEL}!="",{self.pod_labels_selector}}}'
        pods = f"max by (namespace, pod, {POD_SERVICE_LABEL}) ({labels})"
        podmap = f'label_replace({pods}, "{self.service_label}", "$1", "{POD_SERVICE_LABEL}", "(.+)")'
        return f"{expr} * on (namespace, pod) group_left({self.service_label}) {podmap}"

    def _agent(self, expr: str) -> str:
        if self.service_label == "service":
            return expr
        return f'label_replace({expr}, "{self.service_label}", "$1", "service", "(.+)")'


def tag(expr: str, signal: str) -> str:
    return f'label_replace({expr}, "{SIGNAL_LABEL}", "{signal}", "", "")'


def join(parts: Sequence[str]) -> str | None:
    return " or ".join(parts) if parts else None
