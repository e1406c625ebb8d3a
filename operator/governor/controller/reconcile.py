"""One reconcile of one InferenceService: policy → Actuator → alert evaluation → one composed status.

``Reconciler.reconcile`` starts from the service's current status (``StatusWriter.current``: the
last composed status with every journal write since), asks the decision engine, lets the Actuator
act on the decision, evaluates the alert rules with the decision and the actuation outcome (so a
failed rollout reaches ``RolloutFailed`` on the same tick), and composes the new ``ServiceStatus``
from the parts each layer returned. That status goes to the ``StatusWriter`` in one end-of-tick
write, so a firing alert is written together with the decision that breached.

Between ticks the reconciler keeps only what is not status: the decision engine's live state
(status keeps its saved form), and what it last announced, so an Event is posted on a change and
not every tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from governor.actuate.actuator import ActuationOutcome, Actuator
from governor.actuate.swap.journal import SwapRecord
from governor.actuate.workloads import (
    NotOwned,
    WorkloadKey,
    WorkloadState,
    apply_owned,
    claim,
    read_workload,
    workload_name,
)
from governor.alerting import AlertContext, AlertEngine
from governor.controller import events
from governor.controller.metrics import OperatorMetrics
from governor.controller.registry import Entry, ServiceRegistry
from governor.controller.status import Parts, Seen, compose_status
from governor.kube.client import ApiError, KubeApi
from governor.kube.status import StatusWriter
from governor.model import Decision, Observation, Precision, ScaleDirection, ServiceKey, ServiceSpec
from governor.model import conditions as cond
from governor.model.conditions import ConditionUpdate
from governor.model.events import EventReason, EventType
from governor.model.status import AlertStatus, JsonObject, ServiceStatus
from governor.policy import Decide, PolicyState

logger = logging.getLogger(__name__)


@dataclass
class Memory:
    """What the reconciler keeps about one service between ticks; none of it is status."""

    policy: PolicyState | None = None  # the decision engine's live state (status.policyState is its saved form)
    workload_missing: bool | None = None  # last announced: the workload was missing / not owned
    alert_problems: tuple[str, ...] | None = None  # last announced routing problems (None: not evaluated yet)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class Reconciler:
    api: KubeApi
    registry: ServiceRegistry
    decide: Decide
    recorder: events.EventRecorder
    metrics: OperatorMetrics
    writer: StatusWriter
    actuator: Actuator
    alerts: AlertEngine | None = None  # None: no alerting (status.alerts is left as it is)
    _memory: dict[ServiceKey, Memory] = field(default_factory=dict)

    # ---- what is known ---------------------------------------------------------------------

    def seed(self, entry: Entry, now: float) -> None:
        """Start from the status the object already carries (a restarted operator keeps its conditions)."""
        if entry.key not in self._memory:
            self._memory[entry.key] = Memory()
            self.writer.seed(entry.key, entry.status, now)

    def forget(self, key: ServiceKey) -> None:
        self._memory.pop(key, None)
        self.writer.forget(key)
        if self.alerts is not None:
            self.alerts.forget(key)
        self.metrics.forget_service(key)

    def status(self, key: ServiceKey) -> ServiceStatus:
        return self.writer.current(key)

    def known(self) -> list[ServiceKey]:
        return list(self._memory)

    # ---- one reconcile ---------------------------------------------------------------------

    async def reconcile(
        self,
        entry: Entry,
        workloads: Mapping[WorkloadKey, WorkloadState],
        observation: Observation | None,
        now: float,
    ) -> Decision | None:
        """Reconcile ``entry`` on the tick at ``now`` and write its status; the decision taken, if any."""
        if self.registry.get(entry.key) is not entry:
            return None  # changed or deleted while this tick ran; the next tick sees the new entry
        self.seed(entry, now)
        memory = self._memory[entry.key]
        async with memory.lock:
            prior = self.writer.current(entry.key)
            spec = entry.spec
            if spec is None:
                await self._write(Seen(entry, None), prior, Parts.of(prior), now)
                return None
            workload, error = await self._workload(spec, workloads)
            observation = observation or Observation(at=now, source="none")
            decision: Decision | None = None
            outcome: ActuationOutcome | None = None
            policy = prior.policy
            if workload is not None:
                decision, policy = self._decide(spec, workload, observation, memory, prior, now)
                outcome = await self.actuator.apply(spec, decision, workload, prior.actuation, now)
                await self._announce(spec, decision, outcome)
            elif spec.owned and error is None:
                await self.ensure_owned(entry)
            await self._report_workload(entry, memory, workload, error)
            updates = outcome.conditions if outcome is not None else ()
            alerts, routed = await self._evaluate_alerts(entry, spec, observation, decision, updates, prior, now)
            actuation = outcome.status if outcome is not None else prior.actuation
            seen = Seen(entry, workload, error, observation, decision, (*updates, *routed))
            await self._write(seen, prior, Parts(policy, actuation, alerts), now)
            return decision

    async def reconcile_now(self, entry: Entry, now: float) -> None:
        """Reconcile one service outside the tick (right after a handler saw it): no decision is taken, and
        the status is written at once."""
        self.seed(entry, now)
        memory = self._memory[entry.key]
        async with memory.lock:
            prior = self.writer.current(entry.key)
            workload, error = None, None
            if entry.spec is not None:
                workload, error = claim(entry.spec, await read_workload(self.api, entry.spec))
                if workload is None and not entry.spec.owned:
                    _, error = await self._workload(entry.spec, {})
                await self._report_workload(entry, memory, workload, error)
            await self._write(Seen(entry, workload, error), prior, Parts.of(prior), now, force=True)

    async def _write(self, seen: Seen, prior: ServiceStatus, parts: Parts, now: float, force: bool = False) -> None:
        status = compose_status(seen, prior, parts, now)
        if await self.writer.end_of_tick(seen.entry.key, status, now, force):
            self.metrics.status_writes.inc()

    async def event(self, entry: Entry, type: EventType, reason: EventReason, message: str) -> None:
        await self.recorder.post(entry.key, entry.uid, type, reason, message)

    # ---- the layers ------------------------------------------------------------------------

    def _decide(
        self,
        spec: ServiceSpec,
        workload: WorkloadState,
        observation: Observation,
        memory: Memory,
        prior: ServiceStatus,
        now: float,
    ) -> tuple[Decision, JsonObject]:
        """The decision engine's decision, and its state saved for ``status.policyState``."""
        precision = served_precision(prior, spec)
        state = memory.policy if memory.policy is not None else restore_policy(prior, workload.replicas, precision)
        state = state.observed(replicas=workload.replicas, precision=precision, swapping=swapping(prior))
        decision, state = self.decide(spec, observation, state, now)
        memory.policy = state
        self.metrics.decisions.labels(direction=decision.direction.value).inc()
        return decision, state.to_dict()

    async def _announce(self, spec: ServiceSpec, decision: Decision, outcome: ActuationOutcome) -> None:
        for note in outcome.events:
            logger.info("%s: %s %s", spec.key, note.reason, note.message)
            await self.recorder.post(spec.key, spec.uid, note.type, note.reason, note.message)
        if decision.direction in (ScaleDirection.UP, ScaleDirection.DOWN) or decision.swap:
            logger.info("%s: decision %s: %s", spec.key, decision.direction.value, decision.summary)

    async def _evaluate_alerts(
        self,
        entry: Entry,
        spec: ServiceSpec,
        observation: Observation,
        decision: Decision | None,
        actuation: Sequence[ConditionUpdate],
        prior: ServiceStatus,
        now: float,
    ) -> tuple[AlertStatus, tuple[ConditionUpdate, ...]]:
        """The alerting part of the status, and the ``AlertsRouted`` condition: where this service's alerts
        cannot go (an unknown receiver, or one not open to its namespace), with a Warning Event when that
        changes. A failure here is logged and leaves the alerts as they were: it never stops a reconcile."""
        if self.alerts is None:
            return prior.alerts, ()
        context = rollout_context(actuation, prior)
        try:
            result = self.alerts.evaluate_part(spec, observation, decision, context, prior.alerts, now)
        except Exception:  # isolation boundary: alerting problems never stop scaling decisions
            logger.exception("%s: alert evaluation failed; its alerts are left as they were", spec.key)
            return prior.alerts, ()
        problems = result.problem_lines
        memory = self._memory[entry.key]
        if problems != memory.alert_problems and problems:
            message = "; ".join(problems)
            logger.warning("%s: alert routing: %s", spec.key, message)
            await self.event(entry, EventType.WARNING, EventReason.ALERT_ROUTING, message)
        memory.alert_problems = problems
        if problems:
            routed = ConditionUpdate(cond.ALERTS_ROUTED, False, "ReceiverNotUsable", "; ".join(problems))
        else:
            routed = ConditionUpdate(cond.ALERTS_ROUTED, True, "ReceiversUsable", "alerts reach their receivers")
        return result.part, (routed,)

    # ---- the workload ----------------------------------------------------------------------

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
            await self.event(entry, EventType.NORMAL, EventReason.CREATED, message)
        if result.updated:
            message = f"updated {' and '.join(result.updated)} {entry.key} to match the spec"
            await self.event(entry, EventType.NORMAL, EventReason.UPDATED, message)

    async def _report_workload(
        self, entry: Entry, memory: Memory, workload: WorkloadState | None, error: str | None
    ) -> None:
        """Event on the flips of a target-mode workload's existence, and when an owned service meets a
        Deployment of its name that it does not control (not on every tick)."""
        spec = entry.spec
        missing = workload is None
        if spec is not None and spec.owned:
            not_owned = error is not None
            if not_owned and memory.workload_missing is not True:
                await self.event(entry, EventType.WARNING, EventReason.WORKLOAD_NOT_OWNED, error or "")
            memory.workload_missing = not_owned
            return
        if spec is None or memory.workload_missing == missing:
            memory.workload_missing = missing
            return
        seen_before = memory.workload_missing is not None
        memory.workload_missing = missing
        if missing:
            await self.event(entry, EventType.WARNING, EventReason.TARGET_NOT_FOUND, error or "target not found")
        elif seen_before:
            await self.event(entry, EventType.NORMAL, EventReason.TARGET_FOUND, f"found {workload_name(spec)}")


