"""Properties of ``decide``: monotone in load, bounded, holds on missing data, settles, explains itself."""

from __future__ import annotations

import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from governor.model.decision import ScaleDirection
from governor.model.observation import Observation, Sample
from governor.model.spec import Precision
from governor.policy import PolicyState, decide, decide_many
from tests.unit.policy.helpers import MU, service, world

FAST = settings(max_examples=40, deadline=None)


def _learned(replicas: int, precision: Precision = Precision.BF16) -> PolicyState:
    """A state whose capacity and service time have been learned already."""
    return PolicyState(replicas=replicas, precision=precision, capacity_ref=MU, service_time=4.0)


def _run(spec, rate_of, state: PolicyState, start: float, ticks: int, period: float = 10.0):  # type: ignore[no-untyped-def]
    """Decide in a loop against ``world``, applying each decision (replicas ready at once)."""
    decisions = []
    for i in range(ticks):
        now = start + i * period
        precision = state.target_precision or state.precision
        state = state.observed(replicas=state.replicas, precision=precision, swapping=False)
        obs = world(spec, rate_of(now), state.replicas, precision, now)
        decision, state = decide(spec, obs, state, now)
        decisions.append(decision)
    return decisions, state


@FAST
@given(st.floats(0.0, 120.0), st.floats(0.0, 120.0), st.integers(1, 30))
def test_more_load_never_gives_fewer_replicas(a: float, b: float, ready: int) -> None:
    spec = service(max_replicas=40)
    low, high = sorted((a, b))
    state = _learned(ready)
    got = [decide(spec, world(spec, r, ready, Precision.BF16, 100.0), state, 100.0)[0].replicas for r in (low, high)]
    assert got[0] <= got[1]


@FAST
@given(st.floats(0.0, 500.0), st.integers(0, 60), st.integers(1, 5), st.integers(0, 30))
def test_bounds_always_hold(rate: float, current: int, lo: int, span: int) -> None:
    spec = service(min_replicas=lo, max_replicas=lo + span)
    decision, _ = decide(spec, world(spec, rate, max(current, 1), Precision.BF16, 50.0), _learned(current), 50.0)
    assert spec.min_replicas <= decision.replicas <= spec.max_replicas


@FAST
@given(st.integers(2, 30), st.floats(0.0, 600.0))
def test_no_scale_down_on_missing_data(current: int, silence: float) -> None:
    spec = service(max_replicas=40)
    state = _learned(current)
    stale = Observation(at=1000.0 + silence, request_rate=Sample(0.0, 1000.0 - 120.0))
    for obs in (Observation(at=1000.0 + silence), stale):
        decision, _ = decide(spec, obs, state, 1000.0 + silence)
        assert decision.replicas >= current
        assert decision.direction is ScaleDirection.HOLD
        assert any("holding" in r for r in decision.reasons)


def test_missing_rate_reports_how_long() -> None:
    spec = service()
    state = _learned(5)
    _, state = decide(spec, world(spec, 10.0, 5, Precision.BF16, 0.0), state, 0.0)
    decision, _ = decide(spec, Observation(at=45.0), state, 45.0)
    assert "holding: request rate missing for 45 s" in decision.reasons


@settings(max_examples=15, deadline=None)
@given(st.floats(1.0, 70.0), st.integers(1, 20))
def test_constant_load_settles_without_oscillation(rate: float, start: int) -> None:
    spec = service(max_replicas=40, auto=False)
    decisions, _ = _run(spec, lambda _t: rate, _learned(start), 0.0, 90)
    tail = [d.replicas for d in decisions[-30:]]
    assert len(set(tail)) == 1
    steps = [b.replicas - a.replicas for a, b in itertools.pairwise(decisions) if b.replicas != a.replicas]
    reversals = sum(1 for x, y in itertools.pairwise(steps) if x * y < 0)
    assert reversals <= 1, [d.replicas for d in decisions]  # at most one overshoot from the start-up backlog
    assert len(steps) <= 4


@settings(max_examples=10, deadline=None)
@given(st.floats(1.0, 70.0))
def test_replicas_suffice_so_no_swap(rate: float) -> None:
    spec = service(max_replicas=40)
    start = max(1, round(rate / MU / 0.7))  # a fleet already sized for the load
    decisions, _ = _run(spec, lambda _t: rate, _learned(start), 0.0, 120)
    assert all(d.precision == Precision.BF16 for d in decisions)
    assert len({d.replicas for d in decisions[-60:]}) == 1


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.0, 400.0), min_size=5, max_size=40), st.floats(0.9, 1.0))
@example(rates=[5e-324] * 5, floor=0.9)  # a denormal rate: the burstiness estimate's divisor underflowed to 0
def test_quality_floor_never_crossed(rates: list[float], floor: float) -> None:
    spec = service(max_replicas=10, floor=floor)
    decisions, _ = _run(spec, lambda t: rates[int(t // 60) % len(rates)], _learned(5), 0.0, 6 * len(rates))
    for decision in decisions:
        variant = spec.precision.variant(decision.precision)
        assert variant is not None
        assert variant.relative_quality >= floor or decision.precision == spec.precision.preferred


@FAST
@given(st.floats(0.0, 300.0), st.integers(1, 30), st.booleans())
def test_every_decision_has_reasons_and_recommendations(rate: float, ready: int, hit: bool) -> None:
    spec = service(max_replicas=30, concurrency=32.0)
    obs = world(spec, rate, ready, Precision.BF16, 10.0, hit=0.4 if hit else None)
    decision, _ = decide(spec, obs, _learned(ready), 10.0)
    assert decision.reasons and all(r.strip() for r in decision.reasons)
    assert set(decision.recommendations) == {"latency", "gpu", "concurrency"}


def test_cache_hits_lower_the_effective_load() -> None:
    spec = service(max_replicas=40, gpu_target=None)
    state = _learned(10)
    plain, _ = decide(spec, world(spec, 100.0, 10, Precision.BF16, 5.0), state, 5.0)
    cached, _ = decide(spec, world(spec, 100.0, 10, Precision.BF16, 5.0, hit=0.5), state, 5.0)
    assert cached.recommendations["latency"] < plain.recommendations["latency"]


def test_forecast_scales_ahead_of_a_ramp() -> None:
    spec = service(max_replicas=60, gpu_target=None)
    flat, _ = _run(spec, lambda t: 40.0, _learned(14), 0.0, 12)
    ramp, _ = _run(spec, lambda t: 40.0 + 0.2 * t, _learned(14), 0.0, 12)
    last = ramp[-1]
    assert last.recommendations["latency"] > flat[-1].recommendations["latency"]
    assert "forecast" in " ".join(last.reasons)


def test_state_survives_a_round_trip() -> None:
    spec = service()
    _, state = _run(spec, lambda t: 30.0 + t / 10, _learned(3), 0.0, 20)
    assert PolicyState.from_dict(state.to_dict()) == state


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 300.0), st.integers(1, 25), st.booleans()), min_size=1, max_size=12))
def test_decide_many_matches_decide(rows: list[tuple[float, int, bool]]) -> None:
    specs = [service(max_replicas=25, auto=auto) for _, _, auto in rows]
    obs = [world(s, rate, ready, Precision.BF16, 30.0) for s, (rate, ready, _) in zip(specs, rows, strict=True)]
    states = [_learned(ready) for _, ready, _ in rows]
    many, many_states = decide_many(specs, obs, states, 30.0)
    single = [decide(s, o, st_, 30.0) for s, o, st_ in zip(specs, obs, states, strict=True)]
    assert many == [d for d, _ in single]
    assert many_states == [s for _, s in single]
