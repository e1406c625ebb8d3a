"""The precision ladder: when it steps down, when it comes back, and what it never does."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governor.model.decision import ScaleDirection
from governor.model.spec import Precision, ServiceSpec, SwapMode
from governor.policy import PolicyConfig, PolicyState, decide
from tests.unit.policy.helpers import MU, VARIANTS, service, world


def _state(replicas: int, precision: Precision = Precision.BF16, **extra: object) -> PolicyState:
    base = PolicyState(replicas=replicas, precision=precision, capacity_ref=MU, service_time=4.0)
    return replace(base, **extra)  # type: ignore[arg-type]


def _latency_need(spec: ServiceSpec, rate: float, precision: Precision) -> int:
    """The latency signal at ``precision`` for the observation of a short bf16 fleet at maxReplicas.

    The observation (rate, queue, p99) is the one the step-down decisions below see; only the
    served precision differs, so the recommendation is the latency need of that rung.
    """
    top = spec.max_replicas
    state = _state(top, precision, last_swap_at=-10_000.0)
    decision, _ = decide(spec, world(spec, rate, top, Precision.BF16, 100.0), state, 100.0)
    return decision.recommendations["latency"]


def test_steps_down_one_rung_when_one_rung_carries_the_load() -> None:
    spec = service(max_replicas=20)
    assert _latency_need(spec, 100.0, Precision.BF16) > 20  # short at bf16
    assert _latency_need(spec, 100.0, Precision.FP8) <= 20  # the next rung carries it
    assert _latency_need(spec, 100.0, Precision.INT8) <= 20  # and so would the one below
    decision, state = decide(spec, world(spec, 100.0, 20, Precision.BF16, 100.0), _state(20), 100.0)
    assert decision.precision == Precision.FP8  # exactly one rung, though int8 would carry it too
    assert decision.swap
    assert "at 20/20 replicas; fp8 adds 60% capacity" in decision.reasons[0]
    assert state.target_precision == Precision.FP8
    assert state.swap_starts == (100.0,)


@pytest.mark.parametrize("swap_mode", [SwapMode.IN_PLACE, SwapMode.ROLLING])
def test_skips_only_to_the_first_rung_that_carries_the_load(swap_mode: SwapMode) -> None:
    variants = tuple(replace(v, swap_modes=(swap_mode,)) for v in VARIANTS)
    spec = service(max_replicas=20, floor=0.95, variants=variants)  # bf16, fp8, int8, int4 allowed
    cfg = PolicyConfig()
    fit = 20 * (cfg.rolling_fit_share if swap_mode is SwapMode.ROLLING else cfg.in_place_fit_share)
    ladder = (Precision.FP8, Precision.INT8, Precision.INT4)
    checked = 0  # decisions that skipped a rung
    for rate in (90.0, 100.0, 110.0, 120.0, 125.0, 140.0):
        needs = [_latency_need(spec, rate, p) for p in ladder]
        carrying = [p for p, n in zip(ladder, needs, strict=True) if n <= fit]
        expected = carrying[0] if carrying else ladder[-1]
        decision, _ = decide(spec, world(spec, rate, 20, Precision.BF16, 100.0), _state(20), 100.0)
        assert decision.precision == expected, (rate, needs)
        checked += expected is not Precision.FP8
    assert 2 <= checked < 6  # the table has single steps and skips


def test_skipping_never_crosses_the_quality_floor() -> None:
    spec = service(max_replicas=20, floor=0.98)  # int4 (0.96) is below the floor
    assert _latency_need(spec, 150.0, Precision.INT8) > 20  # even int8 is short
    decision, _ = decide(spec, world(spec, 150.0, 20, Precision.BF16, 100.0), _state(20), 100.0)
    assert decision.precision == Precision.INT8


def test_never_below_the_quality_floor() -> None:
    spec = service(max_replicas=20, floor=0.99)  # only bf16 and fp8 are allowed
    decision, _ = decide(spec, world(spec, 400.0, 20, Precision.FP8, 100.0), _state(20, Precision.FP8), 100.0)
    assert decision.precision == Precision.FP8
    assert "lowest precision allowed (quality floor 0.99)" in decision.reasons[0]


def test_served_precision_below_a_raised_floor_moves_back_up() -> None:
    spec = service(max_replicas=20, floor=0.99)
    decision, _ = decide(spec, world(spec, 10.0, 5, Precision.INT4, 100.0), _state(5, Precision.INT4), 100.0)
    assert decision.precision == Precision.FP8
    assert "outside the allowed precisions" in decision.reasons[0]


def test_swap_cap_per_hour() -> None:
    spec = service(max_replicas=20)
    state = _state(20, swap_starts=(3000.0, 3100.0, 3200.0, 3300.0), last_swap_at=3300.0)
    decision, _ = decide(spec, world(spec, 100.0, 20, Precision.BF16, 3600.0), state, 3600.0)
    assert decision.precision == Precision.BF16
    assert not decision.swap
    assert any("4 swaps in the last hour" in r for r in decision.reasons)
    later, _ = decide(spec, world(spec, 100.0, 20, Precision.BF16, 6700.0), state, 6700.0)
    assert later.precision == Precision.FP8  # the hour has passed: the one-rung step is taken


def test_no_scale_down_during_a_swap() -> None:
    spec = service(max_replicas=20)
    state = _state(12, Precision.FP8, swapping=True, target_precision=Precision.FP8, swap_starts=(0.0,))
    decision, _ = decide(spec, world(spec, 5.0, 12, Precision.FP8, 30.0), state, 30.0)
    assert decision.replicas == 12
    assert decision.direction is ScaleDirection.HOLD
    assert "no scale-down during a precision swap" in decision.reasons


def test_rolling_swap_below_max_waits_for_replicas() -> None:
    rolling = tuple(replace(v, swap_modes=(SwapMode.ROLLING,)) for v in VARIANTS)
    spec = service(max_replicas=40, variants=rolling)
    decision, _ = decide(spec, world(spec, 60.0, 8, Precision.BF16, 100.0), _state(8), 100.0)
    assert decision.precision == Precision.BF16  # a rolling swap is never faster than a new replica
    assert decision.replicas > 8


def test_rolling_swap_when_short_jumps_to_the_rung_that_carries_and_sizes_its_batch() -> None:
    rolling = tuple(replace(v, swap_modes=(SwapMode.ROLLING,)) for v in VARIANTS)
    spec = service(max_replicas=20, variants=rolling)
    decision, _ = decide(spec, world(spec, 130.0, 20, Precision.BF16, 100.0), _state(20), 100.0)
    # fp8 (×1.6) cannot carry it at 20 replicas: straight to int8, the lowest rung above the floor 0.98.
    assert decision.precision == Precision.INT8
    assert "fp8" not in decision.reasons[0]
    need = decision.swap_max_unavailable
    assert need is not None and 1 < need <= 20
    assert f"rolling {need} pods at once" in decision.reasons[0]
    # The batch is the smallest after which 20 pods carry the load: need×2 ≥ 20 + m.
    light, _ = decide(spec, world(spec, 100.0, 20, Precision.BF16, 100.0), _state(20), 100.0)
    assert light.swap_max_unavailable is None or light.swap_max_unavailable <= need


def test_rolling_batch_never_takes_more_than_half_the_fleet_out() -> None:
    rolling = tuple(replace(v, swap_modes=(SwapMode.ROLLING,)) for v in VARIANTS)
    spec = service(max_replicas=20, variants=rolling)
    for rate in (130.0, 200.0, 400.0, 1000.0):  # deeper and deeper overload at maxReplicas
        decision, _ = decide(spec, world(spec, rate, 20, Precision.BF16, 100.0), _state(20), 100.0)
        assert decision.swap, rate
        assert decision.swap_max_unavailable is None or decision.swap_max_unavailable <= 10, rate


def test_no_rolling_batch_when_max_replicas_carry_the_load() -> None:
    rolling = tuple(replace(v, swap_modes=(SwapMode.ROLLING,)) for v in VARIANTS)
    spec = service(max_replicas=20, variants=rolling)
    decision, _ = decide(spec, world(spec, 20.0, 10, Precision.BF16, 100.0), _state(10), 100.0)
    assert not decision.swap
    assert decision.swap_max_unavailable is None


def test_in_place_swap_relieves_a_deep_shortfall_below_max() -> None:
    spec = service(max_replicas=40)
    decision, _ = decide(spec, world(spec, 60.0, 8, Precision.BF16, 100.0), _state(8), 100.0)
    assert decision.precision == Precision.FP8
    assert "relieves in 20 s" in decision.reasons[0]


def test_fixed_mode_returns_to_preferred() -> None:
    spec = service(auto=False)
    decision, _ = decide(spec, world(spec, 10.0, 5, Precision.FP8, 10.0), _state(5, Precision.FP8), 10.0)
    assert decision.precision == Precision.BF16
    assert "precision fixed at bf16" in decision.reasons


def test_steps_up_only_after_dwell_and_sustained_headroom() -> None:
    spec = service(max_replicas=20)
    state = _state(6, Precision.FP8, last_swap_at=0.0, swap_starts=(0.0,))
    ups = []
    for now in range(10, 1500, 10):
        state = state.observed(replicas=state.replicas, precision=state.target_precision or state.precision)
        decision, state = decide(spec, world(spec, 12.0, state.replicas, state.precision, now), state, float(now))
        if decision.swap:
            ups.append((now, decision))
    assert len(ups) == 1
    at, decision = ups[0]
    assert decision.precision == Precision.BF16
    assert at >= spec.precision.min_dwell_seconds
    assert "headroom" in decision.reasons[0]


@settings(max_examples=10, deadline=None)
@given(st.lists(st.floats(0.0, 200.0), min_size=10, max_size=60))
def test_at_most_four_swaps_an_hour(rates: list[float]) -> None:
    spec = service(max_replicas=12)
    state = _state(6)
    starts: list[float] = []
    for i in range(360):  # one hour at 10 s
        now = float(i * 10)
        state = state.observed(replicas=state.replicas, precision=state.target_precision or state.precision)
        decision, state = decide(spec, world(spec, rates[i % len(rates)], state.replicas, state.precision, now),
                                 state, now)  # fmt: skip
        if decision.swap and (not starts or state.swap_starts[-1] != starts[-1]):
            starts.append(state.swap_starts[-1])
    assert len(starts) <= 4


def test_a_swap_nobody_runs_is_forgotten_after_the_grace_period() -> None:
    spec = service(max_replicas=40)
    decision, state = decide(spec, world(spec, 60.0, 8, Precision.BF16, 100.0), _state(8), 100.0)
    assert decision.swap and state.target_precision == decision.precision
    # Actuation never reports the swap as under way (refused, say): within the grace it is still wanted ...
    calm = world(spec, 20.0, 8, Precision.BF16, 110.0)
    _, soon = decide(spec, calm, state.observed(8, Precision.BF16, swapping=False), 110.0)
    assert soon.target_precision == decision.precision
    # ... past it the intent is dropped, and a calm fleet asks for no swap at all.
    later_at = 100.0 + PolicyConfig().swap_start_grace_seconds + 5.0
    later, after = decide(
        spec, world(spec, 20.0, 8, Precision.BF16, later_at), soon.observed(8, Precision.BF16), later_at
    )
    assert after.target_precision is None
    assert not later.swap
    assert not any("in progress" in r for r in later.reasons)
