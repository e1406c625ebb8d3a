"""Trimming over-provisioning only with evidence: drift-blind ca², the drained-backlog GPU guard, the calm forecast."""

from __future__ import annotations

import re
from dataclasses import replace

from governor.model.observation import Observation, Sample
from governor.model.spec import Precision
from governor.policy import PolicyState, decide
from governor.policy.config import DEFAULT_CONFIG
from tests.unit.policy.helpers import MU, SERVICE_S, service, world


def _run(rates: list[float], attainment: float | None = None, step: float = 15.0) -> tuple[PolicyState, list[float]]:
    """The state after feeding ``rates`` and the forecast each decision reported."""
    spec = service(max_replicas=60, auto=False)
    state = PolicyState(replicas=20, precision=Precision.BF16, capacity_ref=MU, service_time=SERVICE_S)
    forecasts: list[float] = []
    for i, rate in enumerate(rates):
        now = step * i
        obs = world(spec, rate, state.replicas, Precision.BF16, now)
        if attainment is not None:
            obs = replace(obs, slo_attainment=Sample(attainment, now))
        state = state.observed(replicas=state.replicas, precision=Precision.BF16)
        decision, state = decide(spec, obs, state, now)
        found = re.search(r"forecast ([0-9.]+)", " ".join(decision.reasons))
        forecasts.append(float(found.group(1)) if found else float(decision.recommendations["latency"]))
    return state, forecasts


def test_a_steady_ramp_is_not_read_as_burstiness() -> None:
    state, _ = _run([20.0 + 1.5 * i for i in range(30)])
    assert state.arrival_scv is not None
    assert state.arrival_scv <= 1.0


def test_alternating_rate_is_read_as_burstiness() -> None:
    state, _ = _run([20.0, 60.0] * 15)
    assert state.arrival_scv is not None
    assert 2.0 < state.arrival_scv <= DEFAULT_CONFIG.max_arrival_scv
    again = PolicyState.from_dict(state.to_dict())
    assert again.rate_seen == state.rate_seen
    assert again.arrival_scv == state.arrival_scv


def _breached(queue: float) -> tuple[Observation, PolicyState]:
    spec = service(max_replicas=60, auto=False)
    obs = world(spec, 64.0, 20, Precision.BF16, 100.0)  # 80 % busy
    obs = replace(obs, latency_p99_ms=Sample(11000.0, 100.0), queue_depth=Sample(queue, 100.0))
    state = PolicyState(replicas=20, precision=Precision.BF16, capacity_ref=MU, service_time=SERVICE_S)
    return obs, state


def test_gpu_target_counts_while_requests_still_wait() -> None:
    obs, state = _breached(queue=30.0)
    decision, _ = decide(service(max_replicas=60, auto=False), obs, state, 100.0)
    assert "gpu" in " ".join(decision.reasons).lower()
    assert "gpu-guard" not in " ".join(decision.reasons)


def test_a_drained_backlog_does_not_hold_the_gpu_target() -> None:
    obs, state = _breached(queue=0.0)  # the one-minute p99 still shows the backlog that has drained
    decision, _ = decide(service(max_replicas=60, auto=False), obs, state, 100.0)
    assert "vs target 75%" not in " ".join(decision.reasons)


def test_calm_is_remembered_and_lost_on_a_breach() -> None:
    state, _ = _run([40.0] * 5, attainment=0.999)
    assert state.calm_since == 0.0
    assert PolicyState.from_dict(state.to_dict()).calm_since == 0.0
    spec = service(max_replicas=60, auto=False)
    obs = replace(world(spec, 40.0, 20, Precision.BF16, 100.0), slo_attainment=Sample(0.9, 100.0))
    _, after = decide(spec, obs, state, 100.0)
    assert after.calm_since is None


def test_after_a_calm_spell_noise_in_a_rising_rate_is_not_planned_for() -> None:
    rates = [40.0] * 50 + [40.0 + 0.8 * i for i in range(1, 6)]  # a small rise after 12 min of calm
    _, calm = _run(rates, attainment=0.999)
    _, unknown = _run(rates, attainment=None)  # no attainment: never calm, the forecast is used whole
    assert unknown[-1] > 41.0  # the trend is extrapolated over the start-up time
    assert calm[-1] < unknown[-1]
    assert calm[:40] == unknown[:40]  # before calm_seconds have passed nothing differs
