"""The failure modes found across seeds and traces, each pinned by a decision it must (not) make.

* capacity is never learned from a saturated window (a growing queue), and a first capacity
  can be read from a saturated fleet that has none;
* a step up waits until the replicas the higher precision needs are ready, and goes straight
  to the highest rung with headroom;
* a shortfall that only the forecast shows, with replicas left to add, adds replicas instead
  of swapping; a step down goes straight to the rung that carries the plan, and a second one
  right after a swap needs load that is here now;
* a swap that would leave the ready fleet far short is not taken to relieve a breach;
* the queue's growth during a swap is not read as arrivals.
"""

from __future__ import annotations

from dataclasses import replace

from governor.model.observation import Observation, Sample
from governor.model.spec import Precision
from governor.policy import PolicyConfig, PolicyState, decide
from governor.policy.forecast import Holt
from tests.unit.policy.helpers import MU, service, world


def _state(replicas: int, precision: Precision = Precision.BF16, **extra: object) -> PolicyState:
    base = PolicyState(replicas=replicas, precision=precision, capacity_ref=MU, service_time=4.0)
    return replace(base, **extra)  # type: ignore[arg-type]


def _obs(at: float, rate: float, ready: int, util: float, queue: float, p99: float = 5000.0) -> Observation:
    def s(value: float) -> Sample:
        return Sample(value, at)

    return Observation(
        at=at,
        source="test",
        request_rate=s(rate),
        gpu_utilization_mean=s(util),
        running_requests=s(ready * 16.0 * util),
        queue_depth=s(queue),
        latency_p99_ms=s(p99),
        ready_replicas=s(float(ready)),
    )


def test_capacity_is_not_learned_while_the_queue_grows() -> None:
    """2 replicas under 80 req/s: utilisation dips under the learning band's top, the queue grows."""
    spec = service(max_replicas=40)
    state = _state(2, capacity_ref=MU)
    for i, queue in enumerate((200.0, 900.0, 1600.0)):
        now = 100.0 + 15.0 * i
        _, state = decide(spec, _obs(now, 80.0, 2, 0.9, queue), state.observed(state.replicas, Precision.BF16), now)
    assert state.capacity_ref == MU  # 80 / (2 × 0.9) = 44 req/s per replica would be 11× too high


def test_capacity_is_learned_from_an_unsaturated_window() -> None:
    spec = service(max_replicas=40)
    state = _state(10, capacity_ref=2.0)
    _, state = decide(spec, _obs(100.0, 30.0, 10, 0.75, 0.0), state, 100.0)
    assert state.capacity_ref is not None and state.capacity_ref > 2.0  # moved towards 30 / (10 × 0.75) = 4


def test_a_first_capacity_comes_from_a_saturated_fleet() -> None:
    """Nothing learned yet and saturated: capacity is what arrives less what the queue gains, per replica."""
    spec = service(max_replicas=40)
    state = PolicyState(replicas=2, precision=Precision.BF16)
    _, state = decide(spec, _obs(100.0, 80.0, 2, 1.0, 1000.0), state, 100.0)
    assert state.capacity_ref is None  # one queue sample: no growth to read yet
    _, state = decide(spec, _obs(115.0, 80.0, 2, 1.0, 2080.0), state.observed(2, Precision.BF16), 115.0)
    assert state.capacity_ref is not None
    assert abs(state.capacity_ref - (80.0 - 1080.0 / 15.0) / 2) < 1e-6  # (80 − 72) / 2 = 4


def _headroom_run(spec_max: int, start: Precision, replicas: int, ready_lag: bool) -> list[tuple[float, object]]:
    """Calm load for 20 minutes at ``start``; the fleet's ready count follows the ask unless ``ready_lag``."""
    spec = service(max_replicas=spec_max, floor=0.95)
    state = _state(replicas, start, last_swap_at=0.0, swap_starts=(0.0,))
    ready = replicas
    events: list[tuple[float, object]] = []
    for now in range(10, 1200, 10):
        precision = state.target_precision or state.precision
        state = state.observed(replicas=state.replicas, precision=precision)
        decision, state = decide(spec, world(spec, 24.0, ready, precision, float(now)), state, float(now))
        if decision.swap:
            events.append((float(now), decision))
        if not ready_lag:
            ready = decision.replicas
    return events


def test_a_step_up_waits_for_the_replicas_the_higher_precision_needs() -> None:
    spec = service(max_replicas=20, floor=0.95)
    # int4 at 4 replicas carries 24 req/s (8 req/s each); bf16 needs about 9 (and more during the swap).
    state = _state(4, Precision.INT4, last_swap_at=0.0, swap_starts=(0.0,), headroom_since=0.0)
    ready, now = 4, 700.0
    for _ in range(10):
        decision, state = decide(spec, world(spec, 24.0, ready, Precision.INT4, now), state, now)
        if decision.swap:
            break
        assert decision.precision == Precision.INT4
        assert ready < decision.recommendations["step-up"]  # held only while the replicas are not ready
        assert "must be ready" in decision.reasons[0]
        ready = decision.replicas  # they come up
        state = state.observed(replicas=decision.replicas, precision=Precision.INT4)
        now += 10.0
    assert decision.swap and decision.precision == Precision.BF16  # straight to bf16: fp8 and int8 skipped
    assert now > 700.0  # not at the first tick: 4 replicas were not enough
    assert ready >= decision.replicas - 1  # the swap starts on a fleet sized for bf16


