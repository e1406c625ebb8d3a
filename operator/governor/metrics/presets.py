"""Which series each kind of model server really exports, as data both sources read.

One ``Preset`` per server family names its counters, gauges and latency histogram; the
Prometheus source turns it into PromQL and the direct scrape source reads the same names from
the pods' ``/metrics``. Names are the ones the servers export (vLLM, Triton, TGI) or the
documented ``inference_*`` convention for custom servers (docs/metrics.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from governor.model import MetricsPreset


@dataclass(frozen=True)
class Series:
    """One exported sample name, optionally narrowed by fixed label values."""

    name: str
    matchers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Histogram:
    """A Prometheus histogram: ``<base>_bucket{le=...}``, ``<base>_sum``, ``<base>_count``."""

    base: str
    seconds_per_unit: float = 1.0  # multiply an ``le`` bound by this to get seconds

    @property
    def bucket(self) -> str:
        return self.base + "_bucket"


@dataclass(frozen=True)
class TokenSeries:
    """The LLM-native series of a token-streaming server; each tuple holds one signal's spellings, newest first."""

    ttft: tuple[Histogram, ...] = ()  # time to first token, per request
    itl: tuple[Histogram, ...] = ()  # inter-token latency (time per output token)
    queue_time: tuple[Histogram, ...] = ()  # time waiting before prefill; its mean is rate(_sum) / rate(_count)
    prompt_tokens: tuple[Series, ...] = ()  # counter of prompt (prefill) tokens
    generation_tokens: tuple[Series, ...] = ()  # counter of generated tokens
    prefix_hits: tuple[Series, ...] = ()  # counter of prefix-cache hits (tokens)
    prefix_queries: tuple[Series, ...] = ()  # counter of prefix-cache lookups (tokens)
    prefix_hit_gauge: tuple[Series, ...] = ()  # a hit ratio the server computes itself (0..1)
    kv_usage: tuple[Series, ...] = ()  # gauge: share of KV-cache blocks in use (0..1)

    def histogram(self, name: str) -> tuple[Histogram, ...]:
        """The spellings of the ``ttft`` or ``itl`` histogram."""
        return self.ttft if name == "ttft" else self.itl


def _h(*names: str) -> tuple[Histogram, ...]:
    return tuple(Histogram(n) for n in names)


def _s(*names: str) -> tuple[Series, ...]:
    return tuple(Series(n) for n in names)


@dataclass(frozen=True)
class Preset:
    name: str
    requests: tuple[Series, ...]  # counters whose summed rate is the request rate
    errors: tuple[Series, ...] = ()  # counters of failed requests
    successes: Series | None = None  # when set, errors = requests - successes
    latency: Histogram | None = None  # end-to-end request latency
    latency_summary: Series | None = None  # a summary with a ``quantile`` label (per pod)
    summary_seconds_per_unit: float = 1.0
    queue: Series | None = None  # gauge: requests waiting
    running: Series | None = None  # gauge: requests being served
    cache_hits: Series | None = None  # counter
    cache_lookups: Series | None = None  # counter of all lookups (hits + misses)
    cache_misses: Series | None = None  # counter; lookups = hits + misses when set
    model_label: str | None = None  # label naming the served model (direct scrape filters on it)
    tokens: TokenSeries = TokenSeries()  # LLM-native series; empty for servers without them


# vLLM buckets (seconds) of vllm:e2e_request_latency_seconds, as the server defines them.
VLLM_E2E_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0)

