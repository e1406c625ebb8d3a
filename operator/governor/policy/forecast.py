"""Short-horizon forecast of the effective arrival rate (Holt's linear trend).

A new replica helps only after it has started, so the replica count must be right for the
load ``startup_seconds`` from now, not the load now. Holt's method keeps a smoothed level
and a smoothed slope; both live in ``PolicyState`` so a restarted operator keeps them.
Samples arrive at irregular times, so the slope is per second and the prediction step uses
the real gap between samples. A sample no newer than the last one used changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Holt:
    """Smoothed level (requests/s), slope (requests/s per second) and the sample time they describe."""

    level: float | None = None
    trend: float = 0.0
    at: float | None = None

    def update(self, value: float, at: float, alpha: float, beta: float) -> Holt:
        if self.level is None or self.at is None:
            return Holt(level=value, trend=0.0, at=at)
        gap = at - self.at
        if gap <= 0.0:
            return self
        predicted = self.level + self.trend * gap
        level = alpha * value + (1.0 - alpha) * predicted
        slope = (level - self.level) / gap
        trend = beta * slope + (1.0 - beta) * self.trend
        return Holt(level=max(level, 0.0), trend=trend, at=at)

    def predict(self, horizon: float, current: float, max_growth: float) -> float:
        """Rate expected ``horizon`` seconds after the last sample, never below 0 or above ``max_growth``×."""
        if self.level is None:
            return current
        value = self.level + self.trend * max(horizon, 0.0)
        ceiling = max_growth * max(current, self.level)
        return min(max(value, 0.0), ceiling)
