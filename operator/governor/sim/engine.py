"""The discrete-time loop: one second per step, one controller, one scenario.

Each step: the fleet plays the Deployment controller (pods become ready, swaps progress);
if the controller's sync period has come round it sees a ``View`` and its ``Command`` is
applied; the serving pods take requests off the shared FIFO; telemetry records the second
and scrapes on schedule. Totals and per-second series make up the ``RunResult``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from governor.model.observation import Observation
from governor.sim.control import Command, Controller, Truth, View
from governor.sim.fleet import Fleet
from governor.sim.queueing import DROPPED_BIN, N_BINS, CohortQueue
from governor.sim.scenario import Scenario
from governor.sim.telemetry import Telemetry

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunResult:
    """Everything a report needs from one controller's run."""

    policy: str
    configuration: str
    duration_s: int
    arrived: float
    served: float
    dropped: float
    queued_at_end: float
    within_slo: float
    latency_hist: np.ndarray  # served requests by latency bin; the last bin holds dropped ones
    minute_hist: np.ndarray  # (minutes, bins) for p99 over time
    gpu_seconds: float
    quality_mean: float  # time-weighted relative quality of the precision served
    served_quality: float  # request-weighted: mean relative quality of the precision each request was served at
    quality_min: float  # lowest relative quality any serving pod had
    swaps: int
    swap_times: tuple[float, ...]  # when the desired precision changed
    scale_actions: int
    load: np.ndarray  # arrivals per second
    alive: np.ndarray
    ready: np.ndarray
    quality: np.ndarray  # mean relative quality served, per second


