"""The one cluster-wide control loop: every tick, read workloads, observe, decide, act, report.

One asyncio task for the whole operator — not one timer per object — so the API reads per tick
stay fixed (one Deployment list per namespace, one batched metrics call) as services are added.
Each service is reconciled on its own: one broken service is logged and counted, and the loop goes
on with the others. Status is patched only when something other than a timestamp changed, or on
the slow heartbeat, so API writes stay bounded too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from governor.actuate.kube import ApiError, KubeApi, api_path
from governor.actuate.render import CR_API_VERSION
from governor.actuate.workloads import (
    WorkloadKey,
    WorkloadState,
    apply_owned,
    read_deployments,
    read_workload,
    scale,
    workload_name,
)
from governor.controller import events
from governor.controller.metrics import OperatorMetrics
from governor.controller.protocols import MetricsSource, NoAlerts, Policy, TickHook, TickReport
from governor.controller.registry import Entry, ServiceRegistry
from governor.controller.status import Seen, build_status, changed
from governor.model import Decision, Observation, ScaleDirection, ServiceKey, ServiceSpec
from governor.model import conditions as cond

logger = logging.getLogger(__name__)
PARALLEL_RECONCILES = 8


@dataclass
class Runtime:
    """What the loop remembers about one service between ticks (a cache: status is the lasting record)."""

    status: dict[str, Any] = field(default_factory=dict)
    written_at: float = 0.0
    policy_state: Any = None
    last_scale_time: float | None = None
    workload_missing: bool | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class ControlLoop:
    api: KubeApi
    registry: ServiceRegistry
    metrics_source: MetricsSource
    policy: Policy
    recorder: events.EventRecorder
    metrics: OperatorMetrics
    tick_seconds: float = 10.0
    heartbeat_seconds: float = 60.0
    hook: TickHook = field(default_factory=NoAlerts)
    clock: Callable[[], float] = time.time
    _runtime: dict[ServiceKey, Runtime] = field(default_factory=dict)

    # ---- lifecycle -------------------------------------------------------------------------

    async def run_forever(self) -> None:
        while True:
            started = time.monotonic()
            await self.tick(self.clock())
            await asyncio.sleep(max(0.0, self.tick_seconds - (time.monotonic() - started)))

    def seed(self, entry: Entry) -> None:
        """Start from the status the object already carries (a restarted operator keeps its conditions)."""
        if entry.key not in self._runtime:
            self._runtime[entry.key] = Runtime(status=dict(entry.status), written_at=self.clock())

    def forget(self, key: ServiceKey) -> None:
        self._runtime.pop(key, None)

    def status_of(self, key: ServiceKey) -> Mapping[str, Any]:
        return self._runtime[key].status if key in self._runtime else {}

    # ---- one tick --------------------------------------------------------------------------

    async def tick(self, now: float) -> None:
        started = time.monotonic()
        entries = self.registry.entries()
        try:
            workloads = await read_deployments(self.api, {e.key.namespace for e in entries})
        except ApiError as exc:
            self.metrics.api_errors.labels(operation="list_workloads").inc()
            logger.warning("tick skipped: cannot list Deployments: %s", exc)
            return
        specs = [e.spec for e in entries if e.spec is not None]
        observations = await self._observe(specs, now)
        decisions: dict[ServiceKey, Decision] = {}
        gate = asyncio.Semaphore(PARALLEL_RECONCILES)

        async def one(entry: Entry) -> None:
            async with gate:
                decision = await self._reconcile_isolated(entry, workloads, observations, now)
            if decision is not None:
                decisions[entry.key] = decision

        await asyncio.gather(*(one(e) for e in entries))
        await self._after_tick(TickReport(now, specs, observations, decisions))
        self.metrics.ticks.inc()
        self.metrics.tick_seconds.observe(time.monotonic() - started)
        self.metrics.set_services(self._condition_counts())

    async def _observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        if not specs:
            return {}
        try:
            return await self.metrics_source.observe(specs, now)
        except Exception:  # isolation boundary: a broken metrics source must not stop scaling decisions
            logger.exception("metrics source failed; every service is held this tick")
            return {}

    async def _after_tick(self, report: TickReport) -> None:
        try:
            await self.hook.after_tick(report)  # ALERTING HOOK: rules + notifier run here
        except Exception:  # isolation boundary: alert delivery problems never stop the control loop
            logger.exception("tick hook failed")

    async def _reconcile_isolated(
        self,
        entry: Entry,
        workloads: Mapping[WorkloadKey, WorkloadState],
        obs: Mapping[ServiceKey, Observation],
        now: float,
    ) -> Decision | None:
        try:
            return await self.reconcile(entry, workloads, obs, now)
        except ApiError as exc:
            self.metrics.api_errors.labels(operation="reconcile").inc()
            logger.warning("reconcile of %s failed: %s", entry.key, exc)
        except Exception:  # isolation boundary: one broken service never stops the loop (logged + counted)
            self.metrics.reconcile_errors.inc()
            logger.exception("reconcile of %s failed", entry.key)
        return None

    async def reconcile(
        self,
        entry: Entry,
        workloads: Mapping[WorkloadKey, WorkloadState],
        obs: Mapping[ServiceKey, Observation],
        now: float,
    ) -> Decision | None:
        if self.registry.get(entry.key) is not entry:
            return None  # changed or deleted while this tick ran; the next tick sees the new entry
        self.seed(entry)
        runtime = self._runtime[entry.key]
        async with runtime.lock:
            spec = entry.spec
            if spec is None:
                await self.write_status(Seen(entry, None), now)
                return None
            workload, error = await self._workload(spec, workloads)
            observation = obs.get(spec.key) or Observation(at=now, source="none")
            decision = None
            if workload is not None:
                decision = await self._decide_and_act(spec, workload, observation, runtime, now)
            elif spec.owned:
                await self.ensure_owned(entry)
            await self._report_workload(entry, runtime, workload, error)
            seen = Seen(entry, workload, error, observation, decision, runtime.last_scale_time)
            await self.write_status(seen, now)
            return decision

    async def _workload(
        self, spec: ServiceSpec, workloads: Mapping[WorkloadKey, WorkloadState]
    ) -> tuple[WorkloadState | None, str | None]:
        ref = spec.scale_target_ref
        if ref is None or ref.kind == "Deployment":
            workload = workloads.get((spec.namespace, workload_name(spec)))
        else:
            try:
                workload = await read_workload(self.api, spec)
            except ApiError as exc:
                return None, str(exc)
        if workload is not None or ref is None:
            return workload, None
        return None, f"{ref.kind} {spec.namespace}/{ref.name} named by spec.scaleTargetRef does not exist"

    async def _decide_and_act(
        self, spec: ServiceSpec, workload: WorkloadState, obs: Observation, runtime: Runtime, now: float
    ) -> Decision:
        precision = spec.precision.preferred
        state = runtime.policy_state
        if state is None:
            state = self.policy.initial_state(workload.replicas, precision)
        state = self.policy.observed(state, workload.replicas, precision, False)
        decision, runtime.policy_state = self.policy.decide(spec, obs, state, now)
        self.metrics.decisions.labels(direction=decision.direction.value).inc()
        moving = decision.direction in (ScaleDirection.UP, ScaleDirection.DOWN)
        if not moving or decision.replicas == workload.replicas:
            return decision
        if spec.observe_only:
            logger.info(
                "%s: would scale %d → %d (observe only): %s",
                spec.key,
                workload.replicas,
                decision.replicas,
                decision.summary,
            )
            return decision
        replicas = await scale(self.api, spec, decision.replicas)
        runtime.last_scale_time = now
        reason = events.SCALED_UP if replicas > workload.replicas else events.SCALED_DOWN
        message = f"{workload.replicas} → {replicas} replicas: {decision.summary}"
        logger.info("%s: %s %s", spec.key, reason, message)
        await self.recorder.post(spec.key, spec.uid, events.NORMAL, reason, message)
        return decision

    async def ensure_owned(self, entry: Entry) -> None:
        """Create the owned Deployment and Service when missing (first apply, or someone deleted them)."""
        if entry.spec is None or not entry.spec.owned:
            return
        result = await apply_owned(self.api, entry.spec)
        if result.created:
            message = f"created {' and '.join(result.created)} {entry.key}"
            await self.recorder.post(entry.key, entry.uid, events.NORMAL, events.CREATED, message)
        if result.updated:
            message = f"updated {' and '.join(result.updated)} {entry.key} to match the spec"
            await self.recorder.post(entry.key, entry.uid, events.NORMAL, events.UPDATED, message)

    async def _report_workload(
        self, entry: Entry, runtime: Runtime, workload: WorkloadState | None, error: str | None
    ) -> None:
        """Event on the flips of a target-mode workload's existence (not on every tick)."""
        spec = entry.spec
        missing = workload is None
        if spec is None or spec.owned or runtime.workload_missing == missing:
            runtime.workload_missing = missing
            return
        runtime.workload_missing = missing
        if missing:
            await self.recorder.post(
                entry.key, entry.uid, events.WARNING, events.TARGET_NOT_FOUND, error or "target not found"
            )
        elif runtime.status:
            await self.recorder.post(
                entry.key, entry.uid, events.NORMAL, events.TARGET_FOUND, f"found {workload_name(spec)}"
            )

    # ---- status ----------------------------------------------------------------------------

    async def write_status(self, seen: Seen, now: float, force: bool = False) -> bool:
        """Patch the status subresource when it materially changed or the heartbeat is due."""
        runtime = self._runtime[seen.entry.key]
        new = build_status(seen, runtime.status, now)
        due = now - runtime.written_at >= self.heartbeat_seconds
        if not force and not due and not changed(runtime.status, new):
            return False
        key = seen.entry.key
        path = api_path(CR_API_VERSION, "inferenceservices", key.namespace, key.name, "status")
        await self.api.patch(path, {"status": new})
        self.metrics.status_writes.inc()
        runtime.status = new
        runtime.written_at = now
        return True

    async def reconcile_now(self, entry: Entry) -> None:
        """Reconcile one service outside the tick (right after a handler saw it); no decision is taken."""
        self.seed(entry)
        runtime = self._runtime[entry.key]
        async with runtime.lock:
            workload, error = None, None
            if entry.spec is not None:
                workload = await read_workload(self.api, entry.spec)
                if workload is None and not entry.spec.owned:
                    _, error = await self._workload(entry.spec, {})
                await self._report_workload(entry, runtime, workload, error)
            seen = Seen(entry, workload, error, last_scale_time=runtime.last_scale_time)
            await self.write_status(seen, self.clock(), force=True)

    def _condition_counts(self) -> dict[str, int]:
        counts = {"Ready": 0, "NotReady": 0, "Invalid": 0}
        for runtime in self._runtime.values():
            conditions = runtime.status.get("conditions")
            if cond.is_true(conditions, cond.INVALID):
                counts["Invalid"] += 1
            elif cond.is_true(conditions, cond.READY):
                counts["Ready"] += 1
            else:
                counts["NotReady"] += 1
        return counts