VLLM = Preset(
    name="vllm",
    requests=(Series("vllm:request_success_total"),),
    # vLLM exports no failure counter; aborted requests are the closest signal.
    errors=(Series("vllm:request_success_total", (("finished_reason", "abort"),)),),
    latency=Histogram("vllm:e2e_request_latency_seconds"),
    queue=Series("vllm:num_requests_waiting"),
    running=Series("vllm:num_requests_running"),
    cache_hits=Series("vllm:prefix_cache_hits_total"),
    cache_lookups=Series("vllm:prefix_cache_queries_total"),
    model_label="model_name",
    # The ITL objective judges each request's time per output token (its mean decode step):
    # vllm:request_time_per_output_token_seconds where the server has it; older servers only
    # export the per-token interval (inter_token_latency, earlier time_per_output_token), whose
    # upper quantiles also count the few steps that carry a prompt chunk and so read high. The
    # prefix-cache counters and the KV usage gauge carried a gpu_ infix in older versions.
    tokens=TokenSeries(
        ttft=_h("vllm:time_to_first_token_seconds"),
        itl=_h(
            "vllm:request_time_per_output_token_seconds",
            "vllm:inter_token_latency_seconds",
            "vllm:time_per_output_token_seconds",
        ),
        queue_time=_h("vllm:request_queue_time_seconds"),
        prompt_tokens=_s("vllm:prompt_tokens_total"),
        generation_tokens=_s("vllm:generation_tokens_total"),
        prefix_hits=_s("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
        prefix_queries=_s("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
        kv_usage=_s("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
    ),
)

SGLANG = Preset(
    name="sglang",
    requests=(Series("sglang:num_requests_total"),),
    errors=(Series("sglang:num_aborted_requests_total"),),
    latency=Histogram("sglang:e2e_request_latency_seconds"),
    queue=Series("sglang:num_queue_reqs"),
    running=Series("sglang:num_running_reqs"),
    model_label="model_name",
    # SGLang computes its prefix-cache hit ratio itself (a gauge) and reports KV usage as token_usage.
    tokens=TokenSeries(
        ttft=_h("sglang:time_to_first_token_seconds"),
        itl=_h("sglang:inter_token_latency_seconds", "sglang:time_per_output_token_seconds"),
        queue_time=_h("sglang:queue_time_seconds"),
        prompt_tokens=_s("sglang:prompt_tokens_total"),
        generation_tokens=_s("sglang:generation_tokens_total"),
        prefix_hit_gauge=_s("sglang:cache_hit_rate"),
        kv_usage=_s("sglang:token_usage"),
    ),
)

TRITON = Preset(
    name="triton",
    requests=(Series("nv_inference_request_success"), Series("nv_inference_request_failure")),
    errors=(Series("nv_inference_request_failure"),),
    # Triton's latency counters are cumulative microseconds; quantiles come from the optional
    # summary (--metrics-config summary_latencies=true).
    latency_summary=Series("nv_inference_request_summary_us"),
    summary_seconds_per_unit=1e-6,
    queue=Series("nv_inference_pending_request_count"),
    cache_hits=Series("nv_cache_num_hits_per_model"),
    cache_misses=Series("nv_cache_num_misses_per_model"),
    model_label="model",
    # The TensorRT-LLM backend adds KV-cache block gauges and token-length histograms (whose _sum is
    # a token counter); it exports no TTFT, inter-token or queue-time histogram.
    tokens=TokenSeries(
        prompt_tokens=_s("nv_llm_input_token_len_sum"),
        generation_tokens=_s("nv_llm_output_token_len_sum"),
        kv_usage=(Series("nv_trt_llm_kv_cache_block_metrics", (("kv_cache_block_type", "fraction"),)),),
    ),
)

TGI = Preset(
    name="tgi",
    requests=(Series("tgi_request_count"),),
    successes=Series("tgi_request_success"),
    latency=Histogram("tgi_request_duration"),
    queue=Series("tgi_queue_size"),
    running=Series("tgi_batch_current_size"),
    # TGI has no TTFT histogram, KV-cache gauge or prefix cache. Its time per token is each request's
    # mean (one observation per request); its token counts are histograms whose _sum counts tokens.
    tokens=TokenSeries(
        itl=_h("tgi_request_mean_time_per_token_duration"),
        queue_time=_h("tgi_request_queue_duration"),
        prompt_tokens=_s("tgi_request_input_length_sum"),
        generation_tokens=_s("tgi_request_generated_tokens_sum"),
    ),
)

GENERIC = Preset(
    name="generic",
    requests=(Series("inference_requests_total"),),
    errors=(Series("inference_request_errors_total"),),
    latency=Histogram("inference_request_duration_seconds"),
    queue=Series("inference_queue_depth"),
    running=Series("inference_requests_running"),
    cache_hits=Series("inference_cache_hits_total"),
    cache_lookups=Series("inference_cache_lookups_total"),
    model_label="model",
    tokens=TokenSeries(
        ttft=_h("inference_time_to_first_token_seconds"),
        itl=_h("inference_inter_token_latency_seconds"),
        queue_time=_h("inference_queue_time_seconds"),
        prompt_tokens=_s("inference_prompt_tokens_total"),
        generation_tokens=_s("inference_generation_tokens_total"),
        kv_usage=_s("inference_kv_cache_usage_ratio"),
    ),
)

PRESETS: dict[MetricsPreset, Preset] = {
    MetricsPreset.VLLM: VLLM,
    MetricsPreset.SGLANG: SGLANG,
    MetricsPreset.TRITON: TRITON,
    MetricsPreset.TGI: TGI,
    MetricsPreset.GENERIC: GENERIC,
}


def preset_for(kind: MetricsPreset) -> Preset:
    return PRESETS[kind]


# GPU series. DCGM exporter: utilisation in percent, frame buffer in MiB, labelled with the
# workload's pod (``namespace``/``pod``, or ``exported_namespace``/``exported_pod`` when
# Prometheus renamed clashing labels). Governor's agent: ratios and bytes, already labelled
# with ``namespace``/``pod``/``service``.
DCGM_GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
DCGM_FB_USED = "DCGM_FI_DEV_FB_USED"
DCGM_FB_FREE = "DCGM_FI_DEV_FB_FREE"
AGENT_GPU_UTIL = "governor_gpu_utilization_ratio"
AGENT_MEM_USED = "governor_gpu_memory_used_bytes"
AGENT_MEM_TOTAL = "governor_gpu_memory_total_bytes"
AGENT_GPU_UP = "governor_gpu_available"
