"""Burn-rate history: window scaling, burn arithmetic, gaps, and restore from status."""

from __future__ import annotations

import json

import pytest

from governor.alerting.budget import PAGE_WINDOWS, TICKET_WINDOWS, BudgetHistory, scaled
from tests.unit.alerting.factories import observation

T0 = 1_700_000_000.0


def feed(history: BudgetHistory, start: float, seconds: float, attainment: float, rate: float = 10.0) -> float:
    t = start
    while t < start + seconds:
        t += 10.0
        history.record(observation(t, rate=rate, attainment=attainment))
    return t


@pytest.mark.parametrize(
    ("period", "factor", "long_h", "short_min"),
    [
        (30.0, 14.4, 1.0, 5.0),
        (30.0, 6.0, 6.0, 30.0),
        (7.0, 14.4, 7 / 30, 5 * 7 / 30),
        (90.0, 6.0, 18.0, 90.0),
    ],
)
def test_page_windows_scale_with_the_slo_period(period: float, factor: float, long_h: float, short_min: float) -> None:
    window = next(w for w in scaled(PAGE_WINDOWS, period) if w.factor == factor)
    assert window.long_seconds == pytest.approx(long_h * 3600)
    assert window.short_seconds == pytest.approx(short_min * 60)


def test_ticket_windows_for_thirty_days_match_the_workbook() -> None:
    pairs = {(w.factor, w.long_seconds / 3600, w.short_seconds / 3600) for w in scaled(TICKET_WINDOWS, 30.0)}
    assert pairs == {(3.0, 24.0, 2.0), (1.0, 72.0, 6.0)}


@pytest.mark.parametrize("attainment", [1.0, 0.999, 0.99, 0.95])
def test_burn_rate_is_error_ratio_over_budget(attainment: float) -> None:
    history = BudgetHistory()
    now = feed(history, T0, 2 * 3600, attainment)
    for window in (300.0, 3600.0, 6 * 3600.0):
        burn = history.burn_rate(window, now, objective=0.999)
        assert burn == pytest.approx((1 - attainment) / 0.001, rel=1e-6, abs=1e-9)


def test_short_window_sees_a_recent_change_long_window_dilutes_it() -> None:
    history = BudgetHistory()
    now = feed(history, T0, 3600, 1.0)
    now = feed(history, now, 300, 0.98)
    short = history.burn_rate(300.0, now, 0.999)
    long = history.burn_rate(3600.0, now, 0.999)
    assert short is not None and long is not None
    assert short == pytest.approx(20.0, rel=0.25)
    assert long < short / 5


def test_no_traffic_means_no_burn_rate() -> None:
    history = BudgetHistory()
    now = feed(history, T0, 600, 0.5, rate=0.0)
    assert history.burn_rate(300.0, now, 0.999) is None


def test_a_sample_seen_twice_is_counted_once() -> None:
    once, twice = BudgetHistory(), BudgetHistory()
    for t in (T0, T0 + 10, T0 + 20):
        once.record(observation(t, attainment=0.9))
        twice.record(observation(t, attainment=0.9))
        twice.record(observation(t, attainment=0.9))
    assert once.to_status() == twice.to_status()


def test_a_gap_in_metrics_is_not_counted_as_traffic() -> None:
    history = BudgetHistory(max_step=60.0)
    history.record(observation(T0, rate=10.0))
    history.record(observation(T0 + 3600, rate=10.0))
    total = history.tiers[0].sums(7200.0, T0 + 3600)[0]
    assert total == pytest.approx(600.0)  # 60 s × 10 req/s, not an hour's worth


def test_missing_signals_are_ignored() -> None:
    history = BudgetHistory()
    assert not history.record(observation(T0, attainment=None))
    assert not history.record(observation(T0, rate=None))
    assert history.last_at is None


def test_restore_from_status_gives_the_same_burn_rates() -> None:
    history = BudgetHistory()
    now = feed(history, T0, 3 * 3600, 0.995)
    now = feed(history, now, 600, 0.9)
    status = json.loads(json.dumps(history.to_status()))
    restored = BudgetHistory.from_status(status, 30.0)
    for window in (300.0, 1800.0, 3600.0, 6 * 3600.0, 86400.0):
        assert restored.burn_rate(window, now, 0.999) == pytest.approx(history.burn_rate(window, now, 0.999), rel=1e-3)
    assert restored.last_at == history.last_at


def test_status_is_compact() -> None:
    history = BudgetHistory()
    feed(history, T0, 4 * 86400, 0.999, rate=50.0)
    assert len(json.dumps(history.to_status())) < 6000
    assert sum(len(t.buckets) for t in history.tiers) <= sum(t.size for t in history.tiers)


@pytest.mark.parametrize(
    "bad",
    [None, {}, {"version": 99}, {"version": 1, "periodDays": 7.0}, {"version": 1, "periodDays": 30.0, "tiers": "x"}],
)
def test_unreadable_or_foreign_status_starts_empty(bad: object) -> None:
    restored = BudgetHistory.from_status(bad, 30.0)  # type: ignore[arg-type]
    assert restored.last_at is None
    assert all(not t.buckets for t in restored.tiers)
