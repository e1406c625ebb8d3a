"""The one cluster-wide control loop: every tick, read workloads, observe, decide, act, report.

One asyncio task for the whole operator — not one timer per object — so the API reads per tick
stay fixed (one Deployment list per namespace, one batched metrics call) as services are added.
Each service is reconciled on its own: one broken service is logged and counted, and the loop goes
on with the others. Status is patched only when something other than a timestamp changed, or on
the slow heartbeat, so API writes stay bounded too. With several replicas (Kopf peering), only the
active one ticks: a standby reads nothing but its gate and writes nothing, and on taking over it
first re-reads every service, since what it cached went stale while another replica acted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from governor.actuate.actuator import SWAP_FAILED, ActuationResult, Actuator, ConditionUpdate, merge_status
from governor.actuate.workloads import (
    NotOwned,
    WorkloadKey,
    WorkloadState,
    apply_owned,
    claim,
    read_deployments,
    read_workload,
    workload_name,
)
from governor.alerting import AlertContext
from governor.controller import events
from governor.controller.metrics import OperatorMetrics, service_gauges
from governor.controller.protocols import (
    ActiveGate,
    AlwaysActive,
    MetricsSource,
    NoAlerts,
    Policy,
    TickHook,
    TickReport,
)
from governor.controller.registry import Entry, ServiceRegistry
from governor.controller.status import Seen, build_status
from governor.kube.client import ApiError, KubeApi
from governor.kube.status import StatusWriter
from governor.model import Decision, Observation, Precision, ScaleDirection, ServiceKey, ServiceSpec
from governor.model import conditions as cond

logger = logging.getLogger(__name__)
PARALLEL_RECONCILES = 8


@dataclass
class Runtime:
    """What the loop remembers about one service between ticks (a cache: status is the lasting record)."""

    status: dict[str, Any] = field(default_factory=dict)  # what the next status is built from (others merge in)
    policy_state: Any = None
    swapping: bool = False  # actuation reported a precision swap under way (no scale-down meanwhile)
    conditions: tuple[ConditionUpdate, ...] = ()  # actuation's last condition updates
    workload_missing: bool | None = None
    alert_problems: tuple[str, ...] | None = None  # the alerting hook's last routing problems (None: not seen)
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
    actuator: Actuator | None = None  # None → a default Actuator over ``api``
    clock: Callable[[], float] = time.time
    gate: ActiveGate = field(default_factory=AlwaysActive)  # HA: is this replica the active one?
    on_takeover: Callable[[], Awaitable[None]] | None = None  # re-reads every service after standing by
    _runtime: dict[ServiceKey, Runtime] = field(default_factory=dict)
    _acting: bool = False  # the last tick acted
    _stale: bool = False  # stood by after acting: what it holds may be outdated

    def __post_init__(self) -> None:
        self.status_writer = StatusWriter(self.api, self.heartbeat_seconds)
        self._actuator = self.actuator if self.actuator is not None else Actuator(self.api, status=self.status_writer)

    # ---- lifecycle -------------------------------------------------------------------------

    async def run_forever(self) -> None:
        while True:
            started = time.monotonic()
            await self.tick(self.clock())
            await asyncio.sleep(max(0.0, self.tick_seconds - (time.monotonic() - started)))

    def seed(self, entry: Entry) -> None:
        """Start from the status the object already carries (a restarted operator keeps its conditions)."""
        if entry.key not in self._runtime:
            status = dict(entry.status)
            self._runtime[entry.key] = Runtime(status=status)
            self.status_writer.seed(entry.key, status, self.clock())
            self.hook.restore(entry.key, entry.status)

    def forget(self, key: ServiceKey) -> None:
        self._runtime.pop(key, None)
        self.status_writer.forget(key)
        self.hook.forget(key)
        self.metrics.forget_service(key)

    def status_of(self, key: ServiceKey) -> Mapping[str, Any]:
        return self._runtime[key].status if key in self._runtime else {}

    # ---- one tick --------------------------------------------------------------------------

    async def tick(self, now: float) -> None:
        if not await self._may_act(now):
            return
        started = time.monotonic()
        entries = self.registry.entries()
        try:
            workloads = await read_deployments(self.api, {e.key.namespace for e in entries})
        except ApiError as exc:
            self.metrics.api_errors.labels(operation="list_workloads").inc()
            logger.warning("tick skipped: cannot list Deployments: %s", exc)
            self.metrics.health.tick_failed(f"cannot list Deployments: {exc}")
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
        self.metrics.set_service_gauges(
            {e.key: service_gauges(self.status_of(e.key), observations.get(e.key)) for e in entries}
        )
        self.metrics.health.tick_done()

    async def _may_act(self, now: float) -> bool:
        """Ask the gate. A standby does nothing more; one that steps down after acting holds a view that
        goes stale (Kopf pauses its handlers too), so it re-reads every service when it steps up again."""
        active = await self.gate.may_act(now)
        self.metrics.set_active(active)
        if not active:
            self._stale = self._stale or self._acting
            self._acting = False
            return False
        if self._stale and self.on_takeover is not None:
            try:
                await self.on_takeover()
            except ApiError as exc:
                self.metrics.api_errors.labels(operation="take_over").inc()
                logger.warning("tick skipped: cannot re-read the InferenceServices on taking over: %s", exc)
                self.metrics.health.tick_failed(f"cannot re-read the InferenceServices on taking over: {exc}")
                return False
        self._stale, self._acting = False, True
        return True

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
                decision = await self._decide_and_act(entry, spec, workload, observation, runtime, now)
            elif spec.owned and error is None:
                await self.ensure_owned(entry)
            await self._report_workload(entry, runtime, workload, error)
            routed = await self._merge_alerts(entry, spec, runtime)
            seen = Seen(entry, workload, error, observation, decision, (*runtime.conditions, *routed))
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
        if ref is None:
            return claim(spec, workload)
        if workload is not None:
            return workload, None
        return None, f"{ref.kind} {spec.namespace}/{ref.name} named by spec.scaleTargetRef does not exist"

    async def _decide_and_act(
        self, entry: Entry, spec: ServiceSpec, workload: WorkloadState, obs: Observation, runtime: Runtime, now: float
    ) -> Decision:
        """Decide with the policy, then let the Actuator scale and swap (it owns manual holds, observe-only,
        no scale-down during a swap, and the persisted swap state machine)."""
        precision = served_precision(runtime.status, spec)
        state = runtime.policy_state
        if state is None:
            state = self._restore_policy_state(runtime.status, workload.replicas, precision)
        state = self.policy.observed(state, workload.replicas, precision, runtime.swapping)
        decision, state = self.policy.decide(spec, obs, state, now)
        runtime.policy_state = state
        self.metrics.decisions.labels(direction=decision.direction.value).inc()
        result = await self._actuator.apply(spec, decision, workload, runtime.status, now)
        runtime.status = merge_status(runtime.status, result.status_patch)
        saved = self.policy.save_state(state)
        if saved is not None:
            runtime.status["policyState"] = saved
        runtime.swapping = result.swapping
        runtime.conditions = result.conditions
        self.hook.set_context(spec.key, rollout_context(result))
        for event_type, reason, message in result.events:
            logger.info("%s: %s %s", spec.key, reason, message)
            await self.recorder.post(spec.key, spec.uid, event_type, reason, message)
        if decision.direction in (ScaleDirection.UP, ScaleDirection.DOWN) or decision.swap:
            logger.info("%s: decision %s: %s", spec.key, decision.direction.value, decision.summary)
        return decision

    def _restore_policy_state(self, status: Mapping[str, Any], replicas: int, precision: Precision) -> Any:
        """The policy's memory from ``status.policyState`` (a restart keeps its windows), else a fresh one."""
        saved = status.get("policyState")
        if isinstance(saved, Mapping):
            try:
                return self.policy.restore_state(saved)
            except (KeyError, TypeError, ValueError) as exc:
                logger.warning("discarding unreadable status.policyState: %s", exc)
        return self.policy.initial_state(replicas, precision)

    async def _merge_alerts(self, entry: Entry, spec: ServiceSpec, runtime: Runtime) -> tuple[ConditionUpdate, ...]:
        """Fold the alerting hook's view (active alerts; the burn budget on the heartbeat) into the status, and
        report where this service's alerts cannot go (an unknown receiver, or one not open to its namespace):
        the ``AlertsRouted`` condition, and a Warning Event when the problems change."""
        runtime.status.update(self.hook.status_patch(spec.key, with_budget=True))
        problems = self.hook.problems(spec.key)
        if problems is None:
            return ()
        if problems != runtime.alert_problems and problems:
            message = "; ".join(problems)
            logger.warning("%s: alert routing: %s", spec.key, message)
            await self.recorder.post(entry.key, entry.uid, events.WARNING, events.ALERT_ROUTING, message)
        runtime.alert_problems = problems
        if problems:
            return (ConditionUpdate(cond.ALERTS_ROUTED, False, "ReceiverNotUsable", "; ".join(problems)),)
        return (ConditionUpdate(cond.ALERTS_ROUTED, True, "ReceiversUsable", "alerts reach their receivers"),)

    async def ensure_owned(self, entry: Entry) -> None:
        """Create the owned Deployment and Service when missing (first apply, or someone deleted them)."""
        if entry.spec is None or not entry.spec.owned:
            return
        try:
            result = await apply_owned(self.api, entry.spec)
        except NotOwned as exc:
            logger.warning("%s: %s", entry.key, exc)  # reported on the CR by the next reconcile
            return
        if result.created:
            message = f"created {' and '.join(result.created)} {entry.key}"
            await self.recorder.post(entry.key, entry.uid, events.NORMAL, events.CREATED, message)
        if result.updated:
            message = f"updated {' and '.join(result.updated)} {entry.key} to match the spec"
            await self.recorder.post(entry.key, entry.uid, events.NORMAL, events.UPDATED, message)

    async def _report_workload(
        self, entry: Entry, runtime: Runtime, workload: WorkloadState | None, error: str | None
    ) -> None:
        """Event on the flips of a target-mode workload's existence, and when an owned service meets a
        Deployment of its name that it does not control (not on every tick)."""
        spec = entry.spec
        missing = workload is None
        if spec is not None and spec.owned:
            not_owned = error is not None
            if not_owned and runtime.workload_missing is not True:
                await self.recorder.post(entry.key, entry.uid, events.WARNING, events.WORKLOAD_NOT_OWNED, error or "")
            runtime.workload_missing = not_owned
            return
        if spec is None or runtime.workload_missing == missing:
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
        """Compose this reconcile's status and hand it to the status writer's end-of-tick write (made only on
        a material change, the heartbeat, or ``force``); ``True`` when it was written."""
        runtime = self._runtime[seen.entry.key]
        new = build_status(seen, runtime.status, now)
        if not await self.status_writer.end_of_tick(seen.entry.key, new, now, force):
            return False
        self.metrics.status_writes.inc()
        runtime.status = new
        return True

    async def reconcile_now(self, entry: Entry) -> None:
        """Reconcile one service outside the tick (right after a handler saw it); no decision is taken."""
        self.seed(entry)
        runtime = self._runtime[entry.key]
        async with runtime.lock:
            workload, error = None, None
            if entry.spec is not None:
                workload, error = claim(entry.spec, await read_workload(self.api, entry.spec))
                if workload is None and not entry.spec.owned:
                    _, error = await self._workload(entry.spec, {})
                await self._report_workload(entry, runtime, workload, error)
            seen = Seen(entry, workload, error, conditions=runtime.conditions)
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


def rollout_context(result: ActuationResult) -> AlertContext:
    """What the alert rules learn from actuation: a swap failed (and was rolled back, or refused) while its
    variant stays quarantined — the ``SwapFailed`` condition — which ``RolloutFailed`` reports."""
    failed = next((c for c in result.conditions if c.type == SWAP_FAILED and c.status), None)
    if failed is None:
        return AlertContext()
    return AlertContext(rollout_failed=True, rollout_message=f"precision swap failed: {failed.message}")


def served_precision(status: Mapping[str, Any], spec: ServiceSpec) -> Precision:
    """The precision the pods serve, as actuation recorded it in status (the preferred one at first)."""
    try:
        return Precision(str(status.get("precision") or spec.precision.preferred))
    except ValueError:
        return spec.precision.preferred
