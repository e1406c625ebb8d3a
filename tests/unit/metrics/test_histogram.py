"""Bucket arithmetic: quantiles like histogram_quantile, shares under a threshold with interpolation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governor.metrics.histogram import quantile, share_within
from governor.testing.servers import LatencyDistribution

INF = math.inf
DIST = LatencyDistribution()
BOUNDS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0)
BUCKETS = [(le, 1000 * DIST.cdf(le)) for le in BOUNDS] + [(INF, 1000.0)]


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
def test_quantile_is_exact_when_segments_align_with_buckets(q: float) -> None:
    assert quantile(q, BUCKETS) == pytest.approx(DIST.quantile(q))


@pytest.mark.parametrize("threshold", [0.3, 0.4, 0.75, 0.9, 1.2])
def test_share_interpolates_inside_the_bucket(threshold: float) -> None:
    assert share_within(threshold, BUCKETS) == pytest.approx(DIST.cdf(threshold))


def test_no_observations_is_missing_not_zero() -> None:
    empty = [(0.5, 0.0), (INF, 0.0)]
    assert quantile(0.99, empty) is None and share_within(0.5, empty) is None
    assert quantile(0.99, []) is None and share_within(1.0, [(1.0, 3.0)]) is None  # no +Inf bucket


def test_above_the_largest_bound() -> None:
    buckets = [(1.0, 50.0), (INF, 100.0)]
    assert quantile(0.99, buckets) == 1.0  # as Prometheus: the largest finite bound
    assert share_within(5.0, buckets) == 0.5  # a lower bound of the truth


@given(st.lists(st.floats(0, 1000), min_size=1, max_size=12), st.floats(0, 1))
def test_quantile_stays_within_bounds(counts: list[float], q: float) -> None:
    bounds = [0.1 * (i + 1) for i in range(len(counts))]
    cumulative = [sum(counts[: i + 1]) for i in range(len(counts))]
    buckets = [*zip(bounds, cumulative, strict=True), (INF, cumulative[-1])]
    value = quantile(q, buckets)
    if cumulative[-1] == 0:
        assert value is None
    else:
        assert value is not None and 0 <= value <= bounds[-1]
        share = share_within(bounds[len(bounds) // 2], buckets)
        assert share is not None and 0 <= share <= 1


def test_denormal_counts_keep_the_quantile_inside_its_bucket() -> None:
    # Found by hypothesis: 1e-308 observations once interpolated to 0.1000000000000001 > 0.1.
    buckets = [(0.1, 1.1125369292536007e-308), (INF, 1.1125369292536007e-308)]
    value = quantile(1.0, buckets)
    assert value is not None and 0 <= value <= 0.1
