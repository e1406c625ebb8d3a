"""Knative's Pod Autoscaler (KPA) as a simulated baseline, following its published algorithm.

``KpaDecider.scale`` mirrors ``pkg/autoscaler/scaling/autoscaler.go``: desired pods are
``ceil(observed concurrency / target)`` over a 60 s stable window and a 6 s panic window,
bounded by the max scale-up rate (×1000) and scale-down rate (÷2) of the ready pods. Panic
starts when the panic-window pods reach 200 % of the ready pods, is extended while that holds
and ends one stable window after it stopped; while panicking the autoscaler never scales
down. Scale to zero is off (``min-scale`` ≥ 1). Concurrency comes from the queue-proxies,
averaged per second, so the autoscaler sees it with about one second of lag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from governor.sim.control import Command, SimView


@dataclass(frozen=True)
class KpaSpec:
    target: float  # concurrency per pod the autoscaler aims at (container target × utilisation)
    stable_window_s: float = 60.0
    panic_window_s: float = 6.0
    panic_threshold: float = 2.0  # panic when panic-window pods ≥ 200 % of ready pods
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0


@dataclass
class KpaDecider:
    spec: KpaSpec
    panic_time: float | None = None
    max_panic_pods: int = 0

    @property
    def panicking(self) -> bool:
        return self.panic_time is not None

    def scale(self, now: float, stable_concurrency: float, panic_concurrency: float, ready_pods: int) -> int:
        """Desired pods from the total concurrency averaged over the stable and panic windows."""
        ready = max(1, ready_pods)
        max_up = math.ceil(self.spec.max_scale_up_rate * ready)
        max_down = math.floor(ready / self.spec.max_scale_down_rate)
        stable_pods = math.ceil(stable_concurrency / self.spec.target)
        panic_pods = math.ceil(panic_concurrency / self.spec.target)
        desired_stable = int(min(max(stable_pods, max_down), max_up))
        desired_panic = int(min(max(panic_pods, max_down), max_up))
        over_threshold = panic_pods / ready >= self.spec.panic_threshold
        if over_threshold:
            self.panic_time = now
        elif self.panic_time is not None and now > self.panic_time + self.spec.stable_window_s:
            self.panic_time = None
            self.max_panic_pods = 0
        if self.panic_time is None:
            return desired_stable
        self.max_panic_pods = max(self.max_panic_pods, desired_panic)
        return self.max_panic_pods


@dataclass
class KpaController:
    decider: KpaDecider
    min_replicas: int
    max_replicas: int
    container_concurrency: int
    utilization: float
    name: str = "kpa"
    period_s: int = 2  # Knative's tick interval

    def describe(self) -> str:
        return (
            f"Knative KPA: metric concurrency, containerConcurrency {self.container_concurrency}, "
            f"target utilisation {self.utilization:.0%} (target {self.decider.spec.target:g}/pod), "
            f"stable {self.decider.spec.stable_window_s:g} s / panic {self.decider.spec.panic_window_s:g} s, "
            f"panic at {self.decider.spec.panic_threshold:.0%}, min-scale {self.min_replicas} (no scale to zero)"
        )

    def decide(self, view: SimView) -> Command:
        history = view.truth.concurrency
        if history.size == 0:
            return Command(view.replicas, view.precision)
        stable = _window_mean(history, self.decider.spec.stable_window_s)
        panic = _window_mean(history, self.decider.spec.panic_window_s)
        desired = self.decider.scale(view.now, stable, panic, view.ready)
        return Command(max(self.min_replicas, min(self.max_replicas, desired)), view.precision)


def _window_mean(history: np.ndarray, window_s: float) -> float:
    return float(history[-int(window_s) :].mean())
