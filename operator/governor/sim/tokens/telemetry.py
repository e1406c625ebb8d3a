"""What a monitoring stack shows of a token-mode fleet: vLLM-style metrics, scraped and windowed.

Per tick the engine writes what happened (arrivals, prompt and generated tokens, cache hits,
queue, running sequences, KV usage, busy GPU time, every decode step's length and the tokens
it produced) and per request the events (first token, finish). Every ``scrape_s`` seconds an
``Observation`` is built over the last ``rate_window_s`` seconds, as
``histogram_quantile(q, rate(..._bucket[1m]))`` and ``rate(...[1m])`` would give it:

* ``ttft_ms``: TTFT quantile (``spec.slo.ttft.quantile``, else 0.9) of the requests whose first
  token came in the window; ``ttft_attainment`` their share within ``spec.slo.ttft.ms``;
* ``itl_ms``: quantile (``spec.slo.itl.quantile``, else 0.9) of the per-request time per output
  token (TPOT: a request's mean decode step) over the requests finished in the window, as vLLM's
  ``vllm:request_time_per_output_token_seconds`` gives it; that is what the ITL objective
  judges. ``itl_attainment`` is the share of those requests within ``spec.slo.itl.ms``. (The
  per-token interval, ``vllm:inter_token_latency_seconds``, also counts the few steps that carry
  a prefill chunk and reads far higher at its P90; it is not simulated.)
* ``goodput_attainment``: share of requests finished in the window meeting every declared
  objective; ``slo_attainment`` and the latency quantiles: end-to-end request latency;
* ``queue_wait_ms``: mean wait before a request's prefill started, over those started in the window;
* ``prompt_tokens_rate`` / ``generation_tokens_rate`` / ``prefix_cache_hit_ratio``: per second
  and cached share of the prompt tokens whose prefill completed in the window;
* gauges at the scrape: ``queue_depth`` (waiting), ``running_requests`` (prefilling and
  decoding), ``kv_cache_usage_mean`` / ``_max`` over ready replicas (tokens held ÷ capacity),
  ``ready_replicas``; ``gpu_utilization_*``: busy share of the scrape interval (DCGM: a replica
  with any sequence is busy for the whole step).
"""

from __future__ import annotations

import bisect

import numpy as np

from governor.model.observation import Observation, Sample
from governor.model.spec import ServiceSpec


