"""Rolling good/bad request counts per service, the history that SLO burn-rate rules need.

Multi-window burn-rate alerts look back as far as 3 days (for a 30-day SLO period) and as
near as 5 minutes. Keeping every tick would cost ~26,000 samples per service, so counts
are folded into three tiers of time buckets: fine buckets for the short windows, coarse
ones for the long windows (about 170 buckets per service in all). The structure is pure
data: ``to_status()`` gives a small JSON-safe dict the controller persists in the CR
status, and ``from_status()`` restores it after an operator restart.

Each observation adds ``request_rate × Δt`` requests, of which ``(1 − slo_attainment)``
were bad (slower than the SLO latency). A TTFT or ITL objective keeps a history of its own over
its attainment signal (``ttft_attainment``, ``itl_attainment``), persisted beside the latency one.
``Δt`` is the time since the previous attainment
sample, capped so that a gap in the metrics never counts as observed traffic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governor.model import Observation

REFERENCE_PERIOD_DAYS = 30.0
STATUS_VERSION = 1
# (bucket width in seconds, buckets kept) for a 30-day period; scaled with the service's period.
TIERS: tuple[tuple[float, int], ...] = ((60.0, 62), (600.0, 38), (3600.0, 74))


@dataclass(frozen=True)
class BurnWindow:
    """One multi-window pair of the SRE workbook: alert when both windows burn faster than ``factor``."""

    name: str  # "page" or "ticket"
    factor: float
    long_seconds: float
    short_seconds: float


# The SRE workbook's recommended pairs, for a 30-day SLO period.
PAGE_WINDOWS = (BurnWindow("page", 14.4, 3600.0, 300.0), BurnWindow("page", 6.0, 6 * 3600.0, 1800.0))
TICKET_WINDOWS = (BurnWindow("ticket", 3.0, 86400.0, 7200.0), BurnWindow("ticket", 1.0, 3 * 86400.0, 6 * 3600.0))


def scaled(windows: tuple[BurnWindow, ...], period_days: float) -> tuple[BurnWindow, ...]:
    """The windows for a service whose SLO period is ``period_days`` (the workbook assumes 30)."""
    k = period_days / REFERENCE_PERIOD_DAYS
    return tuple(BurnWindow(w.name, w.factor, w.long_seconds * k, w.short_seconds * k) for w in windows)


class _Tier:
    """Buckets of one width, keyed by ``floor(t / width)``; only the newest ``size`` are kept."""

    def __init__(self, width: float, size: int, buckets: dict[int, list[float]] | None = None) -> None:
        self.width = width
        self.size = size
        self.buckets: dict[int, list[float]] = buckets or {}  # index → [total, bad]

    def add(self, at: float, total: float, bad: float) -> None:
        index = math.floor(at / self.width)
        bucket = self.buckets.get(index)
        if bucket is None:
            bucket = self.buckets[index] = [0.0, 0.0]
            oldest = index - self.size + 1
            for stale in [i for i in self.buckets if i < oldest]:
                del self.buckets[stale]
        bucket[0] += total
        bucket[1] += bad

    @property
    def span(self) -> float:
        return self.width * (self.size - 1)

    def sums(self, window: float, now: float) -> tuple[float, float]:
        """Requests and bad requests in ``[now - window, now]``, the edge bucket counted pro rata."""
        begin = now - window
        total = bad = 0.0
        for index, (t, b) in self.buckets.items():
            start = index * self.width
            end = min(start + self.width, now)
            if end <= begin or start > now:
                continue
            share = 1.0 if start >= begin else (end - begin) / max(end - start, 1e-9)
            total += t * share
            bad += b * share
        return total, bad


class BudgetHistory:
    """Good/bad request counts of one service over the last few days, at tiered resolution."""

    def __init__(
        self, period_days: float = REFERENCE_PERIOD_DAYS, max_step: float = 60.0, signal: str = "slo_attainment"
    ) -> None:
        self.period_days = period_days
        self.signal = signal  # the Observation field holding the share of good requests
        self.max_step = max_step
        k = period_days / REFERENCE_PERIOD_DAYS
        self.tiers = [_Tier(width * k, size) for width, size in TIERS]
        self.last_at: float | None = None

    def record(self, observation: Observation) -> bool:
        """Fold one observation in; False when it carries no new rate + attainment pair."""
        rate, attainment = observation.request_rate, getattr(observation, self.signal)
        if rate is None or attainment is None:
            return False
        at = attainment.at
        if self.last_at is not None and at <= self.last_at:
            return False  # the same sample seen again: never count traffic twice
        step = 0.0 if self.last_at is None else min(at - self.last_at, self.max_step)
        self.last_at = at
        total = max(rate.value, 0.0) * step
        bad = total * min(max(1.0 - attainment.value, 0.0), 1.0)
        if total > 0:
            for tier in self.tiers:
                tier.add(at, total, bad)
        return True

    def error_ratio(self, window: float, now: float) -> float | None:
        """Share of requests slower than the SLO over the window; None without traffic."""
        tier = next((t for t in self.tiers if t.span >= window), self.tiers[-1])
        total, bad = tier.sums(window, now)
        if total <= 0:
            return None
        return bad / total

    def burn_rate(self, window: float, now: float, objective: float) -> float | None:
        """How many times faster than sustainable the error budget is being spent."""
        ratio = self.error_ratio(window, now)
        if ratio is None:
            return None
        return ratio / max(1.0 - objective, 1e-9)

    def to_status(self) -> dict[str, Any]:
        """JSON-safe, compact: bucket counts rounded to milli-requests, empty buckets left out."""
        return {
            "version": STATUS_VERSION,
            "periodDays": self.period_days,
            "lastAt": self.last_at,
            "tiers": [
                [[i, round(t, 3), round(b, 3)] for i, (t, b) in sorted(tier.buckets.items()) if t > 0]
                for tier in self.tiers
            ],
        }

    @classmethod
    def from_status(
        cls, data: Mapping[str, Any] | None, period_days: float, signal: str = "slo_attainment"
    ) -> BudgetHistory:
        """Restore a history; anything unreadable or for another period starts empty instead."""
        history = cls(period_days, signal=signal)
        if not isinstance(data, Mapping) or data.get("version") != STATUS_VERSION:
            return history
        if data.get("periodDays") != period_days:
            return history
        tiers = data.get("tiers")
        if not isinstance(tiers, list) or len(tiers) != len(history.tiers):
            return history
        try:
            for tier, rows in zip(history.tiers, tiers, strict=True):
                tier.buckets = {int(i): [float(t), float(b)] for i, t, b in rows}
            last = data.get("lastAt")
            history.last_at = float(last) if last is not None else None
        except (TypeError, ValueError):
            return cls(period_days, signal=signal)
        return history