class _Run:
    """Mutable state of one run; kept private so a RunResult is all that escapes."""

    def __init__(self, scenario: Scenario, controller: Controller) -> None:
        self.scenario = scenario
        self.controller = controller
        n = scenario.arrivals.duration_s
        self.n = n
        replicas = getattr(controller, "initial_replicas", None) or scenario.initial_replicas
        precision = getattr(controller, "initial_precision", None) or scenario.spec.precision.preferred
        self.fleet = Fleet.started(scenario.fleet_config(), scenario.physics(), precision, replicas)
        self.queue = CohortQueue(n, scenario.timeout_s)
        self.telemetry = Telemetry(n, scenario.telemetry_config())
        self.hist = np.zeros(N_BINS)
        self.minute_hist = np.zeros((math.ceil(n / 60), N_BINS))
        self.alive = np.zeros(n)
        self.quality = np.zeros(n)
        self.swaps = 0
        self.swap_times: list[float] = []
        self.scale_actions = 0
        self._dirty = True
        self._capacity = 0.0
        self._mix: list[tuple[float, float]] = []
        self._quality_now = 1.0
        self.quality_floor_seen = 1.0  # lowest relative quality any serving pod ever had
        self._served_quality_now = 1.0  # relative quality of a request served now (capacity-weighted)
        self.quality_served = 0.0  # sum over served requests of the relative quality that served them

    def view(self, t: int) -> View:
        lo = max(0, t - 5)
        rate = float(self.telemetry.arrivals[lo:t].mean()) if t > lo else 0.0
        concurrency = self.telemetry.running[:t] + self.telemetry.queue[:t]
        truth = Truth(rate, self.queue.backlog, float(self.telemetry.running[t - 1]) if t else 0.0, concurrency)
        observation = self.telemetry.latest if self.telemetry.latest.at > 0 else Observation(at=float(t), source="sim")
        return View(
            now=float(t),
            spec=self.scenario.spec,
            observation=observation,
            replicas=self.fleet.desired,
            alive=self.fleet.alive,
            ready=self.fleet.ready(t),
            pods_with_metrics=self.telemetry.pods_with_metrics,
            precision=self.fleet.target,
            swapping=self.fleet.swapping(t),
            truth=truth,
        )

    def apply(self, t: int, command: Command) -> None:
        scaled, swapped = self.fleet.command(command.replicas, command.precision, t, command.max_unavailable)
        self.scale_actions += int(scaled)
        self.swaps += int(swapped)
        if swapped:
            self.swap_times.append(float(t))
        self._dirty = True

    def refresh_capacity(self, t: int) -> None:
        physics = self.scenario.physics()
        capacity = self.fleet.capacity(t)
        total = sum(capacity.values())
        self._capacity = total
        self._mix = [(rate / total, physics[p].service_time_s) for p, rate in capacity.items()] if total > 0 else []
        if total > 0:
            self._served_quality_now = sum(rate / total * physics[p].quality for p, rate in capacity.items())
        serving = self.fleet.serving_pods(t)
        qualities = [physics[p.precision].quality for p in serving]
        self._quality_now = float(np.mean(qualities)) if qualities else math.nan
        self.quality_floor_seen = min([self.quality_floor_seen, *qualities])
        self._dirty = False

    def step(self, t: int) -> None:
        if t >= self.fleet.next_event() or self.fleet.swapping(t):
            self.fleet.reconcile(t)
            self._dirty = True
        if t % self.controller.period_s == 0:
            self.apply(t, self.controller.decide(self.view(t)))
        if self._dirty:
            self.refresh_capacity(t)
        row = self.telemetry.hist_row(t)
        outcome = self.queue.step(t, float(self.scenario.arrivals.counts[t]), self._capacity, self._mix, row)
        self.hist += row
        self.quality_served += outcome.served * self._served_quality_now
        self.minute_hist[t // 60] += row
        self.minute_hist[t // 60, DROPPED_BIN] += outcome.dropped
        service_s = sum(share * s for share, s in self._mix) if self._mix else 0.0
        k = max(1, math.ceil(service_s))
        recent = float(self.telemetry.served[max(0, t - k + 1) : t].sum()) + outcome.served
        running = recent * service_s / k
        slots = float(len(self.fleet.serving_pods(t)) * self.scenario.slots)
        self.telemetry.record(
            t, self.scenario.arrivals.counts[t], outcome.served, outcome.dropped, self.queue.backlog, running, slots,
            self.fleet.ready(t),
        )  # fmt: skip
        self.alive[t] = self.fleet.alive
        self.quality[t] = self._quality_now

    def result(self) -> RunResult:
        hist = self.hist.copy()
        hist[DROPPED_BIN] += self.queue.dropped
        slo_bin = int(self.scenario.slo_latency_s / 0.25)
        quality = self.quality[~np.isnan(self.quality)]
        return RunResult(
            policy=self.controller.name,
            configuration=self.controller.describe(),
            duration_s=self.n,
            arrived=self.queue.arrived,
            served=self.queue.served,
            dropped=self.queue.dropped,
            queued_at_end=self.queue.backlog,
            within_slo=float(self.hist[:slo_bin].sum()),
            latency_hist=hist,
            minute_hist=self.minute_hist,
            gpu_seconds=float(self.alive.sum()),
            quality_mean=float(quality.mean()) if quality.size else 1.0,
            served_quality=self.quality_served / self.queue.served if self.queue.served > 0 else 1.0,
            quality_min=self.quality_floor_seen,
            swaps=self.swaps,
            swap_times=tuple(self.swap_times),
            scale_actions=self.scale_actions,
            load=self.scenario.arrivals.counts.astype(float),
            alive=self.alive,
            ready=self.telemetry.ready.copy(),
            quality=self.quality,
        )


def simulate(scenario: Scenario, controller: Controller, progress: Progress | None = None) -> RunResult:
    """Run one controller over the whole scenario and return what happened."""
    run = _Run(scenario, controller)
    report_every = max(1, run.n // 20)
    for t in range(run.n):
        run.step(t)
        if progress is not None and (t + 1) % report_every == 0:
            progress(t + 1, run.n)
    return run.result()
