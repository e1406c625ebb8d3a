"""What the metrics layer saw of one service at one moment.

Each signal is a ``Sample`` (value plus the time it was measured) or ``None`` when it is
missing. Missing and stale are explicit: a consumer asks ``fresh(name, max_age, now)``
and gets ``None`` rather than a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Sample:
    value: float
    at: float  # unix seconds when the value was measured (end of its rate window)

    def age(self, now: float) -> float:
        return max(0.0, now - self.at)


@dataclass(frozen=True)
class Observation:
    """Per-service signals; every field but ``at``/``source`` is ``Sample | None``."""

    at: float  # when the observation was assembled
    source: str = "none"  # "prometheus" | "scrape" | "sim" | "none"
    request_rate: Sample | None = None  # requests/s
    error_rate: Sample | None = None  # failed requests/s
    latency_p50_ms: Sample | None = None
    latency_p95_ms: Sample | None = None
    latency_p99_ms: Sample | None = None
    slo_attainment: Sample | None = None  # share of requests within the SLO latency threshold
    queue_depth: Sample | None = None  # requests waiting, summed over replicas
    running_requests: Sample | None = None  # requests being served, summed over replicas
    cache_hit_ratio: Sample | None = None  # 0..1
    gpu_utilization_mean: Sample | None = None  # 0..1
    gpu_utilization_max: Sample | None = None  # 0..1
    gpu_memory_used_mean: Sample | None = None  # 0..1 of total
    gpu_memory_used_max: Sample | None = None  # 0..1 of total
    ready_replicas: Sample | None = None
    # LLM-native signals (token-serving model servers: vLLM, SGLang, TGI, TensorRT-LLM)
    ttft_ms: Sample | None = None  # time to first token at spec.slo.ttft.quantile
    itl_ms: Sample | None = None  # inter-token latency (TPOT) at spec.slo.itl.quantile
    ttft_attainment: Sample | None = None  # share of requests whose TTFT is within spec.slo.ttft.ms
    itl_attainment: Sample | None = None  # share of requests whose ITL is within spec.slo.itl.ms
    goodput_attainment: Sample | None = None  # share meeting every declared objective (Prometheus: a lower bound)
    queue_wait_ms: Sample | None = None  # mean time a request waits before its prefill starts
    prompt_tokens_rate: Sample | None = None  # prompt (prefill) tokens/s, cache hits included
    generation_tokens_rate: Sample | None = None  # generated (decode) tokens/s
    prefix_cache_hit_ratio: Sample | None = None  # 0..1, prompt tokens served from the prefix cache
    kv_cache_usage_mean: Sample | None = None  # 0..1 of the KV-cache blocks in use, mean over replicas
    kv_cache_usage_max: Sample | None = None  # 0..1, the fullest replica

    def fresh(self, name: str, max_age: float, now: float) -> float | None:
        """The signal's value if present and at most ``max_age`` seconds old, else ``None``."""
        sample = getattr(self, name)
        if not isinstance(sample, Sample) or sample.age(now) > max_age:
            return None
        return sample.value

    @property
    def available(self) -> bool:
        """True when at least the request rate or a latency quantile is present."""
        return self.request_rate is not None or self.latency_p99_ms is not None

    def missing(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if f.name not in ("at", "source") and getattr(self, f.name) is None)
