"""Quantiles and SLO shares from cumulative histogram buckets, the way Prometheus computes them.

Both sources need the same arithmetic: the scrape source on bucket deltas it computed itself,
the Prometheus source on the bucket rates around each service's SLO threshold. Inside a
bucket, requests are assumed spread uniformly (linear interpolation), exactly as
``histogram_quantile`` does, so both sources agree on the same data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Buckets = Sequence[tuple[float, float]]  # (upper bound, cumulative count), ascending, last = +Inf


def _clean(buckets: Buckets) -> list[tuple[float, float]]:
    ordered = sorted((float(le), float(count)) for le, count in buckets)
    # Cumulative counts never decrease; repair the small inversions float sums can produce.
    out: list[tuple[float, float]] = []
    running = 0.0
    for le, count in ordered:
        running = max(running, count)
        out.append((le, running))
    return out


def quantile(q: float, buckets: Buckets) -> float | None:
    """The ``q``-quantile (0..1) of the observations, in the buckets' unit; ``None`` if empty."""
    bs = _clean(buckets)
    if not bs or not math.isinf(bs[-1][0]) or not 0 <= q <= 1:
        return None
    total = bs[-1][1]
    if total <= 0:
        return None
    rank = q * total
    previous_le, previous_count = 0.0, 0.0
    for index, (le, count) in enumerate(bs):
        if count >= rank:
            if math.isinf(le):
                # Above the largest finite bound: Prometheus answers that bound.
                return bs[index - 1][0] if index > 0 else None
            in_bucket = count - previous_count
            lower = previous_le if index > 0 or le > 0 else le
            if in_bucket <= 0:
                return le
            # Clamped: with tiny (denormal) counts rounding can push the fraction past 1, and an
            # interpolated quantile never leaves its bucket.
            fraction = min(1.0, max(0.0, (rank - previous_count) / in_bucket))
            return lower + (le - lower) * fraction
        previous_le, previous_count = le, count
    return None


def share_within(threshold: float, buckets: Buckets) -> float | None:
    """Share (0..1) of observations at or under ``threshold``; ``None`` if there were none.

    The count at ``threshold`` is the cumulative count of the largest bound at or under it,
    plus the linearly interpolated part of the next bucket. Above the largest finite bound
    the share is that bound's share (a lower bound of the truth).
    """
    bs = _clean(buckets)
    if not bs or not math.isinf(bs[-1][0]):
        return None
    total = bs[-1][1]
    if total <= 0:
        return None
    lower_le, lower_count = 0.0, 0.0
    for le, count in bs:
        if le <= threshold:
            lower_le, lower_count = le, count
            continue
        if math.isinf(le):
            return min(1.0, lower_count / total)
        within = lower_count + (count - lower_count) * (threshold - lower_le) / (le - lower_le)
        return min(1.0, max(0.0, within / total))
    return min(1.0, lower_count / total)
