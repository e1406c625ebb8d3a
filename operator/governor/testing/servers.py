"""Simulated model servers that export each preset's real metric names over HTTP.

A ``SimulatedModelServer`` plays one pod of a vLLM, Triton, TGI or generic server: its
counters grow with time at the configured request rate, and its latency histogram follows a
piecewise-uniform distribution whose quantiles are known exactly — so tests compare what
Prometheus or the scrape source computed with the ground truth, and the demo drives the
load (``set_load``) while Governor scales.

The vLLM server also streams tokens: its time to first token, inter-token latency and queue wait
follow their own distributions, its token counters grow with the configured tokens per request,
and it reports KV-cache usage — under the names vLLM exports (``itl_spelling`` picks the newer
``inter_token_latency`` or the older ``time_per_output_token`` name of the ITL histogram).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from aiohttp import web

VLLM_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0)
TGI_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
GENERIC_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 1.5, 2.5, 5.0, 10.0)
TRITON_QUANTILES = (0.5, 0.9, 0.95, 0.99)
VLLM_TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
VLLM_ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
VLLM_QUEUE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ITL_NAMES = {"new": "vllm:inter_token_latency_seconds", "old": "vllm:time_per_output_token_seconds"}


@dataclass(frozen=True)
class LatencyDistribution:
    """Request latency as uniform segments ``(low, high, share)`` in seconds; shares sum to 1."""

    segments: tuple[tuple[float, float, float], ...] = (
        (0.3, 0.5, 0.5),
        (0.5, 0.8, 0.4),
        (0.8, 1.0, 0.08),
        (1.0, 1.5, 0.02),
    )

    def cdf(self, x: float) -> float:
        total = 0.0
        for low, high, share in self.segments:
            if x >= high:
                total += share
            elif x > low:
                total += share * (x - low) / (high - low)
        return min(1.0, total)

    def quantile(self, q: float) -> float:
        below = 0.0
        for low, high, share in self.segments:
            if below + share >= q:
                return low + (high - low) * (q - below) / share if share else low
            below += share
        return self.segments[-1][1]

    def mean(self) -> float:
        return sum(share * (low + high) / 2 for low, high, share in self.segments)

    def scaled(self, factor: float) -> LatencyDistribution:
        return LatencyDistribution(tuple((lo * factor, hi * factor, s) for lo, hi, s in self.segments))


@dataclass(frozen=True)
class ServedLoad:
    rps: float = 5.0
    latency: LatencyDistribution = field(default_factory=LatencyDistribution)
    error_ratio: float = 0.02
    cache_hit_ratio: float = 0.6
    queue: float = 3.0
    running: float = 8.0
    # token streaming (vLLM): per-request TTFT and queue wait, per-token gaps, tokens per request
    ttft: LatencyDistribution = field(
        default_factory=lambda: LatencyDistribution(((0.05, 0.1, 0.6), (0.1, 0.25, 0.3), (0.25, 0.5, 0.1)))
    )
    itl: LatencyDistribution = field(
        default_factory=lambda: LatencyDistribution(((0.01, 0.025, 0.5), (0.025, 0.05, 0.4), (0.05, 0.1, 0.1)))
    )
    queue_wait: LatencyDistribution = field(default_factory=lambda: LatencyDistribution(((0.0, 0.05, 1.0),)))
    prompt_tokens: float = 512.0  # per request
    generation_tokens: float = 128.0  # per request
    kv_cache_usage: float = 0.4


@dataclass
class _Totals:
    requests: float = 0.0
    errors: float = 0.0
    latency_sum: float = 0.0
    cache_lookups: float = 0.0
    cache_hits: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)
    # token streaming: histogram (bucket counts, sum, count) per signal, token counters
    streams: dict[str, _Stream] = field(default_factory=dict)
    prompt_tokens: float = 0.0
    generation_tokens: float = 0.0


@dataclass
class _Stream:
    buckets: dict[float, float] = field(default_factory=dict)
    total: float = 0.0  # the histogram's _sum
    count: float = 0.0

    def observe(self, n: float, dist: LatencyDistribution, bounds: tuple[float, ...]) -> None:
        """``n`` observations spread as ``dist`` (fractional counts: the expected value of the counters)."""
        for le in bounds:
            self.buckets[le] = self.buckets.get(le, 0.0) + n * dist.cdf(le)
        self.total += n * dist.mean()
        self.count += n


class SimulatedModelServer:
    """One simulated pod; ``render()`` is its ``/metrics`` page at the current time."""

    def __init__(
        self,
        preset: str,
        load: ServedLoad | None = None,
        *,
        model: str = "demo",
        clock: Callable[[], float] = time.monotonic,
        itl_spelling: str = "new",
    ) -> None:
        if preset not in RENDERERS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(RENDERERS)}")
        self.preset = preset
        self.model = model
        self.load = load or ServedLoad()
        self.clock = clock
        self.itl_name = ITL_NAMES[itl_spelling]
        self._since = clock()
        self._totals = _Totals()

    def set_load(self, load: ServedLoad) -> None:
        """Switch to a new load from now on; totals so far are kept (counters never go back)."""
        self._advance()
        self.load = load

    def update(self, **changes: object) -> None:
        self.set_load(replace(self.load, **changes))  # type: ignore[arg-type]

    def _advance(self) -> None:
        now = self.clock()
        elapsed, self._since = max(0.0, now - self._since), now
        t, load = self._totals, self.load
        served = load.rps * elapsed
        t.requests += served
        t.errors += served * load.error_ratio
        t.latency_sum += served * load.latency.mean()
        lookups = served * 100.0  # prefix-cache lookups count tokens, about 100 a request
        t.cache_lookups += lookups
        t.cache_hits += lookups * load.cache_hit_ratio
        for le in BUCKETS[self.preset]:
            t.buckets[le] = t.buckets.get(le, 0.0) + served * load.latency.cdf(le)
        t.prompt_tokens += served * load.prompt_tokens
        t.generation_tokens += served * load.generation_tokens
        gaps = served * max(load.generation_tokens - 1.0, 0.0)  # one gap between each pair of tokens
        t.streams.setdefault("ttft", _Stream()).observe(served, load.ttft, VLLM_TTFT_BUCKETS)
        t.streams.setdefault("itl", _Stream()).observe(gaps, load.itl, VLLM_ITL_BUCKETS)
        t.streams.setdefault("queue", _Stream()).observe(served, load.queue_wait, VLLM_QUEUE_BUCKETS)

    def render(self) -> str:
        self._advance()
        return RENDERERS[self.preset](self)

    def app(self) -> web.Application:
        async def metrics(_: web.Request) -> web.Response:
            return web.Response(text=self.render(), content_type="text/plain", charset="utf-8")

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        return app


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""


def _line(name: str, value: float, **labels: str) -> str:
    return f"{name}{_labels(**labels)} {value!r}"


def _family(name: str, kind: str, *lines: str) -> list[str]:
    return [f"# HELP {name} Simulated.", f"# TYPE {name} {kind}", *lines]


def _histogram(name: str, bounds: tuple[float, ...], t: _Totals, scale: float = 1.0, **labels: str) -> list[str]:
    lines = [_line(f"{name}_bucket", t.buckets[le], le=f"{le * scale:g}", **labels) for le in bounds]
    lines.append(_line(f"{name}_bucket", t.requests, le="+Inf", **labels))
    lines.append(_line(f"{name}_sum", t.latency_sum * scale, **labels))
    lines.append(_line(f"{name}_count", t.requests, **labels))
    return _family(name, "histogram", *lines)


def _stream(name: str, bounds: tuple[float, ...], stream: _Stream, **labels: str) -> list[str]:
    lines = [_line(f"{name}_bucket", stream.buckets.get(le, 0.0), le=f"{le:g}", **labels) for le in bounds]
    lines.append(_line(f"{name}_bucket", stream.count, le="+Inf", **labels))
    lines.append(_line(f"{name}_sum", stream.total, **labels))
    lines.append(_line(f"{name}_count", stream.count, **labels))
    return _family(name, "histogram", *lines)


def _vllm_tokens(s: SimulatedModelServer) -> list[str]:
    t, m = s._totals, s.model
    out = _stream("vllm:time_to_first_token_seconds", VLLM_TTFT_BUCKETS, t.streams["ttft"], model_name=m)
    out += _stream(s.itl_name, VLLM_ITL_BUCKETS, t.streams["itl"], model_name=m)
    out += _stream("vllm:request_queue_time_seconds", VLLM_QUEUE_BUCKETS, t.streams["queue"], model_name=m)
    out += _family(
        "vllm:prompt_tokens_total", "counter", _line("vllm:prompt_tokens_total", t.prompt_tokens, model_name=m)
    )
    out += _family(
        "vllm:generation_tokens_total",
        "counter",
        _line("vllm:generation_tokens_total", t.generation_tokens, model_name=m),
    )
    out += _family(
        "vllm:kv_cache_usage_perc", "gauge", _line("vllm:kv_cache_usage_perc", s.load.kv_cache_usage, model_name=m)
    )
    return out


def render_vllm(s: SimulatedModelServer) -> str:
    t, m = s._totals, s.model
    ok = t.requests - t.errors
    out = _family(
        "vllm:request_success_total",
        "counter",
        _line("vllm:request_success_total", ok, finished_reason="stop", model_name=m),
        _line("vllm:request_success_total", t.errors, finished_reason="abort", model_name=m),
    )
    out += _histogram("vllm:e2e_request_latency_seconds", VLLM_BUCKETS, t, model_name=m)
    out += _family("vllm:num_requests_waiting", "gauge", _line("vllm:num_requests_waiting", s.load.queue, model_name=m))
    out += _family(
        "vllm:num_requests_running", "gauge", _line("vllm:num_requests_running", s.load.running, model_name=m)
    )
    out += _family(
        "vllm:prefix_cache_queries_total",
        "counter",
        _line("vllm:prefix_cache_queries_total", t.cache_lookups, model_name=m),
    )
    out += _family(
        "vllm:prefix_cache_hits_total", "counter", _line("vllm:prefix_cache_hits_total", t.cache_hits, model_name=m)
    )
    out += _vllm_tokens(s)
    return "\n".join(out) + "\n"


def render_triton(s: SimulatedModelServer) -> str:
    t, labels = s._totals, {"model": s.model, "version": "1"}
    us = 1e6
    summary = [
        _line("nv_inference_request_summary_us", s.load.latency.quantile(q) * us, quantile=str(q), **labels)
        for q in TRITON_QUANTILES
    ]
    summary += [
        _line("nv_inference_request_summary_us_sum", t.latency_sum * us, **labels),
        _line("nv_inference_request_summary_us_count", t.requests, **labels),
    ]
    hits = t.requests * s.load.cache_hit_ratio
    out = _family(
        "nv_inference_request_success",
        "counter",
        _line("nv_inference_request_success", t.requests - t.errors, **labels),
    )
    out += _family(
        "nv_inference_request_failure",
        "counter",
        _line("nv_inference_request_failure", t.errors, reason="BACKEND", **labels),
    )
    out += _family("nv_inference_count", "counter", _line("nv_inference_count", t.requests, **labels))
    out += _family(
        "nv_inference_request_duration_us",
        "counter",
        _line("nv_inference_request_duration_us", t.latency_sum * us, **labels),
    )
    out += _family(
        "nv_inference_queue_duration_us",
        "counter",
        _line("nv_inference_queue_duration_us", t.latency_sum * us * 0.1, **labels),
    )
    out += _family(
        "nv_inference_pending_request_count",
        "gauge",
        _line("nv_inference_pending_request_count", s.load.queue, **labels),
    )
    out += _family("nv_cache_num_hits_per_model", "counter", _line("nv_cache_num_hits_per_model", hits, **labels))
    out += _family(
        "nv_cache_num_misses_per_model", "counter", _line("nv_cache_num_misses_per_model", t.requests - hits, **labels)
    )
    out += _family("nv_inference_request_summary_us", "summary", *summary)
    return "\n".join(out) + "\n"


def render_tgi(s: SimulatedModelServer) -> str:
    t = s._totals
    out = _family("tgi_request_count", "counter", _line("tgi_request_count", t.requests))
    out += _family("tgi_request_success", "counter", _line("tgi_request_success", t.requests - t.errors))
    out += _histogram("tgi_request_duration", TGI_BUCKETS, t)
    out += _family("tgi_queue_size", "gauge", _line("tgi_queue_size", s.load.queue))
    out += _family("tgi_batch_current_size", "gauge", _line("tgi_batch_current_size", s.load.running))
    return "\n".join(out) + "\n"


def render_generic(s: SimulatedModelServer) -> str:
    t, m = s._totals, s.model
    out = _family("inference_requests_total", "counter", _line("inference_requests_total", t.requests, model=m))
    out += _family(
        "inference_request_errors_total", "counter", _line("inference_request_errors_total", t.errors, model=m)
    )
    out += _histogram("inference_request_duration_seconds", GENERIC_BUCKETS, t, model=m)
    out += _family("inference_queue_depth", "gauge", _line("inference_queue_depth", s.load.queue, model=m))
    out += _family("inference_requests_running", "gauge", _line("inference_requests_running", s.load.running, model=m))
    out += _family(
        "inference_cache_lookups_total", "counter", _line("inference_cache_lookups_total", t.requests, model=m)
    )
    out += _family(
        "inference_cache_hits_total",
        "counter",
        _line("inference_cache_hits_total", t.requests * s.load.cache_hit_ratio, model=m),
    )
    return "\n".join(out) + "\n"


RENDERERS: dict[str, Callable[[SimulatedModelServer], str]] = {
    "vllm": render_vllm,
    "triton": render_triton,
    "tgi": render_tgi,
    "generic": render_generic,
}
BUCKETS: dict[str, tuple[float, ...]] = {
    "vllm": VLLM_BUCKETS,
    "triton": (),
    "tgi": TGI_BUCKETS,
    "generic": GENERIC_BUCKETS,
}


class ServerHandle:
    """A running simulated server (aiohttp runner on ``host:port``)."""

    def __init__(self, server: SimulatedModelServer, runner: web.AppRunner, host: str, port: int) -> None:
        self.server, self.runner, self.host, self.port = server, runner, host, port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_server(server: SimulatedModelServer, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
    """Serve ``server`` on ``host:port`` (0 = any free port) until ``stop()``."""
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return ServerHandle(server, runner, host, int(bound))


__all__ = ["LatencyDistribution", "ServedLoad", "ServerHandle", "SimulatedModelServer", "start_server"]
