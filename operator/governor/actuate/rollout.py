"""Rolling precision swaps: what a Deployment's status says about a rollout, and the pure steps.

A rollout of the new variant is complete when the Deployment controller has seen the latest
spec (``observedGeneration >= generation``), every replica runs the new template
(``updatedReplicas``), all of them are available (``availableReplicas``) and no old pod is left
(``status.replicas``). It has failed when the controller reports ``Progressing=False`` with reason
``ProgressDeadlineExceeded`` for the current generation, or when the swap's own timeout
(``spec.precision.swapTimeoutSeconds``) passes first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from governor.actuate.overrides import container_matches, model_container
from governor.actuate.swap import (
    Action,
    ActionKind,
    QuarantineEntry,
    Step,
    SwapPhase,
    SwapRecord,
    SwapStrategy,
    fail,
    finish_failed,
    finish_succeeded,
    rolling_update_for,
)


@dataclass(frozen=True)
class RolloutView:
    """The parts of a Deployment a rolling swap watches."""

    generation: int
    observed_generation: int
    replicas: int  # spec.replicas
    status_replicas: int  # pods of every template
    updated: int
    available: int
    progress_failed: bool
    container: Mapping[str, Any]  # the model container of the current template
    rolling_update: Mapping[str, Any] | None

    @property
    def observed(self) -> bool:
        return self.observed_generation >= self.generation

    @property
    def complete(self) -> bool:
        return (
            self.observed
            and self.updated >= self.replicas
            and self.available >= self.replicas
            and self.status_replicas <= self.replicas
        )


def rollout_view(deployment: Mapping[str, Any], container_name: str | None = None) -> RolloutView:
    """Read a Deployment object; raises ``ContainerNotFound`` when the model container is missing."""
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    strategy = spec.get("strategy") or {}
    return RolloutView(
        generation=int(meta.get("generation", 0) or 0),
        observed_generation=int(status.get("observedGeneration", 0) or 0),
        replicas=int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1),
        status_replicas=int(status.get("replicas", 0) or 0),
        updated=int(status.get("updatedReplicas", 0) or 0),
        available=int(status.get("availableReplicas", 0) or 0),
        progress_failed=_progress_failed(status.get("conditions") or ()),
        container=model_container(spec.get("template") or {}, container_name),
        rolling_update=strategy.get("rollingUpdate"),
    )


def _progress_failed(conditions: Sequence[Mapping[str, Any]]) -> bool:
    return any(
        c.get("type") == "Progressing" and c.get("status") == "False" and c.get("reason") == "ProgressDeadlineExceeded"
        for c in conditions
    )


def choose_strategy(replicas: int, max_replicas: int, max_unavailable: int | None = None) -> SwapStrategy:
    """Surge one pod at a time, unless the service already runs at maxReplicas (no room for a surge pod):
    then one replica at a time, or the batch the decision engine asked for (``Decision.swap_max_unavailable``)."""
    if replicas < max_replicas:
        return SwapStrategy.SURGE
    return SwapStrategy.BATCH if max_unavailable is not None and max_unavailable > 1 else SwapStrategy.ONE_AT_A_TIME


def rolling_forward(
    record: SwapRecord, view: RolloutView, target: Mapping[str, Any], now: float, timeout: float
) -> Step:
    """``Rolling`` and ``Finalizing``: get the new container into the template, then wait for the rollout."""
    if not container_matches(view.container, target):
        if now > record.deadline:
            return fail(record, now, "the new template could not be written before the swap timeout", timeout)
        strategy = rolling_update_for(
            SwapStrategy.SURGE if record.phase == SwapPhase.FINALIZING else record.strategy, record.max_unavailable
        )
        return Step(record, actions=(Action(ActionKind.PATCH_TEMPLATE, container=target, rolling_update=strategy),))
    if view.complete:
        return finish_succeeded(record, now)
    if view.observed and view.progress_failed:
        return fail(record, now, "the Deployment reports ProgressDeadlineExceeded", timeout)
    if now > record.deadline:
        detail = f"{view.updated}/{view.replicas} updated, {view.available} available"
        return fail(record, now, f"not rolled out within {timeout:.0f}s ({detail})", timeout)
    return Step(record)


def rolling_back(
    record: SwapRecord,
    view: RolloutView,
    now: float,
    quarantine: Sequence[QuarantineEntry],
    cooldown: float,
) -> Step:
    """``RollingBack``: restore the previous container, wait for that rollout, then quarantine and stop."""
    previous = record.previous_container
    if previous is not None and not container_matches(view.container, previous):
        rolling_update = rolling_update_for(record.strategy, record.max_unavailable)
        return Step(
            record, actions=(Action(ActionKind.PATCH_TEMPLATE, container=previous, rolling_update=rolling_update),)
        )
    if view.complete:
        return finish_failed(record, now, quarantine, cooldown)
    if now > record.deadline:
        return finish_failed(record, now, quarantine, cooldown, " (the rollback itself is still rolling out)")
    return Step(record)
