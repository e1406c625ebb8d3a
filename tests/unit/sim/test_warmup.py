"""The warm-up: every policy starts the measured run from a warmed steady state."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from governor.model.spec import Precision
from governor.sim.arrivals import Arrivals
from governor.sim.control import Command
from governor.sim.engine import simulate, warmup_arrivals
from governor.sim.policies import build_controller
from governor.sim.scenario import Scenario
from governor.sim.scenarios import service_spec
from tests.unit.sim.test_physics import Scripted


def steady(rate: float, duration: int = 900, replicas: int = 12, warmup_s: int = 120, name: str = "s") -> Scenario:
    counts = np.random.default_rng(7).poisson(rate, duration).astype(np.int64)
    spec = service_spec(name, max_replicas=40, in_place=True, startup_s=90.0)
    return Scenario(name, "steady", Arrivals(counts, "steady"), spec, replicas, warmup_s=warmup_s)


def test_kpa_does_not_halve_the_fleet_at_the_start_of_a_constant_load() -> None:
    warm = simulate(steady(30.0), build_controller("kpa", steady(30.0)))
    assert warm.alive[:120].min() >= 10  # 30 req/s at 11.2 running+waiting per pod needs ~11 pods
    assert warm.latency_hist[-1] == 0.0 and warm.within_slo == warm.served
    cold_scenario = steady(30.0, warmup_s=0)
    cold = simulate(cold_scenario, build_controller("kpa", cold_scenario))
    assert cold.alive[:120].min() <= 6  # without a warm-up its 60 s window starts empty


def test_the_first_decision_sees_a_fresh_observation_of_the_warm_load() -> None:
    seen = Scripted({})
    simulate(steady(30.0), seen)
    assert seen.seen is not None
    first = seen.seen[0]
    assert first.now == 0.0
    assert first.observation.at <= 0.0 and first.now - first.observation.at < 15
    rate = first.observation.request_rate
    assert rate is not None and 25.0 < rate.value < 35.0
    assert first.pods_with_metrics == 12
    assert first.truth.concurrency.size == 120 and first.truth.concurrency[-60:].mean() > 10


def test_results_count_the_measured_seconds_only() -> None:
    scenario = steady(30.0, duration=600)
    result = simulate(scenario, Scripted({100: Command(12, Precision.INT4)}))
    assert result.alive.size == result.ready.size == result.quality.size == 600
    assert result.gpu_seconds == 12 * 600
    assert result.arrived == scenario.arrivals.counts.sum()
    handled = result.queued_at_start + result.arrived
    assert handled == pytest.approx(result.served + result.dropped + result.queued_at_end)
    assert result.swap_log == ((100.0, "int4"),) and result.swap_times == (100.0,)
    assert result.minute_hist.shape[0] == 10


def test_the_warm_up_depends_on_the_scenario_only() -> None:
    scenario = steady(30.0)
    first, second = warmup_arrivals(scenario), warmup_arrivals(scenario)
    assert first.size == 120 and np.array_equal(first, second)
    assert 20.0 < first.mean() < 40.0
    other = warmup_arrivals(steady(30.0, name="other"))
    assert not np.array_equal(first, other)
    fixed = warmup_arrivals(dataclasses.replace(scenario, warmup_rate=5.0))
    assert fixed.mean() < 10.0


def test_every_policy_sees_the_same_warm_up() -> None:
    scenario = steady(30.0, duration=300)
    scripted = Scripted({})
    simulate(scenario, scripted)
    hpa = simulate(scenario, build_controller("hpa", scenario))
    kpa = simulate(scenario, build_controller("kpa", scenario))
    assert scripted.seen is not None
    assert hpa.queued_at_start == kpa.queued_at_start == scripted.seen[0].truth.queue
    assert hpa.arrived == kpa.arrived
