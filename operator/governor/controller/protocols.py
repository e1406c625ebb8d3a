"""The collaborators of the control loop, as small Protocols with do-nothing defaults.

The loop runs with whatever is available: no metrics source → empty observations → the policy
holds; no decision engine → replicas are only kept inside their bounds; no alerting → a no-op
hook. Each real implementation (``governor.metrics``, ``governor.policy``, ``governor.alerting``)
plugs in through ``Controller`` without the loop knowing its details.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from governor.alerting.rules import AlertContext
from governor.model import Decision, Observation, Precision, ScaleDirection, ServiceKey, ServiceSpec

logger = logging.getLogger(__name__)


class MetricsSource(Protocol):
    """Same contract as ``governor.metrics.source.MetricsSource``: one observation per service per tick."""

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]: ...


class EmptyMetrics:
    """Observes nothing: every service's signals are missing, so the policy holds."""

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        return {}


class Policy(Protocol):
    """The decision engine: ``governor.policy.decide`` and its state type behind one face."""

    def initial_state(self, replicas: int, precision: Precision) -> Any: ...

    def observed(self, state: Any, replicas: int, precision: Precision, swapping: bool) -> Any: ...

    def decide(self, spec: ServiceSpec, observation: Observation, state: Any, now: float) -> tuple[Decision, Any]: ...

    def save_state(self, state: Any) -> Mapping[str, Any] | None:
        """JSON-safe form of ``state`` for ``status.policyState`` (``None``: nothing worth keeping)."""

    def restore_state(self, saved: Mapping[str, Any]) -> Any: ...


class BoundsOnlyPolicy:
    """Stand-in decision engine: keeps replicas inside [minReplicas, maxReplicas] and changes nothing else."""

    # Its whole state is the workload's current replica count.
    def initial_state(self, replicas: int, precision: Precision) -> Any:
        return replicas

    def observed(self, state: Any, replicas: int, precision: Precision, swapping: bool) -> Any:
        return replicas

    def decide(self, spec: ServiceSpec, observation: Observation, state: Any, now: float) -> tuple[Decision, Any]:
        return hold_within_bounds(spec, int(state), now), state

    def save_state(self, state: Any) -> Mapping[str, Any] | None:
        return None

    def restore_state(self, saved: Mapping[str, Any]) -> Any:
        raise ValueError("the bounds-only policy keeps no state")


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


@dataclass(frozen=True)
class ModulePolicy:
    """Adapter over ``governor.policy`` (``decide`` + ``PolicyState``), looked up when the module provides them.

    ``config`` is the ``PolicyConfig`` to decide with (``None``: the module's default)."""

    module: Any
    config: Any = None

    def initial_state(self, replicas: int, precision: Precision) -> Any:
        return self.module.PolicyState.initial(replicas, precision)

    def observed(self, state: Any, replicas: int, precision: Precision, swapping: bool) -> Any:
        return state.observed(replicas=replicas, precision=precision, swapping=swapping)

    def decide(self, spec: ServiceSpec, observation: Observation, state: Any, now: float) -> tuple[Decision, Any]:
        if self.config is None:
            decision, new_state = self.module.decide(spec, observation, state, now)
        else:
            decision, new_state = self.module.decide(spec, observation, state, now, self.config)
        return decision, new_state

    def save_state(self, state: Any) -> Mapping[str, Any] | None:
        return dict(state.to_dict())

    def restore_state(self, saved: Mapping[str, Any]) -> Any:
        return self.module.PolicyState.from_dict(saved)


def default_policy() -> Policy:
    """``governor.policy`` when it offers ``decide`` and ``PolicyState``, else the bounds-only stand-in."""
    module = importlib.import_module("governor.policy")
    if hasattr(module, "decide") and hasattr(module, "PolicyState"):
        return ModulePolicy(module)
    logger.warning("governor.policy has no decide(); replicas are only kept inside their bounds")
    return BoundsOnlyPolicy()


@dataclass(frozen=True)
class TickReport:
    """What one tick saw and decided, handed to the alerting hook."""

    now: float
    specs: Sequence[ServiceSpec]
    observations: Mapping[ServiceKey, Observation]
    decisions: Mapping[ServiceKey, Decision]


class ActiveGate(Protocol):
    """Asked at the top of every tick: may this replica act now? (``controller.peering`` with HA.)"""

    async def may_act(self, now: float) -> bool: ...


class AlwaysActive:
    """Standalone: the only replica is always the active one."""

    async def may_act(self, now: float) -> bool:
        return True


class TickHook(Protocol):
    """ALERTING HOOK: called once at the end of every tick (rules evaluate, the notifier delivers).

    Its state lives in the CR status: ``restore`` seeds a service from it, ``status_patch`` is what
    the hook adds to it, ``forget`` drops a deleted service. ``governor.alerting.AlertingHook`` fits.
    """

    async def after_tick(self, report: TickReport) -> None: ...

    def restore(self, key: ServiceKey, status: Mapping[str, Any] | None) -> None: ...

    def status_patch(self, key: ServiceKey, with_budget: bool = False) -> dict[str, Any]: ...

    def set_context(self, key: ServiceKey, context: AlertContext) -> None:
        """What actuation reported for the service this tick (a failed rollout), kept until replaced."""
        ...

    def problems(self, key: ServiceKey) -> tuple[str, ...] | None:
        """Why some of the service's alerts cannot be delivered (``path: message``); None before it was seen."""
        ...

    def forget(self, key: ServiceKey) -> None: ...


class NoAlerts:
    async def after_tick(self, report: TickReport) -> None:
        return None

    def restore(self, key: ServiceKey, status: Mapping[str, Any] | None) -> None:
        return None

    def status_patch(self, key: ServiceKey, with_budget: bool = False) -> dict[str, Any]:
        return {}

    def set_context(self, key: ServiceKey, context: AlertContext) -> None:
        return None

    def problems(self, key: ServiceKey) -> tuple[str, ...] | None:
        return None

    def forget(self, key: ServiceKey) -> None:
        return None