def test_a_step_up_never_starts_on_a_fleet_that_is_not_ready() -> None:
    assert _headroom_run(20, Precision.INT4, 4, ready_lag=True) == []  # the replicas never come: no swap
    ups = _headroom_run(20, Precision.INT4, 4, ready_lag=False)
    assert len(ups) == 1  # one swap, straight to the top rung
    assert ups[0][1].precision == Precision.BF16  # type: ignore[attr-defined]


def test_a_forecast_only_shortfall_adds_replicas_before_swapping() -> None:
    """A steep trend forecasts more than maxReplicas carry, but the load now fits and replicas can be added."""
    spec = service(max_replicas=20)
    state = _state(14, forecast=Holt(level=50.0, trend=1.0, at=85.0))
    decision, _ = decide(spec, _obs(100.0, 55.0, 14, 0.98, 0.0), state, 100.0)
    assert decision.recommendations["latency"] > 20  # the plan is short at maxReplicas ...
    assert not decision.swap  # ... but 55 req/s fits 20 bf16 replicas: scale up, keep bf16
    assert decision.precision == Precision.BF16
    assert decision.replicas > 14


def test_a_step_down_goes_straight_to_the_rung_that_carries_the_plan() -> None:
    spec = service(max_replicas=20, floor=0.95)
    decision, _ = decide(spec, world(spec, 140.0, 20, Precision.BF16, 100.0), _state(20), 100.0)
    assert decision.swap
    assert decision.precision == Precision.INT4  # fp8 (1.6×) and int8 (1.8×) cannot carry 140 at 20


def test_no_second_step_down_right_after_a_swap_for_a_backlog_alone() -> None:
    """The fleet stepped to fp8 a minute ago; replicas are starting; p99 still breaches from the backlog."""
    spec = service(max_replicas=40)
    state = _state(20, Precision.FP8, last_swap_at=40.0, swap_starts=(40.0,))
    obs = _obs(100.0, 60.0, 6, 1.0, 3000.0, p99=40000.0)  # 60 req/s fits 40 fp8 replicas easily
    decision, _ = decide(spec, obs, state, 100.0)
    assert not decision.swap
    assert decision.precision == Precision.FP8


def test_a_swap_that_leaves_the_ready_fleet_far_short_is_not_taken() -> None:
    """2 ready replicas under 80 req/s: fp8 on them adds 5 req/s; new replicas are the answer."""
    spec = service(max_replicas=40)
    cfg = PolicyConfig()
    decision, _ = decide(spec, _obs(100.0, 30.0, 2, 1.0, 600.0, p99=20000.0), _state(2), 100.0, cfg)
    carried = 2 * MU * 1.6
    assert carried < cfg.swap_relief_share * 30.0
    assert not decision.swap
    assert decision.replicas > 2


def test_queue_growth_during_a_swap_is_not_read_as_arrivals() -> None:
    spec = service(max_replicas=20)

    def latency_after(state: PolicyState, queue_after: float) -> int:
        _, seen = decide(spec, _obs(100.0, 40.0, 12, 1.0, 100.0), state, 100.0)
        again = seen.observed(12, state.precision, swapping=state.swapping)
        decision, _ = decide(spec, _obs(115.0, 40.0, 12, 1.0, queue_after), again, 115.0)
        return decision.recommendations["latency"]

    swapping = _state(12, Precision.BF16, swapping=True, target_precision=Precision.FP8)
    calm = _state(12, Precision.BF16)
    assert latency_after(swapping, 100.0) == latency_after(calm, 100.0)  # a flat queue: the same plan
    # A growing queue: outside a swap it is a surge of arrivals; during one, only a backlog to drain.
    assert latency_after(swapping, 700.0) < latency_after(calm, 700.0)


def test_bursty_arrivals_keep_more_spare_capacity() -> None:
    """The same calm fleet at 85 % utilisation: Poisson arrivals keep it, bursty ones (ca² 16) add replicas."""
    spec = service(max_replicas=40)
    obs = _obs(100.0, 34.0, 10, 0.85, 0.0, p99=4500.0)
    poisson, _ = decide(spec, obs, _state(10, arrival_scv=1.0), 100.0)
    bursty, _ = decide(spec, obs, _state(10, arrival_scv=16.0), 100.0)
    assert poisson.replicas == 10
    assert bursty.replicas > poisson.replicas
