"""Pure pacing arithmetic for delivery: exponential backoff with jitter, and a token bucket.

Kept apart from the async queue so that both are tested as plain tables, with the random
draw and the clock passed in.
"""

from __future__ import annotations


def backoff_delay(attempt: int, base: float, cap: float, draw: float) -> float:
    """Delay before retry number ``attempt`` (1, 2, …): "equal jitter" on ``base·2^(attempt-1)``.

    Half the exponential step is fixed, half is ``draw`` (uniform in [0, 1)) times the other
    half, so receivers recovering from an outage are not hit by every client at once while
    the wait still grows with each failure. Never more than ``cap``.
    """
    step = min(cap, base * 2.0 ** max(attempt - 1, 0))
    return step / 2.0 + step / 2.0 * min(max(draw, 0.0), 1.0)


class TokenBucket:
    """At most ``burst`` requests at once, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(now - self.updated, 0.0)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = max(now, self.updated)

    def wait_time(self, now: float) -> float:
        """Seconds until a request may go (0 when one may go now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0
