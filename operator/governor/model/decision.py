"""What the policy decided for one service, with the reasons an SRE reads in status and Events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from governor.model.spec import Precision


class ScaleDirection(StrEnum):
    UP = "Up"
    DOWN = "Down"
    NONE = "None"  # the recommendation equals the current replicas
    HOLD = "Hold"  # data missing or stale, or a swap in progress: replicas held on purpose


@dataclass(frozen=True)
class Decision:
    at: float
    current_replicas: int
    replicas: int  # desired replicas after bounds, stabilisation and rate limits
    current_precision: Precision
    precision: Precision  # desired precision; differs from current when a swap is wanted
    direction: ScaleDirection
    reasons: tuple[str, ...]  # human-readable, most important first
    # Signal-wise raw recommendations before stabilisation ("latency", "gpu", "concurrency", ...).
    recommendations: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # Pods a *rolling* precision swap may have out of service at once (the Deployment's
    # ``maxUnavailable`` for this rollout), counting pods still starting; ``None`` = the
    # workload's own setting (one at a time at maxReplicas). Set only while a swap is wanted.
    swap_max_unavailable: int | None = None

    @property
    def swap(self) -> bool:
        return self.precision != self.current_precision

    @property
    def summary(self) -> str:
        return "; ".join(self.reasons)
