"""One FIFO queue in front of the whole fleet, worked on in per-second cohorts.

A load balancer that sends each request to the least busy replica behaves, to first order,
like one shared queue in front of all replicas (M/M/c rather than c separate M/M/1 queues),
so the simulator keeps one FIFO of cohorts: ``waiting[a]`` is how many requests that arrived
in second ``a`` still wait. Each second the serving pods take up to their capacity (a fluid,
fractional amount) from the head; a request's latency is its whole-second wait plus the
service time of the precision that served it. Requests that waited longer than the client
timeout are dropped and count as SLO violations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BIN_S = 0.25  # latency histogram resolution
MAX_LATENCY_S = 90.0
N_BINS = int(MAX_LATENCY_S / BIN_S) + 1  # the last bin holds dropped / overflowing requests
DROPPED_BIN = N_BINS - 1


def latency_bin(latency_s: float) -> int:
    return min(int(latency_s / BIN_S), DROPPED_BIN - 1)


def quantile_from_histogram(hist: np.ndarray, q: float) -> float | None:
    """The ``q`` quantile of a latency histogram (linear inside a bin, like histogram_quantile)."""
    total = float(hist.sum())
    if total <= 0:
        return None
    cumulative = np.cumsum(hist)
    index = int(np.searchsorted(cumulative, q * total, side="left"))
    index = min(index, hist.size - 1)
    if index == DROPPED_BIN:
        return MAX_LATENCY_S
    before = float(cumulative[index - 1]) if index > 0 else 0.0
    inside = float(hist[index])
    fraction = (q * total - before) / inside if inside > 0 else 1.0
    return (index + fraction) * BIN_S


@dataclass
class StepOutcome:
    served: float
    dropped: float


class CohortQueue:
    """The FIFO of waiting cohorts, plus the running totals the conservation check reads."""

    def __init__(self, duration_s: int, timeout_s: float) -> None:
        self.waiting = np.zeros(duration_s, dtype=float)
        self.timeout_s = int(timeout_s)
        self.head = 0
        self.backlog = 0.0
        self.arrived = 0.0
        self.served = 0.0
        self.dropped = 0.0

    def step(
        self, t: int, arrivals: float, capacity: float, service_mix: list[tuple[float, float]], hist: np.ndarray
    ) -> StepOutcome:
        """Second ``t``: enqueue arrivals, drop timed-out cohorts, serve up to ``capacity`` requests.

        ``service_mix`` is ``[(share, service_time_s), ...]`` of the serving capacity; served
        requests are added to ``hist`` (a latency histogram row) at wait + service time.
        """
        self.waiting[t] = arrivals
        self.arrived += arrivals
        self.backlog += arrivals
        dropped = self._drop_expired(t)
        budget = capacity
        served = 0.0
        while budget > 1e-12 and self.head <= t:
            take = min(self.waiting[self.head], budget)
            if take > 0:
                wait = t - self.head
                for share, service_s in service_mix:
                    hist[latency_bin(wait + service_s)] += take * share
                self.waiting[self.head] -= take
                budget -= take
                served += take
            if self.waiting[self.head] <= 1e-12:
                self.waiting[self.head] = 0.0
                self.head += 1
        self.backlog = max(0.0, self.backlog - served)
        self.served += served
        return StepOutcome(served, dropped)

    def _drop_expired(self, t: int) -> float:
        oldest_allowed = t - self.timeout_s
        if self.head >= oldest_allowed:
            return 0.0
        dropped = float(self.waiting[self.head : oldest_allowed].sum())
        self.waiting[self.head : oldest_allowed] = 0.0
        self.head = oldest_allowed
        self.backlog = max(0.0, self.backlog - dropped)
        self.dropped += dropped
        return dropped
