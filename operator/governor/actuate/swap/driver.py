"""Drive a persisted precision swap forward by one tick: read, step purely, persist, then act.

Every tick the driver reads what the phase watches (the Deployment, or the pods), asks the pure
step functions of ``rollout`` / ``inplace_plan`` what comes next, writes the new record to
``status.swap`` *before* carrying out the step's actions (write-ahead), and then carries them out.
A phase change is followed at once by the next step, so a swap that is started also gets its
template written in the same tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from governor.actuate.swap.inplace import InPlaceClient, InPlaceError, InPlaceTarget, PodEndpoints
from governor.actuate.swap.inplace_plan import (
    batch_size,
    in_place_step,
    pod_view,
    record_results,
    reverting_actions,
)
from governor.actuate.swap.journal import (
    Action,
    ActionKind,
    Note,
    QuarantineEntry,
    Step,
    SwapPhase,
    SwapRecord,
    fail,
    finish_failed,
)
from governor.actuate.swap.overrides import ContainerNotFound, apply_variant, model_container
from governor.actuate.swap.rollout import cancel_step, cancellable, rolling_back, rolling_forward, rollout_view
from governor.actuate.swap.selectors import UnsupportedSelector
from governor.actuate.writes import delete_pod, list_pods, set_model_container, set_rolling_update
from governor.kube.client import ApiError, KubeApi, KubeObject
from governor.model import Precision, ServiceSpec, Variant

logger = logging.getLogger(__name__)
MAX_STEPS_PER_TICK: Final = 5


@dataclass(frozen=True)
class SwapContext:
    """One service's swap as the driver sees it this tick."""

    spec: ServiceSpec
    deployment_path: str
    container_name: str | None
    target_for: Callable[[KubeObject, Precision], InPlaceTarget | None]  # pod → its server, for a variant
    persist: Callable[[SwapRecord, tuple[QuarantineEntry, ...]], Awaitable[None]]
    quarantine_seconds: float
    pod_timeout_seconds: float

    @property
    def timeout(self) -> float:
        return self.spec.precision.swap_timeout_seconds

    def variant(self, precision: Precision) -> Variant:
        return self.spec.precision.variant(precision) or Variant(precision)


