"""Stand-in decision engines for tests that must see only what they set up: ``Decide`` functions.

``bounds_only`` keeps replicas inside [minReplicas, maxReplicas] and changes nothing else; tests build
their own deciders on it (one that always wants int4, one that fails for one service).
"""

from __future__ import annotations

from governor.model import Decision, Observation, ScaleDirection, ServiceSpec
from governor.policy import PolicyState


def hold_within_bounds(spec: ServiceSpec, current: int, now: float) -> Decision:
    """A decision that only enforces the replica bounds (``current < 0`` means unknown: hold)."""
    precision = spec.precision.preferred
    if current < 0:
        return Decision(now, 0, 0, precision, precision, ScaleDirection.HOLD, ("workload replicas unknown",))
    wanted = max(spec.min_replicas, min(spec.max_replicas, current))
    if wanted > current:
        direction, reasons = ScaleDirection.UP, (f"below minReplicas {spec.min_replicas}",)
    elif wanted < current:
        direction, reasons = ScaleDirection.DOWN, (f"above maxReplicas {spec.max_replicas}",)
    else:
        direction, reasons = ScaleDirection.HOLD, ("decision engine not available: holding replicas",)
    return Decision(now, current, wanted, precision, precision, direction, reasons)


def bounds_only(
    spec: ServiceSpec, observation: Observation, state: PolicyState, now: float
) -> tuple[Decision, PolicyState]:
    return hold_within_bounds(spec, state.replicas, now), state
