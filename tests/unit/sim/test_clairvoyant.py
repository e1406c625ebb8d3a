"""The clairvoyant bound: foresight under the same physics and swap budget as Governor."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from governor.sim.arrivals import Arrivals, flash_rate
from governor.sim.clairvoyant import SWAPS_PER_HOUR, ClairvoyantController, worst_mean
from governor.sim.engine import RunResult, simulate
from governor.sim.policies import build_controller
from governor.sim.report import summarize
from governor.sim.scenario import Scenario
from governor.sim.scenarios import build_scenario, service_spec


def violations(result: RunResult) -> float:
    return result.queued_at_start + result.arrived - result.queued_at_end - result.within_slo


@pytest.mark.parametrize("window", [1, 3, 10, 40])
def test_worst_mean_is_the_highest_moving_average(window: int) -> None:
    counts = np.random.default_rng(window).poisson(20.0, 40).astype(float)
    brute = max(counts[i : i + window].mean() for i in range(counts.size - window + 1))
    assert worst_mean(counts, window) == pytest.approx(brute)
    assert worst_mean(counts[:5], 10) == pytest.approx(counts[:5].mean())


@pytest.mark.parametrize("name", ["flash-inplace", "flash-rolling"])
def test_the_bound_beats_the_reactive_oracle_and_governor_on_a_flash_crowd(name: str) -> None:
    scenario = build_scenario(name, seed=1)
    bound = simulate(scenario, build_controller("clairvoyant", scenario))
    oracle = simulate(scenario, build_controller("oracle", scenario))
    governor = simulate(scenario, build_controller("governor", scenario))
    assert violations(bound) < violations(oracle)
    assert violations(bound) < violations(governor)
    assert bound.quality_min >= scenario.spec.precision.quality_floor


def test_it_steps_down_before_the_crowd_and_back_up_after_it() -> None:
    scenario = build_scenario("flash-inplace", seed=2)
    result = simulate(scenario, ClairvoyantController(scenario))
    assert result.swap_log, "a crowd beyond bf16's capacity at maxReplicas needs a step down"
    first_at, first = result.swap_log[0]
    assert first != "bf16" and first_at < 600  # the crowd starts at 600 s
    assert any(target in ("bf16", "fp8") for at, target in result.swap_log if at > 1800)  # it ends at 1860 s


def test_it_keeps_the_swap_budget_on_a_load_that_tempts_flapping() -> None:
    duration = 7200
    spikes = np.concatenate([flash_rate(1200, 40.0, 4.0, 300, 30, 300) for _ in range(duration // 1200)])
    counts = np.random.default_rng(3).poisson(spikes).astype(np.int64)
    spec = service_spec("flap", max_replicas=25, in_place=True)
    scenario = Scenario("flap", "spikes", Arrivals(counts, "spikes"), spec, 13)
    result = simulate(scenario, ClairvoyantController(scenario))
    times = [at for at, _ in result.swap_log]
    assert len(times) >= 2
    assert all(b - a >= spec.precision.min_dwell_seconds for a, b in itertools.pairwise(times))
    assert summarize(result).max_swaps_in_an_hour <= SWAPS_PER_HOUR


def test_it_is_ready_for_a_step_and_scales_down_at_once_after_a_drop() -> None:
    rate = np.where(np.arange(1200) < 600, 30.0, 60.0)
    rate[900:] = 20.0
    counts = np.random.default_rng(4).poisson(rate).astype(np.int64)
    spec = service_spec("steps", max_replicas=40, in_place=True)
    scenario = Scenario("steps", "up, then down", Arrivals(counts, "steps"), spec, 10)
    result = simulate(scenario, ClairvoyantController(scenario))
    assert result.ready[600] >= scenario.replicas_for(60.0, 0.8)  # ready before the step, not after it
    assert result.alive[920] <= scenario.replicas_for(30.0, 0.8)  # no stabilisation hold after the drop
    assert violations(result) == 0
