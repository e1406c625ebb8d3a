"""The batched PromQL of one tick: a fixed number of queries per preset, for all services.

Every expression aggregates ``by (namespace, <service label>)`` and tags its rows with a
``governor_signal`` label, so several signals travel in one query (joined with ``or``) and
the number of queries does not grow with the number of services. Services are selected by
the presence of the service label (``<label>!=""``) and picked out of the answer by key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from governor.metrics.presets import (
    AGENT_GPU_UTIL,
    AGENT_MEM_TOTAL,
    AGENT_MEM_USED,
    DCGM_FB_FREE,
    DCGM_FB_USED,
    DCGM_GPU_UTIL,
    Preset,
    Series,
)
from governor.metrics.promql import check_label_name, quote, regex_literal

SIGNAL_LABEL = "governor_signal"
SLO_BUCKET = "slo_bucket"
QUANTILES = (("latency_p50_ms", 0.5), ("latency_p95_ms", 0.95), ("latency_p99_ms", 0.99))
POD_SERVICE_LABEL = "label_governor_dev_service"  # kube-state-metrics' name for governor.dev/service


@dataclass(frozen=True)
class QueryBuilder:
    service_label: str = "service"
    window: str = "1m"

    def __post_init__(self) -> None:
        check_label_name(self.service_label)

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
        if len(series) == 1:
            return f"sum by ({self.by}) (rate({self.select(series[0])}[{self.window}]))"
        if any(s.matchers for s in series):
            raise ValueError("summing several counters supports no fixed matchers")
        names = "|".join(regex_literal(s.name) for s in series)
        selector = f"{{__name__=~{quote(names)},{self.service_label}!={quote('')}}}"
        return f"sum by ({self.by}) (rate({selector}[{self.window}]))"

    def traffic(self, preset: Preset) -> str | None:
        parts = [tag(self.rate_sum(preset.requests), "request_rate")]
        if preset.errors or preset.successes:
            parts.append(tag(self.error_rate(preset), "error_rate"))
        return join(parts)

    def error_rate(self, preset: Preset) -> str:
        requests = self.rate_sum(preset.requests)
        if preset.successes is not None:
            return f"clamp_min({requests} - {self.rate_sum((preset.successes,))}, 0)"
        # No failure series yet but requests flowing means zero failures, not missing data.
        return f"({self.rate_sum(preset.errors)}) or ({requests} * 0)"

    def latency(self, preset: Preset, slo_le: Sequence[str]) -> str | None:
        parts: list[str] = []
        if preset.latency is not None:
            hist, ms = preset.latency, 1000.0 * preset.latency.seconds_per_unit
            rates = f"sum by ({self.by}, le) (rate({self.select(Series(hist.bucket))}[{self.window}]))"
            parts += [tag(f"histogram_quantile({q}, {rates}) * {ms:g}", name) for name, q in QUANTILES]
            if slo_le:
                le = f"le=~{quote('|'.join(regex_literal(v) for v in slo_le))}"
                parts.append(
                    tag(
                        f"sum by ({self.by}, le) (rate({self.select(Series(hist.bucket), le)}[{self.window}]))",
                        SLO_BUCKET,
                    )
                )
        elif preset.latency_summary is not None:
            ms = 1000.0 * preset.summary_seconds_per_unit
            for name, q in QUANTILES:
                summary = self.select(preset.latency_summary, f"quantile={quote(str(q))}")
                parts.append(tag(f"max by ({self.by}) ({summary}) * {ms:g}", name))
        return join(parts)

    def layout(self, preset: Preset) -> str | None:
        """The histogram's bucket bounds, to pick the buckets around each SLO threshold."""
        if preset.latency is None:
            return None
        return f"count by (le) ({self.select(Series(preset.latency.bucket))})"

    def load(self, preset: Preset) -> str | None:
        parts: list[str] = []
        if preset.queue is not None:
            parts.append(tag(f"sum by ({self.by}) ({self.select(preset.queue)})", "queue_depth"))
        if preset.running is not None:
            parts.append(tag(f"sum by ({self.by}) ({self.select(preset.running)})", "running_requests"))
        if preset.cache_hits is not None:
            hits = self.rate_sum((preset.cache_hits,))
            if preset.cache_lookups is not None:
                ratio = f"{hits} / {self.rate_sum((preset.cache_lookups,))}"
            elif preset.cache_misses is not None:
                ratio = f"{hits} / ({hits} + {self.rate_sum((preset.cache_misses,))})"
            else:
                ratio = ""
            if ratio:
                parts.append(tag(ratio, "cache_hit_ratio"))
        return join(parts)

    def gpu(self, source: str) -> str | None:
        if source == "dcgm":
            util = f"({self._dcgm_pods(DCGM_GPU_UTIL)} / 100)"
            mem = f"({self._dcgm_pods(f'{DCGM_FB_USED} / ({DCGM_FB_USED} + {DCGM_FB_FREE})')})"
            util, mem = self._dcgm_service(util), self._dcgm_service(mem)
        elif source == "agent":
            util = self._agent(f'{AGENT_GPU_UTIL}{{service!=""}}')
            mem = self._agent(f'{AGENT_MEM_USED}{{service!=""}} / {AGENT_MEM_TOTAL}{{service!=""}}')
        else:
            return None
        return join(
            [
                tag(f"avg by ({self.by}) ({util})", "gpu_utilization_mean"),
                tag(f"max by ({self.by}) ({util})", "gpu_utilization_max"),
                tag(f"avg by ({self.by}) ({mem})", "gpu_memory_used_mean"),
                tag(f"max by ({self.by}) ({mem})", "gpu_memory_used_max"),
            ]
        )

    @staticmethod
    def _dcgm_pods(expr: str) -> str:
        """DCGM series with the workload's namespace/pod, whichever label spelling they carry."""
        inner = f'label_replace({expr}, "namespace", "$1", "exported_namespace", "(.+)")'
        return f'label_replace({inner}, "pod", "$1", "exported_pod", "(.+)")'

    def _dcgm_service(self, expr: str) -> str:
        """Join DCGM's pods to services through kube-state-metrics' ``kube_pod_labels``."""
        pods = f'max by (namespace, pod, {POD_SERVICE_LABEL}) (kube_pod_labels{{{POD_SERVICE_LABEL}!=""}})'
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