def restore_policy(status: ServiceStatus, replicas: int, precision: Precision) -> PolicyState:
    """The policy's memory from ``status.policyState`` (a restart keeps its windows), else a fresh one."""
    if status.policy is not None:
        try:
            return PolicyState.from_dict(dict(status.policy))
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("discarding unreadable status.policyState: %s", exc)
    return PolicyState.initial(replicas, precision)


def rollout_context(actuation: Sequence[ConditionUpdate], prior: ServiceStatus) -> AlertContext:
    """What the alert rules learn from actuation: a swap failed (and was rolled back, or refused) while its
    variant stays quarantined — the ``SwapFailed`` condition, as actuation reported it this tick or, when it
    did not act, as the status holds it — which ``RolloutFailed`` reports."""
    reported = next((c for c in actuation if c.type == cond.SWAP_FAILED), None)
    if reported is not None:
        failed, message = reported.status in (True, cond.TRUE), reported.message
    else:
        held = cond.find_condition(prior.conditions, cond.SWAP_FAILED)
        failed, message = held is not None and held.get("status") == cond.TRUE, str((held or {}).get("message", ""))
    if not failed:
        return AlertContext()
    return AlertContext(rollout_failed=True, rollout_message=f"precision swap failed: {message}")


def served_precision(status: ServiceStatus, spec: ServiceSpec) -> Precision:
    """The precision the pods serve, as actuation recorded it in status (the preferred one at first)."""
    try:
        return Precision(status.actuation.precision or spec.precision.preferred)
    except ValueError:
        return spec.precision.preferred


def swapping(status: ServiceStatus) -> bool:
    """A precision swap is under way, as the swap journal in status records it."""
    record = SwapRecord.from_dict(status.actuation.swap)
    return record is not None and record.active
