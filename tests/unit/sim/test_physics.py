"""Simulator physics: start-up delay, conservation of requests, swap capacity dips, determinism."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from governor.model.spec import Precision
from governor.sim.arrivals import Arrivals, diurnal_rate, gamma_renewal_counts, poisson_counts
from governor.sim.control import Command, SimView
from governor.sim.engine import simulate
from governor.sim.fleet import Fleet, FleetConfig, VariantPhysics
from governor.sim.policies import build_controller
from governor.sim.queueing import CohortQueue
from governor.sim.scenario import Scenario
from governor.sim.scenarios import build_scenario, service_spec

PHYSICS = {
    Precision.BF16: VariantPhysics(Precision.BF16, 4.0, 4.0, 1.0, in_place=True),
    Precision.INT4: VariantPhysics(Precision.INT4, 8.0, 2.0, 0.97, in_place=True),
}
ROLLING = {
    p: VariantPhysics(v.precision, v.rate_per_replica, v.service_time_s, v.quality, in_place=False)
    for p, v in PHYSICS.items()
}


@dataclass
class Scripted:
    """A controller that plays back (time → command) and remembers what it saw."""

    script: dict[int, Command]
    name: str = "scripted"
    period_s: int = 1
    seen: list[SimView] | None = None

    def describe(self) -> str:
        return "scripted"

    def decide(self, view: SimView) -> Command:
        self.seen = (self.seen or []) + [view]
        return self.script.get(int(view.now), Command(view.replicas, view.precision))


def scenario(counts: np.ndarray, replicas: int = 4, in_place: bool = True, startup: float = 30.0) -> Scenario:
    spec = service_spec("t", max_replicas=10, in_place=in_place, startup_s=startup)
    return Scenario("t", "test", Arrivals(counts.astype(np.int64), "test"), spec, replicas)


def test_new_replicas_serve_only_after_start_up() -> None:
    fleet = Fleet.started(FleetConfig(startup_s=90, max_replicas=10), PHYSICS, Precision.BF16, 2)
    fleet.command(5, Precision.BF16, now=100.0)
    assert fleet.alive == 5
    for t in (100.0, 150.0, 189.0):
        fleet.reconcile(t)
        assert fleet.ready(t) == 2
        assert sum(fleet.capacity(t).values()) == pytest.approx(8.0)
    fleet.reconcile(190.0)
    assert fleet.ready(190.0) == 5
    assert sum(fleet.capacity(190.0).values()) == pytest.approx(20.0)


def test_in_place_swap_takes_a_quarter_of_pods_out_for_20_s() -> None:
    fleet = Fleet.started(FleetConfig(startup_s=90, max_replicas=10), PHYSICS, Precision.BF16, 8)
    fleet.command(8, Precision.INT4, now=0.0)
    assert len(fleet.serving_pods(0.0)) == 6  # floor(25 % of 8) = 2 loading
    assert fleet.alive == 8  # no extra pods: in place
    fleet.reconcile(20.0)
    assert len(fleet.serving_pods(20.0)) == 6
    assert fleet.capacity(20.0)[Precision.INT4] == pytest.approx(2 * 8.0)
    for t in (40.0, 60.0, 80.0):
        fleet.reconcile(t)
    assert not fleet.swapping(80.0)
    assert fleet.capacity(80.0) == {Precision.INT4: pytest.approx(64.0)}


def test_rolling_swap_at_max_replicas_restarts_one_pod_at_a_time() -> None:
    fleet = Fleet.started(FleetConfig(startup_s=90, max_replicas=4), ROLLING, Precision.BF16, 4)
    fleet.command(4, Precision.INT4, now=0.0)
    assert fleet.alive == 4
    assert len(fleet.serving_pods(0.0)) == 3  # one restarting, no room to surge
    fleet.reconcile(90.0)
    assert fleet.capacity(90.0) == {Precision.BF16: pytest.approx(8.0), Precision.INT4: pytest.approx(8.0)}
    assert len(fleet.serving_pods(90.0)) == 3  # the next one restarts
    for t in (180.0, 270.0, 360.0):
        fleet.reconcile(t)
    assert fleet.capacity(360.0) == {Precision.INT4: pytest.approx(32.0)}


def test_rolling_swap_with_max_unavailable_restarts_a_batch_counting_starting_pods() -> None:
    fleet = Fleet.started(FleetConfig(startup_s=90, max_replicas=8), ROLLING, Precision.BF16, 6)
    fleet.command(8, Precision.INT4, now=0.0, max_unavailable=5)
    assert fleet.alive == 8
    # Two new pods start at int4 (the new template) and count as unavailable: three old ones restart.
    assert len(fleet.serving_pods(0.0)) == 3
    assert sum(1 for p in fleet.pods if p.precision is Precision.INT4) == 5
    fleet.command(8, Precision.INT4, now=90.0)  # the next tick asks for the default: one at a time
    assert fleet.capacity(90.0)[Precision.INT4] == pytest.approx(5 * 8.0)
    assert len(fleet.serving_pods(90.0)) == 7
    for t in (180.0, 270.0, 360.0):
        fleet.reconcile(t)
    assert fleet.capacity(360.0) == {Precision.INT4: pytest.approx(64.0)}


def test_rolling_swap_below_max_surges_without_losing_capacity() -> None:
    fleet = Fleet.started(FleetConfig(startup_s=90, max_replicas=10), ROLLING, Precision.BF16, 4)
    fleet.command(4, Precision.INT4, now=0.0)
    assert fleet.alive == 5  # ceil(25 % of 4) = 1 surge pod
    assert len(fleet.serving_pods(0.0)) == 4
    fleet.reconcile(90.0)
    assert fleet.alive == 5 and len(fleet.serving_pods(90.0)) == 4
    for t in (180.0, 270.0, 360.0):
        fleet.reconcile(t)
    assert fleet.alive == 4
    assert fleet.capacity(360.0) == {Precision.INT4: pytest.approx(32.0)}


def test_requests_are_conserved_and_timeouts_drop() -> None:
    queue = CohortQueue(200, timeout_s=60)
    hist = np.zeros(400)
    for t in range(200):
        queue.step(t, 10.0, capacity=4.0 if t < 150 else 40.0, service_mix=[(1.0, 4.0)], hist=hist)
        assert queue.arrived == pytest.approx(queue.served + queue.dropped + queue.backlog)
    assert queue.dropped > 0
    assert hist.sum() == pytest.approx(queue.served)


def test_whole_run_conserves_requests_and_counts_gpu_seconds() -> None:
    counts = np.full(600, 30)
    result = simulate(scenario(counts, replicas=2), Scripted({10: Command(6, Precision.BF16)}))
    handled = result.queued_at_start + result.arrived
    assert handled == pytest.approx(result.served + result.dropped + result.queued_at_end)
    assert result.arrived == counts.sum()
    assert result.gpu_seconds == pytest.approx(2 * 10 + 6 * 590)


def test_policy_sees_lagged_metrics_not_the_truth() -> None:
    counts = np.concatenate([np.full(120, 10), np.full(120, 40)])
    seen = Scripted({})
    simulate(scenario(counts, replicas=10), seen)
    views = {int(v.now): v for v in seen.seen or []}
    assert views[150].truth.arrival_rate == pytest.approx(40)
    observed = views[150].observation.request_rate
    # The scrape at 150 s covers (90 s, 150 s]: half of it before the jump.
    assert observed is not None and observed.value == pytest.approx((30 * 10 + 30 * 40) / 60)
    assert views[150].now - observed.at < 15
    assert views[160].observation.request_rate == observed  # no new scrape until 165 s


def test_same_seed_same_result_other_seed_other_arrivals() -> None:
    first = build_scenario("smoke", seed=3)
    again = build_scenario("smoke", seed=3)
    other = build_scenario("smoke", seed=4)
    assert np.array_equal(first.arrivals.counts, again.arrivals.counts)
    assert not np.array_equal(first.arrivals.counts, other.arrivals.counts)
    a = simulate(first, build_controller("hpa", first))
    b = simulate(again, build_controller("hpa", again))
    assert (a.within_slo, a.gpu_seconds, a.scale_actions) == (b.within_slo, b.gpu_seconds, b.scale_actions)


def test_gamma_renewal_has_the_requested_burstiness() -> None:
    rng = np.random.default_rng(1)
    rate = np.full(20000, 50.0)
    smooth = poisson_counts(rate, rng)
    bursty = gamma_renewal_counts(rate, 4.0, rng)
    assert bursty.mean() == pytest.approx(50.0, rel=0.1)
    assert bursty.std() > 3 * smooth.std()


def test_diurnal_rate_has_the_peak_to_trough_ratio() -> None:
    rate = diurnal_rate(7200, mean_rate=60.0, peak_to_trough=4.0, day_s=7200.0)
    assert rate.max() / rate.min() == pytest.approx(4.0, rel=1e-3)
    assert rate.mean() == pytest.approx(60.0, rel=1e-3)
    assert math.isclose(rate[0], rate.min())
