"""What a monitoring stack would show of the simulated fleet: lagged, windowed metrics.

The truth is recorded every second; policies never read it directly (the oracle excepted).
Prometheus scrapes every ``scrape_s`` seconds and the query takes a ``rate_window_s`` window
(``rate(x[1m])``, ``histogram_quantile(0.99, rate(bucket[1m]))``), so what a policy sees at
time ``t`` describes the window ending at the last scrape: between ``0`` and ``scrape_s``
seconds old, and averaged over the minute before that. Gauges (queue, running requests,
GPU utilisation, ready replicas) are the values at the scrape, GPU utilisation averaged
over the scrape interval as DCGM does over its own sampling period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from governor.model.observation import Observation, Sample
from governor.sim.queueing import BIN_S, DROPPED_BIN, N_BINS, quantile_from_histogram


@dataclass(frozen=True)
class TelemetryConfig:
    scrape_s: int = 15
    rate_window_s: int = 60
    slo_latency_s: float = 8.0


class Telemetry:
    """Per-second truth plus the lagged observation built at each scrape."""

    def __init__(self, duration_s: int, config: TelemetryConfig) -> None:
        self.config = config
        self.arrivals = np.zeros(duration_s)
        self.served = np.zeros(duration_s)
        self.dropped = np.zeros(duration_s)
        self.queue = np.zeros(duration_s)
        self.running = np.zeros(duration_s)
        self.utilization = np.zeros(duration_s)
        self.ready = np.zeros(duration_s)
        ring = config.rate_window_s + config.scrape_s + 1
        self._hist_ring = np.zeros((ring, N_BINS))
        self._slo_bin = int(config.slo_latency_s / BIN_S)
        self.latest = Observation(at=0.0, source="sim")
        self.pods_with_metrics = 0

    def hist_row(self, t: int) -> np.ndarray:
        """The latency histogram row for second ``t`` (zeroed, to be filled by the queue)."""
        row: np.ndarray = self._hist_ring[t % self._hist_ring.shape[0]]
        row[:] = 0.0
        return row

    def record(
        self,
        t: int,
        arrivals: float,
        served: float,
        dropped: float,
        queue: float,
        running: float,
        slots: float,
        ready: int,
    ) -> None:
        self.arrivals[t] = arrivals
        self.served[t] = served
        self.dropped[t] = dropped
        self.queue[t] = queue
        self.running[t] = running
        self.utilization[t] = min(1.0, running / slots) if slots > 0 else 0.0
        self.ready[t] = ready
        self._hist_ring[t % self._hist_ring.shape[0], DROPPED_BIN] += dropped
        if (t + 1) % self.config.scrape_s == 0:
            self._scrape(t)

    def _scrape(self, t: int) -> None:
        at = float(t + 1)
        window = min(self.config.rate_window_s, t + 1)
        lo = t + 1 - window
        ring = self._hist_ring.shape[0]
        rows = [(s % ring) for s in range(lo, t + 1)]
        hist = self._hist_ring[rows].sum(axis=0)
        served_hist = hist.copy()
        served_hist[DROPPED_BIN] = 0.0
        total = float(hist.sum())
        util = float(self.utilization[max(0, t + 1 - self.config.scrape_s) : t + 1].mean())

        def sample(value: float | None) -> Sample | None:
            return None if value is None else Sample(float(value), at)

        def quantile_ms(q: float) -> Sample | None:
            value = quantile_from_histogram(served_hist, q)
            return sample(None if value is None else value * 1000.0)

        self.latest = Observation(
            at=at,
            source="sim",
            request_rate=sample(self.arrivals[lo : t + 1].sum() / window),
            error_rate=sample(self.dropped[lo : t + 1].sum() / window),
            latency_p50_ms=quantile_ms(0.50),
            latency_p95_ms=quantile_ms(0.95),
            latency_p99_ms=quantile_ms(0.99),
            slo_attainment=sample(float(hist[: self._slo_bin].sum()) / total if total > 0 else None),
            queue_depth=sample(self.queue[t]),
            running_requests=sample(self.running[t]),
            gpu_utilization_mean=sample(util),
            gpu_utilization_max=sample(util),
            ready_replicas=sample(self.ready[t]),
        )
        self.pods_with_metrics = int(self.ready[t])