@dataclass
class SwapDriver:
    api: KubeApi
    http: InPlaceClient
    endpoints: PodEndpoints
    # (service uid, pod, precision) loads this process has sent: after a restart, in-flight loads are re-sent.
    _sent: set[tuple[str, str, str]] = field(default_factory=set)

    async def advance(
        self, ctx: SwapContext, record: SwapRecord, quarantine: tuple[QuarantineEntry, ...], now: float
    ) -> tuple[SwapRecord, tuple[QuarantineEntry, ...], list[Note]]:
        notes: list[Note] = []
        for _ in range(MAX_STEPS_PER_TICK):
            step = await self._step(ctx, record, quarantine, now)
            quarantine = step.quarantine if step.quarantine is not None else quarantine
            notes.extend(step.notes)
            if step.record != record or step.quarantine is not None:
                await ctx.persist(step.record, quarantine)  # write-ahead: the record before its actions
            await self._execute(ctx, step.record, step.actions)
            moved = step.record.phase != record.phase
            record = step.record
            if not moved or not record.active:
                break
        return record, quarantine, notes

    async def cancel(self, ctx: SwapContext, record: SwapRecord, now: float, why: str) -> list[Note] | None:
        """Undo a rolling swap that no pod has moved to yet; ``None`` (nothing done) once pods have moved.

        The template is restored *before* the caller clears the record: killed in between, the
        operator finds the record with the old template, which is again a swap nothing moved to."""
        try:
            view = rollout_view(await self.api.get(ctx.deployment_path), ctx.container_name)
        except ContainerNotFound:
            return None  # the next step fails the swap, with the reason
        if not cancellable(record, view, self.target_container(ctx, record)):
            return None
        step = cancel_step(record, now, why)
        await self._execute(ctx, step.record, step.actions)
        return list(step.notes)

    async def _step(
        self, ctx: SwapContext, record: SwapRecord, quarantine: tuple[QuarantineEntry, ...], now: float
    ) -> Step:
        if record.phase in (SwapPhase.ROLLING, SwapPhase.FINALIZING, SwapPhase.ROLLING_BACK):
            deployment = await self.api.get(ctx.deployment_path)
            try:
                view = rollout_view(deployment, ctx.container_name)
            except ContainerNotFound as exc:  # the template changed under the swap (or the annotation did)
                if record.phase == SwapPhase.ROLLING_BACK:
                    detail = f" (the template could not be restored: {exc})"
                    return finish_failed(record, now, quarantine, ctx.quarantine_seconds, detail)
                return fail(record, now, str(exc), ctx.timeout)
            if record.phase == SwapPhase.ROLLING_BACK:
                return rolling_back(record, view, now, quarantine, ctx.quarantine_seconds)
            return rolling_forward(record, view, self.target_container(ctx, record), now, ctx.timeout)
        if record.phase == SwapPhase.IN_PLACE:
            return await self._in_place(ctx, record, now)
        if record.phase == SwapPhase.REVERTING:
            return await self._revert(ctx, record, quarantine, now)
        return Step(record)

    def target_container(self, ctx: SwapContext, record: SwapRecord) -> KubeObject:
        """The model container of the new variant: the CR's template (owned) or the pre-swap container, overridden."""
        if ctx.spec.template is not None:
            base = model_container(ctx.spec.template, ctx.container_name)
        else:
            base = dict(record.previous_container or {})
        return apply_variant(base, ctx.variant(record.to_precision))

    async def _pods(self, ctx: SwapContext) -> dict[str, KubeObject]:
        """The workload's pods by name, as its selector selects them (``UnsupportedSelector``: not listed)."""
        deployment = await self.api.get(ctx.deployment_path)
        pods = await list_pods(self.api, ctx.spec.namespace, (deployment.get("spec") or {}).get("selector"))
        return {str((p.get("metadata") or {}).get("name")): p for p in pods}

    async def _in_place(self, ctx: SwapContext, record: SwapRecord, now: float) -> Step:
        try:
            pods = await self._pods(ctx)
        except UnsupportedSelector as exc:
            return fail(record, now, f"the Deployment's pods cannot be found by its selector: {exc}", ctx.timeout)
        views = [pod_view(p) for p in pods.values()]
        size = batch_size(len(views), ctx.spec.precision.in_place_max_unavailable)
        plan = in_place_step(record, views, now, size, ctx.pod_timeout_seconds, ctx.timeout)
        if plan.record.phase != SwapPhase.IN_PLACE or not plan.actions:
            return plan
        if plan.record != record:
            await ctx.persist(plan.record, ())  # in-flight pods are on record before they are asked to load
        ready, failed = await self._load_all(ctx, plan.record, [pods[a.pod] for a in plan.actions if a.pod])
        result = record_results(plan.record, ready, failed, now, ctx.timeout)
        return replace(result, notes=(*plan.notes, *result.notes))

    async def _load_all(
        self, ctx: SwapContext, record: SwapRecord, pods: Sequence[KubeObject]
    ) -> tuple[list[str], dict[str, str]]:
        outcomes = await asyncio.gather(*(self._load_one(ctx, record, p) for p in pods))
        ready = [name for name, ok, _ in outcomes if ok]
        failed = {name: why for name, ok, why in outcomes if not ok and why}
        return ready, failed

    async def _load_one(self, ctx: SwapContext, record: SwapRecord, pod: KubeObject) -> tuple[str, bool, str | None]:
        """(pod, ready now, failure reason or None while it is still loading)."""
        name = str((pod.get("metadata") or {}).get("name"))
        target = ctx.target_for(pod, record.to_precision)
        if target is None:
            return name, False, "no address to reach its server (status.podIP)"
        key = (ctx.spec.uid, name, record.to_precision.value)
        try:
            if key not in self._sent:
                await self.http.load(target)
                self._sent.add(key)
            return name, await self.http.ready(target), None
        except InPlaceError as exc:
            return name, False, f"load failed: {exc}"

    async def _revert(
        self, ctx: SwapContext, record: SwapRecord, quarantine: tuple[QuarantineEntry, ...], now: float
    ) -> Step:
        """Swapped pods load the previous version (once: a reverted pod leaves the record); pods that
        cannot are restarted. A restart the API refuses is tried again on the next tick, until the
        phase's deadline (``swapTimeoutSeconds``): then the revert gives up, as a rollback does."""
        try:
            pods = await self._pods(ctx)
        except UnsupportedSelector as exc:
            pods, unlisted = {}, f" (its pods could not be listed: {exc})"
        else:
            unlisted = ""
        actions = reverting_actions(record, [pod_view(p) for p in pods.values()])
        restart = [a.pod for a in actions if a.kind == ActionKind.DELETE_POD and a.pod]
        for action in actions:
            pod = action.pod
            if action.kind == ActionKind.REVERT and pod and not await self._revert_one(ctx, record, pods[pod]):
                restart.append(pod)
        refused = await self._restart(ctx, restart)
        if refused:
            pod, why = next(iter(sorted(refused.items())))
            if now <= record.deadline:
                logger.warning("%s: reverting: pod %s could not be restarted (tried again): %s", ctx.spec.key, pod, why)
                failed = tuple(dict.fromkeys((*record.pods_failed, *restart)))
                return Step(replace(record, pods_done=(), in_flight=(), pods_failed=failed))
            detail = f" (gave up after {ctx.timeout:.0f}s: could not restart pod {pod}: {why})"
        else:
            restarted = sorted(restart)
            detail = f" ({len(restarted)} pod(s) restarted: {', '.join(restarted)})" if restarted else ""
        detail += unlisted
        if record.template_patched:
            return Step(record.to(SwapPhase.ROLLING_BACK, now, now + ctx.timeout, message=record.message + detail))
        return finish_failed(record, now, quarantine, ctx.quarantine_seconds, detail)

    async def _restart(self, ctx: SwapContext, pods: Sequence[str]) -> dict[str, str]:
        """Delete each pod so its Deployment recreates it; the pods the API refused, with its answer."""
        refused: dict[str, str] = {}
        for pod in pods:
            try:
                await delete_pod(self.api, ctx.spec.namespace, pod)
            except ApiError as exc:
                refused[pod] = str(exc)
        return refused

    async def _revert_one(self, ctx: SwapContext, record: SwapRecord, pod: KubeObject) -> bool:
        """Load the previous variant back on a swapped pod; ``False`` when it has to be restarted instead."""
        target = ctx.target_for(pod, record.from_precision)
        if target is None or target.version is None:
            return False
        try:
            await self.http.load(target)
            return await self.http.ready(target)
        except InPlaceError as exc:
            logger.warning("%s: pod %s could not go back in place: %s", ctx.spec.key, target.base_url, exc)
            return False

    async def _execute(self, ctx: SwapContext, record: SwapRecord, actions: Sequence[Action]) -> None:
        for action in actions:
            if action.kind == ActionKind.PATCH_TEMPLATE and action.container is not None:
                await set_model_container(
                    self.api, ctx.deployment_path, action.container, action.rolling_update, ctx.container_name
                )
            elif action.kind in (ActionKind.RESTORE_STRATEGY, ActionKind.SET_STRATEGY) and action.rolling_update:
                await set_rolling_update(self.api, ctx.deployment_path, action.rolling_update)
            elif action.kind == ActionKind.DELETE_POD and action.pod:
                await delete_pod(self.api, ctx.spec.namespace, action.pod)
