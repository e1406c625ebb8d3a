"""The comparison table and plot: served quality is shown, per run and per minute."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from governor.sim.engine import RunResult, simulate
from governor.sim.policies import POLICIES, build_controller
from governor.sim.report import HEADER, max_in_window, minute_quality, plot, summarize, table
from governor.sim.scenarios import build_scenario


@pytest.fixture(scope="module")
def smoke_results() -> list[RunResult]:
    scenario = build_scenario("smoke", seed=3)
    return [simulate(scenario, build_controller(name, scenario)) for name in POLICIES]


def test_the_table_has_a_served_quality_column_per_policy(smoke_results: list[RunResult]) -> None:
    summaries = [summarize(r) for r in smoke_results]
    text = table(summaries).splitlines()
    assert "served q." in HEADER
    column = HEADER.index("served q.")
    lowest = next(s for s in summaries if s.policy == "static-lowest")
    row = next(line for line in text if line.startswith("static-lowest"))
    assert lowest.served_quality == pytest.approx(0.97)
    assert row[column : column + len("served q.")].strip() == "0.9700"
    assert len([line for line in text if line.split()[0] in POLICIES]) == len(POLICIES)


def test_minute_quality_weights_each_second_by_its_arrivals(smoke_results: list[RunResult]) -> None:
    quality = np.full(150, 1.0)
    load = np.zeros(150)
    quality[:30], load[:30] = 0.97, 10.0  # first minute: busy at int4 half the time, idle at bf16 the rest
    quality[60:120] = np.nan  # second minute: no pod serving
    quality[120:] = 0.995  # a partial third minute without arrivals: the plain mean
    made = dataclasses.replace(smoke_results[0], quality=quality, load=load, minute_hist=np.zeros((3, 2)))
    first, second, third = minute_quality(made)
    assert first == pytest.approx(0.97)
    assert math.isnan(second)
    assert third == pytest.approx(0.995)


def test_max_in_window_counts_a_sliding_hour() -> None:
    assert max_in_window((0.0, 100.0, 3599.0, 3600.0, 7300.0), 3600.0) == 3
    assert max_in_window((), 3600.0) == 0


def test_the_plot_draws_every_policy(tmp_path: Path, smoke_results: list[RunResult]) -> None:
    out = tmp_path / "smoke.png"
    plot(build_scenario("smoke", seed=3), smoke_results, out)
    assert out.stat().st_size > 10_000


def test_requests_left_queued_by_the_warm_up_count_as_finished_in_the_run() -> None:
    """A fleet too small for the warm-up's load starts the run with a backlog; those requests finish in it."""
    scenario = dataclasses.replace(build_scenario("smoke", seed=3), initial_replicas=2, warmup_rate=12.0)
    result = simulate(scenario, build_controller("static-peak", scenario))
    starved = simulate(scenario, dataclasses.replace(build_controller("static-peak", scenario), replicas=2))
    assert starved.queued_at_start > 0
    summary = summarize(starved)
    assert summary.requests == pytest.approx(starved.arrived + starved.queued_at_start - starved.queued_at_end)
    assert summary.violations >= 0.0
    assert summary.arrived == summarize(result).arrived  # the same arrivals whatever the fleet
