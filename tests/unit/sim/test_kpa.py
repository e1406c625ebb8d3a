"""The KPA baseline against the cases of Knative's autoscaler_test.go (stable, panic, unpanic)."""

from __future__ import annotations

from governor.sim.kpa import KpaDecider, KpaSpec


def decider(target: float) -> KpaDecider:
    return KpaDecider(KpaSpec(target=target))


def test_stable_mode_increase_with_concurrency() -> None:
    kpa = decider(10)
    assert kpa.scale(0.0, stable_concurrency=50, panic_concurrency=10, ready_pods=1) == 5
    assert kpa.scale(0.0, stable_concurrency=100, panic_concurrency=10, ready_pods=1) == 10


def test_stable_mode_decrease() -> None:
    kpa = decider(10)
    assert kpa.scale(0.0, 100, 100, ready_pods=8) == 10
    assert kpa.scale(0.0, 50, 50, ready_pods=8) == 5
    assert not kpa.panicking


def test_scale_down_rate_bounds_a_drop_to_half_the_ready_pods() -> None:
    assert decider(10).scale(0.0, 10, 10, ready_pods=8) == 4


def test_panic_mode_tracks_exponential_growth() -> None:
    kpa = decider(1)
    assert kpa.scale(0.0, 6, 6, ready_pods=1) == 6
    assert kpa.panicking
    assert kpa.scale(1.0, 36, 36, ready_pods=6) == 36
    assert kpa.scale(2.0, 216, 216, ready_pods=36) == 216
    assert kpa.scale(2.0, 1296, 1296, ready_pods=216) == 1296
    assert kpa.scale(3.0, 1296, 1296, ready_pods=1296) == 1296


def test_unpanic_after_slow_increase() -> None:
    kpa = decider(1)
    assert kpa.scale(0.0, 11, 25, ready_pods=10) == 25
    assert kpa.panic_time == 0.0
    assert kpa.scale(30.0, 30, 41, ready_pods=40) == 41  # still panicking, panic time unchanged
    assert kpa.panic_time == 0.0
    assert kpa.scale(62.0, 50, 56, ready_pods=55) == 50  # a stable window after: back to stable
    assert not kpa.panicking


def test_extend_panic_window() -> None:
    kpa = decider(1)
    assert kpa.scale(0.0, 11, 25, ready_pods=10) == 25
    assert kpa.scale(30.0, 30, 80, ready_pods=40) == 80
    assert kpa.panic_time == 30.0


def test_no_scale_down_while_panicking() -> None:
    kpa = decider(10)
    assert kpa.scale(0.0, 50, 200, ready_pods=5) == 20
    assert kpa.scale(10.0, 50, 60, ready_pods=20) == 20  # panic pods fell to 6: kept at 20