class TokenTelemetry:
    """Per-tick truth, per-request events and the lagged observation built at each scrape."""

    def __init__(self, ticks: int, tick_s: float, start_s: float, spec: ServiceSpec, scrape_s: int, window_s: int):
        self.tick_s = tick_s
        self.start_s = start_s
        self.spec = spec
        self.scrape_ticks = max(1, round(scrape_s / tick_s))
        self.window_ticks = max(1, round(window_s / tick_s))
        self.arrivals = np.zeros(ticks)
        self.dropped = np.zeros(ticks)
        self.queue = np.zeros(ticks)
        self.running = np.zeros(ticks)
        self.busy = np.zeros(ticks)  # mean busy share of the ready replicas
        self.kv_mean = np.zeros(ticks)
        self.kv_max = np.zeros(ticks)
        self.ready = np.zeros(ticks)
        self.prompt = np.zeros(ticks)
        self.cached = np.zeros(ticks)
        self.generated = np.zeros(ticks)
        self.wait_sum = np.zeros(ticks)
        self.wait_count = np.zeros(ticks)
        self.first: tuple[list[int], list[float]] = ([], [])  # (tick, ttft s)
        # Finished requests: tick, then latency s, tpot s and 1.0/0.0 for ttft ok, itl ok, good.
        self.finished_tick: list[int] = []
        self.finished: tuple[list[float], ...] = ([], [], [], [], [])
        self.latest = Observation(at=start_s, source="sim")
        self.pods_with_metrics = 0

    def first_token(self, tick: int, ttft_s: float) -> None:
        self.first[0].append(tick)
        self.first[1].append(ttft_s)

    def finish(self, tick: int, latency_s: float, tpot_s: float, ttft_ok: bool, itl_ok: bool, good: bool) -> None:
        self.finished_tick.append(tick)
        for column, value in zip(self.finished, (latency_s, tpot_s, ttft_ok, itl_ok, good), strict=True):
            column.append(float(value))

    def end_of_tick(self, tick: int) -> None:
        if (tick + 1) % self.scrape_ticks == 0:
            self._scrape(tick)

    def _scrape(self, tick: int) -> None:
        at = self.start_s + (tick + 1) * self.tick_s
        lo = max(0, tick + 1 - self.window_ticks)
        seconds = (tick + 1 - lo) * self.tick_s
        slo = self.spec.slo
        window = slice(lo, tick + 1)

        def sample(value: float | None) -> Sample | None:
            return None if value is None or not np.isfinite(value) else Sample(float(value), at)

        def share(flags: list[float]) -> float | None:
            return float(np.mean(flags)) if flags else None

        ttft = self._since(self.first[0], self.first[1], lo)
        fin = [self._since(self.finished_tick, column, lo) for column in self.finished]
        latency = np.array(fin[0])
        prompt = float(self.prompt[window].sum())
        waits = float(self.wait_count[window].sum())
        interval = slice(max(0, tick + 1 - self.scrape_ticks), tick + 1)
        busy = float(self.busy[interval].mean())
        ttft_q = slo.ttft.quantile if slo.ttft is not None else 0.9
        itl_q = slo.itl.quantile if slo.itl is not None else 0.9

        def latency_ms(q: float) -> float | None:
            return float(np.quantile(latency, q)) * 1000.0 if latency.size else None

        self.latest = Observation(
            at=at,
            source="sim",
            request_rate=sample(self.arrivals[window].sum() / seconds),
            error_rate=sample(self.dropped[window].sum() / seconds),
            latency_p50_ms=sample(latency_ms(0.5)),
            latency_p95_ms=sample(latency_ms(0.95)),
            latency_p99_ms=sample(latency_ms(0.99)),
            slo_attainment=sample(float(np.mean(latency <= slo.latency_ms / 1000.0)) if latency.size else None),
            queue_depth=sample(self.queue[tick]),
            running_requests=sample(self.running[tick]),
            gpu_utilization_mean=sample(busy),
            gpu_utilization_max=sample(busy),
            ready_replicas=sample(self.ready[tick]),
            ttft_ms=sample(float(np.quantile(ttft, ttft_q)) * 1000.0 if ttft else None),
            itl_ms=sample(float(np.quantile(fin[1], itl_q)) * 1000.0 if fin[1] else None),
            ttft_attainment=sample(self._within(ttft, slo.ttft.ms / 1000.0 if slo.ttft else None, fin[2])),
            itl_attainment=sample(share(fin[3])),
            goodput_attainment=sample(share(fin[4])),
            queue_wait_ms=sample(float(self.wait_sum[window].sum()) / waits * 1000.0 if waits else None),
            prompt_tokens_rate=sample(prompt / seconds),
            generation_tokens_rate=sample(float(self.generated[window].sum()) / seconds),
            prefix_cache_hit_ratio=sample(float(self.cached[window].sum()) / prompt if prompt > 0 else None),
            kv_cache_usage_mean=sample(self.kv_mean[tick]),
            kv_cache_usage_max=sample(self.kv_max[tick]),
        )
        self.pods_with_metrics = int(self.ready[tick])

    @staticmethod
    def _since(ticks: list[int], values: list[float], lo: int) -> list[float]:
        return values[bisect.bisect_left(ticks, lo) :]

    @staticmethod
    def _within(ttft: list[float], limit_s: float | None, finished_ok: list[float]) -> float | None:
        if limit_s is None:  # no TTFT objective: the finished requests' flags (all true)
            return float(np.mean(finished_ok)) if finished_ok else None
        return float(np.mean(np.array(ttft) <= limit_s)) if ttft else None
