"""The discrete-time loop: one second per step, one controller, one scenario.

Each step: the fleet plays the Deployment controller (pods become ready, swaps progress);
if the controller's sync period has come round it sees a ``SimView`` and its ``Command`` is
applied; the serving pods take requests off the shared FIFO; telemetry records the second
and scrapes on schedule. Totals and per-second series make up the ``RunResult``.

Before the measured run the engine plays ``Scenario.warmup_s`` seconds of Poisson arrivals
at the warm-up rate with the fleet at its initial size and nobody deciding, so every policy
starts with a settled queue and full metric windows. Internally the engine counts seconds
from the start of the warm-up; everything a controller sees (``SimView.now``, observation
timestamps) and everything a ``RunResult`` holds is in measured time, 0 being the first
measured second, and covers the measured seconds only.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np

from governor.model.observation import Observation, Sample
from governor.sim.control import Command, SimController, SimView, Truth
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
    arrived: float  # requests that arrived in the measured run (the warm-up's backlog is queued_at_start)
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
    swap_log: tuple[tuple[float, str], ...]  # (when, target precision) of each swap started
    queued_at_start: float  # requests waiting when the measured run began (left by the warm-up)


def warmup_arrivals(scenario: Scenario) -> np.ndarray:
    """Poisson arrivals of the warm-up, the same for every policy that runs ``scenario``."""
    counts = scenario.arrivals.counts
    rate = scenario.warmup_rate
    if rate is None:
        rate = float(counts[:60].mean()) if counts.size else 0.0
    seed = [zlib.crc32(scenario.name.encode()), zlib.crc32(np.ascontiguousarray(counts).tobytes())]
    return np.random.default_rng(seed).poisson(rate, max(0, scenario.warmup_s)).astype(float)


def _shifted(observation: Observation, offset: float) -> Observation:
    """The observation with every timestamp moved ``offset`` seconds earlier."""
    moved: dict[str, Sample] = {}
    for f in fields(observation):
        sample = getattr(observation, f.name)
        if isinstance(sample, Sample):
            moved[f.name] = Sample(sample.value, sample.at - offset)
    return replace(observation, at=observation.at - offset, **moved)  # type: ignore[arg-type]


class _RequestModeRun:
    """Mutable state of one run; kept private so a RunResult is all that escapes.

    Arrays indexed by ``i`` count seconds from the start of the warm-up; the measured second
    ``t`` is ``i - warmup``.
    """

    def __init__(self, scenario: Scenario, controller: SimController) -> None:
        self.scenario = scenario
        self.controller = controller
        n = scenario.arrivals.duration_s
        self.n = n
        self.warmup = max(0, scenario.warmup_s)
        self.counts = np.concatenate([warmup_arrivals(scenario), scenario.arrivals.counts.astype(float)])
        replicas = getattr(controller, "initial_replicas", None) or scenario.initial_replicas
        precision = getattr(controller, "initial_precision", None) or scenario.spec.precision.preferred
        self.fleet = Fleet.started(scenario.fleet_config(), scenario.physics(), precision, replicas)
        self.queue = CohortQueue(self.warmup + n, scenario.timeout_s)
        self.telemetry = Telemetry(self.warmup + n, scenario.telemetry_config())
        self.hist = np.zeros(N_BINS)
        self.minute_hist = np.zeros((math.ceil(n / 60), N_BINS))
        self.alive = np.zeros(n)
        self.quality = np.zeros(n)
        self.swaps = 0
        self.swap_times: list[float] = []
        self.swap_log: list[tuple[float, str]] = []
        self.scale_actions = 0
        self._dirty = True
        self._capacity = 0.0
        self._mix: list[tuple[float, float]] = []
        self._quality_now = 1.0
        self._quality_low_now = 1.0  # lowest relative quality of a serving pod now
        self.quality_floor_seen = 1.0  # lowest relative quality any serving pod had in the measured run
        self._served_quality_now = 1.0  # relative quality of a request served now (capacity-weighted)
        self.quality_served = 0.0  # sum over served requests of the relative quality that served them
        self._start = (0.0, 0.0, 0.0)  # (served, dropped, backlog) when the measured run began
        self._observed: tuple[Observation, Observation] | None = None  # (as scraped, in measured time)

    def observation(self, i: int) -> Observation:
        latest = self.telemetry.latest
        if latest.at <= 0:  # no scrape yet
            return Observation(at=float(i - self.warmup), source="sim")
        if self._observed is None or self._observed[0] is not latest:
            self._observed = (latest, _shifted(latest, float(self.warmup)) if self.warmup else latest)
        return self._observed[1]

    def view(self, i: int) -> SimView:
        lo = max(0, i - 5)
        rate = float(self.telemetry.arrivals[lo:i].mean()) if i > lo else 0.0
        concurrency = self.telemetry.running[:i] + self.telemetry.queue[:i]
        if self._dirty:
            self.refresh_capacity(i)
        running = float(self.telemetry.running[i - 1]) if i else 0.0
        truth = Truth(rate, self.queue.backlog, running, concurrency, self._capacity)
        return SimView(
            now=float(i - self.warmup),
            spec=self.scenario.spec,
            observation=self.observation(i),
            replicas=self.fleet.desired,
            alive=self.fleet.alive,
            ready=self.fleet.ready(i),
            pods_with_metrics=self.telemetry.pods_with_metrics,
            precision=self.fleet.target,
            swapping=self.fleet.swapping(i),
            truth=truth,
        )

    def apply(self, i: int, command: Command) -> None:
        scaled, swapped = self.fleet.command(command.replicas, command.precision, i, command.max_unavailable)
        self.scale_actions += int(scaled)
        self.swaps += int(swapped)
        if swapped:
            self.swap_times.append(float(i - self.warmup))
            self.swap_log.append((float(i - self.warmup), command.precision.value))
        self._dirty = True

    def refresh_capacity(self, i: int) -> None:
        physics = self.scenario.physics()
        capacity = self.fleet.capacity(i)
        total = sum(capacity.values())
        self._capacity = total
        self._mix = [(rate / total, physics[p].service_time_s) for p, rate in capacity.items()] if total > 0 else []
        if total > 0:
            self._served_quality_now = sum(rate / total * physics[p].quality for p, rate in capacity.items())
        serving = self.fleet.serving_pods(i)
        qualities = [physics[p.precision].quality for p in serving]
        self._quality_now = float(np.mean(qualities)) if qualities else math.nan
        self._quality_low_now = min(qualities, default=1.0)
        self._dirty = False

    def step(self, i: int) -> None:
        t = i - self.warmup  # measured time; negative during the warm-up
        if t == 0:
            self._start = (self.queue.served, self.queue.dropped, self.queue.backlog)
        if i >= self.fleet.next_event() or self.fleet.swapping(i):
            self.fleet.reconcile(i)
            self._dirty = True
        if t >= 0 and t % self.controller.period_s == 0:
            self.apply(i, self.controller.decide(self.view(i)))
        if self._dirty:
            self.refresh_capacity(i)
        row = self.telemetry.hist_row(i)
        outcome = self.queue.step(i, self.counts[i], self._capacity, self._mix, row)
        if t >= 0:
            self._measure(t, row, outcome.served, outcome.dropped)
        service_s = sum(share * s for share, s in self._mix) if self._mix else 0.0
        k = max(1, math.ceil(service_s))
        recent = float(self.telemetry.served[max(0, i - k + 1) : i].sum()) + outcome.served
        running = recent * service_s / k
        slots = float(len(self.fleet.serving_pods(i)) * self.scenario.slots)
        self.telemetry.record(
            i, self.counts[i], outcome.served, outcome.dropped, self.queue.backlog, running, slots, self.fleet.ready(i)
        )

    def _measure(self, t: int, row: np.ndarray, served: float, dropped: float) -> None:
        self.hist += row
        self.quality_served += served * self._served_quality_now
        self.minute_hist[t // 60] += row
        self.minute_hist[t // 60, DROPPED_BIN] += dropped
        self.alive[t] = self.fleet.alive
        self.quality[t] = self._quality_now
        self.quality_floor_seen = min(self.quality_floor_seen, self._quality_low_now)

    def result(self) -> RunResult:
        served_before, dropped_before, backlog_before = self._start
        served = self.queue.served - served_before
        dropped = self.queue.dropped - dropped_before
        hist = self.hist.copy()
        hist[DROPPED_BIN] += dropped
        slo_bin = int(self.scenario.slo_latency_s / 0.25)
        quality = self.quality[~np.isnan(self.quality)]
        return RunResult(
            policy=self.controller.name,
            configuration=self.controller.describe(),
            duration_s=self.n,
            arrived=float(self.counts[self.warmup :].sum()),
            served=served,
            dropped=dropped,
            queued_at_end=self.queue.backlog,
            within_slo=float(self.hist[:slo_bin].sum()),
            latency_hist=hist,
            minute_hist=self.minute_hist,
            gpu_seconds=float(self.alive.sum()),
            quality_mean=float(quality.mean()) if quality.size else 1.0,
            served_quality=self.quality_served / served if served > 0 else 1.0,
            quality_min=self.quality_floor_seen,
            swaps=self.swaps,
            swap_times=tuple(self.swap_times),
            scale_actions=self.scale_actions,
            load=self.scenario.arrivals.counts.astype(float),
            alive=self.alive,
            ready=self.telemetry.ready[self.warmup :].copy(),
            quality=self.quality,
            swap_log=tuple(self.swap_log),
            queued_at_start=backlog_before,
        )


def simulate(scenario: Scenario, controller: SimController, progress: Progress | None = None) -> RunResult:
    """Warm the fleet up, run one controller over the measured scenario and return what happened."""
    run = _RequestModeRun(scenario, controller)
    total = run.warmup + run.n
    report_every = max(1, run.n // 20)
    for i in range(total):
        run.step(i)
        measured = i + 1 - run.warmup
        if progress is not None and measured > 0 and measured % report_every == 0:
            progress(measured, run.n)
    return run.result()
