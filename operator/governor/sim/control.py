"""The one interface every simulated controller implements, and what it may look at.

Governor and every baseline get the same ``SimView`` each time their sync period comes round
and answer with a ``Command`` (desired replicas and precision). Only the reactive oracle, the
clairvoyant bound and KPA (its queue-proxy concurrency) are meant to read ``SimView.truth``;
every other controller reads the lagged ``observation`` and the fleet's Kubernetes-visible
state (pod counts and readiness), as it would in a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from governor.model.observation import Observation
from governor.model.spec import Precision, ServiceSpec


@dataclass(frozen=True)
class Truth:
    """The simulator's ground truth at the start of a second, without monitoring lag."""

    arrival_rate: float  # mean over the last few seconds
    queue: float
    running: float
    concurrency: np.ndarray  # per-second (running + queued) so far, oldest first
    capacity: float = 0.0  # requests/s the serving pods complete at full batch now


@dataclass(frozen=True)
class SimView:
    now: float
    spec: ServiceSpec
    observation: Observation  # as a monitoring stack shows it (lagged, windowed)
    replicas: int  # desired replicas currently set on the Deployment
    alive: int  # pods that exist, starting ones included
    ready: int
    pods_with_metrics: int  # pods that were ready at the last scrape
    precision: Precision  # the precision the Deployment is set to
    swapping: bool
    truth: Truth


@dataclass(frozen=True)
class Command:
    replicas: int
    precision: Precision
    # Pods a rolling swap may have out of service at once (starting pods included); None: one at a time.
    max_unavailable: int | None = None


class SimController(Protocol):
    """A policy under test: ``decide`` is called every ``period_s`` seconds of simulated time."""

    name: str
    period_s: int

    def describe(self) -> str:
        """One line saying how this controller is configured (printed with the results)."""
        ...

    def decide(self, view: SimView) -> Command: ...
