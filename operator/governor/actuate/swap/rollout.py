"""Rolling precision swaps: what a Deployment's status says about a rollout, and the pure steps.

A rollout of the new variant is complete when the Deployment controller has seen the latest
spec (``observedGeneration >= generation``), every replica runs the new template
(``updatedReplicas``), all of them are available (``availableReplicas``) and no old pod is left
(``status.replicas``). It has failed when the controller reports ``Progressing=False`` with reason
``ProgressDeadlineExceeded`` for the current generation, or when the swap's own timeout
(``spec.precision.swapTimeoutSeconds``) passes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from governor.actuate.swap.journal import (
    Action,
    ActionKind,
    Note,
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
from governor.actuate.swap.overrides import container_matches, model_container
from governor.kube.client import KubeObject
from governor.model.events import EventReason, EventType


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
    container: KubeObject  # the model container of the current template
    rolling_update: KubeObject | None

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


def rollout_view(deployment: KubeObject, container_name: str | None = None) -> RolloutView:
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


def _progress_failed(conditions: Sequence[KubeObject]) -> bool:
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


def rolling_forward(record: SwapRecord, view: RolloutView, target: KubeObject, now: float, timeout: float) -> Step:
    """``Rolling`` and ``Finalizing``: get the new container into the template, then wait for the rollout.

    While ``Rolling``, the Deployment's rollingUpdate is kept equal to the record's strategy, so a
    switch persisted in the record (``adopt_batch``) reaches the Deployment, after a restart too."""
    strategy = rolling_update_for(
        SwapStrategy.SURGE if record.phase == SwapPhase.FINALIZING else record.strategy, record.max_unavailable
    )
    if not container_matches(view.container, target):
        if now > record.deadline:
            return fail(record, now, "the new template could not be written before the swap timeout", timeout)
        return Step(record, actions=(Action(ActionKind.PATCH_TEMPLATE, container=target, rolling_update=strategy),))
    if view.complete:
        return finish_succeeded(record, now)
    if view.observed and view.progress_failed:
        return fail(record, now, "the Deployment reports ProgressDeadlineExceeded", timeout)
    if now > record.deadline:
        detail = f"{view.updated}/{view.replicas} updated, {view.available} available"
        return fail(record, now, f"not rolled out within {timeout:.0f}s ({detail})", timeout)
    if record.phase == SwapPhase.ROLLING and dict(view.rolling_update or {}) != dict(strategy):
        return Step(record, actions=(Action(ActionKind.SET_STRATEGY, rolling_update=strategy),))
    return Step(record)


def pods_out(record: SwapRecord) -> int:
    """Pods the record's strategy lets the rollout take out of service at once (a surge takes none)."""
    if record.strategy == SwapStrategy.SURGE:
        return 0
    return 1 if record.strategy == SwapStrategy.ONE_AT_A_TIME else record.max_unavailable


def adopt_batch(
    record: SwapRecord, replicas: int, max_replicas: int, batch: int | None, now: float
) -> SwapRecord | None:
    """The running rolling swap switched to the batch the decision engine asks for now, or ``None``.

    Only a ``Rolling`` swap at maxReplicas switches, and only upwards: ``batch`` (already bounded
    by ``safe_batch``) must take more pods out than the record's strategy does. When the engine
    asks for less, or for none, the rollout keeps what is already out (no churn)."""
    if record.phase != SwapPhase.ROLLING or batch is None or replicas < max_replicas:
        return None
    if batch <= pods_out(record):
        return None
    strategy = SwapStrategy.BATCH if batch > 1 else SwapStrategy.ONE_AT_A_TIME
    label = f"{strategy} {batch}" if strategy == SwapStrategy.BATCH else str(strategy)
    message = f"{label}: at maxReplicas ({replicas}) and short (was {record.strategy})"
    return replace(record, strategy=strategy, max_unavailable=batch, message=message)


def cancellable(record: SwapRecord, view: RolloutView, target: KubeObject) -> bool:
    """A rolling swap that has not replaced any pod yet: the template is not written, or the Deployment
    has seen it and still runs every old pod while no new one is ready (``updatedReplicas`` 0, or only
    surge pods still starting)."""
    if record.phase != SwapPhase.ROLLING:
        return False
    if not container_matches(view.container, target):
        return True
    old = view.status_replicas - view.updated
    return view.observed and old >= view.replicas and view.available <= old


def cancel_step(record: SwapRecord, now: float, why: str) -> Step:
    """Undo a swap no pod has moved to: the template and the strategy as they were before it."""
    note = Note(
        EventType.NORMAL,
        EventReason.SWAP_CANCELLED,
        f"swap {record.from_precision} → {record.to_precision} cancelled before any pod moved: {why}",
    )
    action = Action(
        ActionKind.PATCH_TEMPLATE, container=record.previous_container, rolling_update=record.previous_rolling_update
    )
    return Step(record, actions=(action,) if record.previous_container is not None else (), notes=(note,))


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
