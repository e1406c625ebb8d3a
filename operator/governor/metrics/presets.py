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
)

SGLANG = Preset(
    name="sglang",
    requests=(Series("sglang:num_requests_total"),),
    errors=(Series("sglang:num_aborted_requests_total"),),
    latency=Histogram("sglang:e2e_request_latency_seconds"),
    queue=Series("sglang:num_queue_reqs"),
    running=Series("sglang:num_running_reqs"),
    model_label="model_name",
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
)

TGI = Preset(
    name="tgi",
    requests=(Series("tgi_request_count"),),
    successes=Series("tgi_request_success"),
    latency=Histogram("tgi_request_duration"),
    queue=Series("tgi_queue_size"),
    running=Series("tgi_batch_current_size"),
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
