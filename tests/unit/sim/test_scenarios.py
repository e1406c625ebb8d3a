"""The named scenarios: trace replays at a chosen rate, cold starts, and what every scenario builds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from governor.model.spec import SwapMode
from governor.sim.arrivals import TraceError, burstiness
from governor.sim.baselines import PROVISION_UTILIZATION
from governor.sim.scenarios import (
    COLD_START_RATES,
    DEFAULT_TRACE,
    MOONCAKE_TRACE,
    SCENARIOS,
    build_scenario,
)

needs_traces = pytest.mark.skipif(
    not (DEFAULT_TRACE.exists() and MOONCAKE_TRACE.exists()),
    reason="the shared traces are not checked out next to the repository",
)


def write_ticks(path: Path, seconds: int, per_second: int) -> Path:
    line = '{{"timestamp": {ms}, "input_length": 100, "output_length": 10, "hash_ids": []}}\n'
    path.write_text("".join(line.format(ms=s * 1000 + k) for s in range(seconds) for k in range(per_second)))
    return path


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_builds_with_the_shared_service_bounds(name: str) -> None:
    if name in ("trace", "mooncake") and not (DEFAULT_TRACE.exists() and MOONCAKE_TRACE.exists()):
        pytest.skip("the shared traces are not checked out")
    scenario = build_scenario(name, seed=1, duration_s=300)
    assert scenario.name == name
    assert scenario.arrivals.duration_s == 300
    assert scenario.arrivals.counts.sum() > 0
    assert scenario.spec.min_replicas <= scenario.initial_replicas <= scenario.spec.max_replicas


@pytest.mark.parametrize(("name", "rate"), list(COLD_START_RATES.items()))
def test_cold_start_meets_a_warm_idle_pair_with_a_constant_load(name: str, rate: float) -> None:
    scenario = build_scenario(name, seed=0)
    assert scenario.arrivals.duration_s == 3600
    assert scenario.arrivals.mean_rate == pytest.approx(rate, rel=0.01)
    assert burstiness(scenario.arrivals.counts) == pytest.approx(1.0, abs=0.1)  # Poisson
    minutes = scenario.arrivals.counts.reshape(60, 60).mean(axis=1)
    assert np.allclose(minutes, rate, rtol=0.1)  # constant from the first minute on
    assert scenario.initial_replicas == scenario.spec.min_replicas == 2
    assert scenario.spec.max_replicas == 40
    assert all(SwapMode.IN_PLACE in v.swap_modes for v in scenario.spec.precision.variants)
    capacity = scenario.initial_replicas * scenario.rate_per_replica()
    assert scenario.warmup_rate == pytest.approx(0.5 * capacity)
    assert rate > capacity  # the two replicas cannot carry the load alone


@needs_traces
@pytest.mark.parametrize(("name", "path"), [("trace", DEFAULT_TRACE), ("mooncake", MOONCAKE_TRACE)])
@pytest.mark.parametrize("rate", [None, 20.0, 80.0])
def test_trace_scenarios_replay_at_the_requested_rate(name: str, path: Path, rate: float | None) -> None:
    scenario = build_scenario(name, seed=0, duration_s=1200, rate=rate)
    assert scenario.arrivals.mean_rate == pytest.approx(rate or 40.0, rel=0.03)
    assert path.name in scenario.description
    first_minute = float(scenario.arrivals.counts[:60].mean())
    per_replica = scenario.rate_per_replica() * PROVISION_UTILIZATION
    assert scenario.initial_replicas == max(2, math.ceil(first_minute / per_replica))


@needs_traces
def test_trace_scenarios_depend_on_the_seed() -> None:
    first = build_scenario("mooncake", seed=3, duration_s=600)
    again = build_scenario("mooncake", seed=3, duration_s=600)
    other = build_scenario("mooncake", seed=4, duration_s=600)
    assert np.array_equal(first.arrivals.counts, again.arrivals.counts)
    assert not np.array_equal(first.arrivals.counts, other.arrivals.counts)


def test_a_trace_file_of_either_format_is_replayed(tmp_path: Path) -> None:
    path = write_ticks(tmp_path / "steady.jsonl", seconds=600, per_second=2)
    scenario = build_scenario("diurnal", seed=0, trace=path, rate=10.0)
    assert scenario.name == "trace"
    assert scenario.arrivals.duration_s == 600
    assert scenario.arrivals.mean_rate == pytest.approx(10.0, rel=0.03)
    assert scenario.arrivals.requests is not None and scenario.arrivals.requests.input_tokens is not None


def test_rate_is_refused_where_it_means_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only to a trace"):
        build_scenario("cold-40", rate=20.0)
    path = write_ticks(tmp_path / "steady.jsonl", seconds=60, per_second=1)
    with pytest.raises(ValueError, match="positive"):
        build_scenario("trace", trace=path, rate=0.0)


def test_a_malformed_trace_file_fails_with_a_trace_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"timestamp": 0}\n')
    with pytest.raises(TraceError, match="line 1: missing field 'input_length'"):
        build_scenario("trace", trace=path)


def test_unknown_scenario_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="cold-120"):
        build_scenario("cold-10")
