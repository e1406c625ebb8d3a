"""The actuation façade the control loop calls once per service per tick.

``Actuator.apply`` turns one ``Decision`` into changes to the service's workload — replicas and
precision — and returns an ``ActuationOutcome``: the new actuation part of the status, the Events
to post, the conditions to set. It starts from the actuation part the caller hands in and keeps
nothing between calls; where order matters it persists its part through the ``StatusWriter``'s
journal before acting (see ``swap``). In observe-only mode nothing is written to the workload;
status (``wouldScale``) and ``WouldScale`` / ``WouldSwapPrecision`` Events say what would have been done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from governor.actuate.scaling import ManualScale, hold_seconds, plan_scale, would_do
from governor.actuate.swap.driver import SwapContext, SwapDriver
from governor.actuate.swap.inplace import HttpInPlaceClient, InPlaceClient, InPlaceTarget, PodEndpoints, PodIPEndpoints
from governor.actuate.swap.journal import (
    Note,
    QuarantineEntry,
    SwapPhase,
    SwapRecord,
    SwapStrategy,
    active_quarantine,
    add_quarantine,
    parse_quarantine,
    quarantined,
)
from governor.actuate.swap.overrides import ContainerNotFound
from governor.actuate.swap.rollout import adopt_batch, choose_strategy, rollout_view
from governor.actuate.swap.selectors import UnsupportedSelector, label_selector
from governor.actuate.workloads import WorkloadState, scale, workload_path
from governor.kube.client import KubeApi
from governor.kube.retries import retry_conflicts
from governor.kube.status import StatusWriter
from governor.model import Decision, Precision, ServiceSpec, SwapMode
from governor.model.conditions import SWAP_FAILED, SWAPPING, ConditionUpdate
from governor.model.events import EventReason, EventType
from governor.model.status import ActuationStatus
from governor.model.times import iso

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActuationSettings:
    manual_hold_seconds: float = 900.0  # when the CR has no governor.dev/manual-hold-seconds annotation
    quarantine_seconds: float = 3600.0  # a variant whose swap failed is not tried again for this long
    in_place_pod_timeout_seconds: float = 120.0  # one pod's in-place load must be ready within this
    decision_max_age_seconds: float = 30.0  # an older decision never begins, cancels or re-batches a swap


@dataclass(frozen=True)
class ActuationOutcome:
    status: ActuationStatus  # the actuation part of the status after this call (what changed is already journaled)
    events: tuple[Note, ...]  # to post as Events
    conditions: tuple[ConditionUpdate, ...]  # to set with governor.model.conditions.set_condition
    swapping: bool  # a swap is under way: pass to PolicyState.observed(swapping=...)
    precision: Precision  # the precision the pods serve (status.precision)
    replicas: int | None  # replicas asked of the workload after this call (None: no workload)


def safe_batch(batch: int | None, replicas: int) -> int:
    """Pods a rolling batch may take out at once: what the decision engine asked, but one pod always serves."""
    return max(1, min(batch or 1, replicas - 1))


@dataclass
class Actuator:
    api: KubeApi
    http: InPlaceClient = field(default_factory=HttpInPlaceClient)
    settings: ActuationSettings = field(default_factory=ActuationSettings)
    endpoints: PodEndpoints = field(default_factory=PodIPEndpoints)
    writer: StatusWriter | None = None  # None → one over ``api``; its journal persists the actuation part
    _driver: SwapDriver = field(init=False)
    _journal: StatusWriter = field(init=False)

    def __post_init__(self) -> None:
        self._driver = SwapDriver(self.api, self.http, self.endpoints)
        self._journal = self.writer if self.writer is not None else StatusWriter(self.api)

    async def apply(
        self,
        spec: ServiceSpec,
        decision: Decision | None,
        workload: WorkloadState | None,
        prior: ActuationStatus,
        now: float,
    ) -> ActuationOutcome:
        """Act on ``decision`` from ``prior``, the actuation part of the service's current status."""
        run = _ServiceActuation(self, spec, prior.to_status(), now)
        if workload is not None:
            run.workload_replicas = workload.replicas
            await run.swap(decision)
            await run.scale(decision, workload)
        await run.flush()
        return run.outcome(workload)


class _ServiceActuation:
    """One ``apply`` call: the actuation part as JSON (``known``: as persisted), changed and journaled on change."""

    def __init__(self, actuator: Actuator, spec: ServiceSpec, known: dict[str, Any], now: float) -> None:
        self.a, self.spec, self.known, self.now = actuator, spec, known, now
        self.pending: dict[str, Any] = {}
        self.notes: list[Note] = []
        self.replicas: int | None = None
        self.workload_replicas: int | None = None  # the workload's replicas as read this tick

    # ---- state read from the owned fields ---------------------------------------------------

    @property
    def precision(self) -> Precision:
        value = self.pending.get("precision", self.known.get("precision"))
        return Precision(value) if value else self.spec.precision.preferred

    @property
    def record(self) -> SwapRecord | None:
        return SwapRecord.from_dict(self.pending.get("swap", self.known.get("swap")))

    @property
    def quarantine(self) -> tuple[QuarantineEntry, ...]:
        return parse_quarantine(self.pending.get("quarantine", self.known.get("quarantine")))

    def set(self, **fields: Any) -> None:
        for key, value in fields.items():
            if self.known.get(key) != value:
                self.pending[key] = value

    async def flush(self) -> None:
        """Persist what changed since the last write; the cache follows only a successful write."""
        changes = {k: v for k, v in self.pending.items() if self.known.get(k) != v}
        self.pending.clear()
        if not changes:
            return
        await self.a._journal.journal(self.spec.key, changes)
        for key, value in changes.items():
            if value is None:
                self.known.pop(key, None)
            else:
                self.known[key] = value

    # ---- precision -------------------------------------------------------------------------

    async def swap(self, decision: Decision | None) -> None:
        record = self.record
        current = self._current(decision)
        if record is not None and record.active:
            if current is not None and await self._steer(record, current):
                return
            await self._advance(self.record or record)
            return
        if current is None:
            return  # a swap begins only on this tick's own decision, never on an older one
        wanted = current.precision
        if wanted == self.precision or self.spec.precision.variant(wanted) is None:
            return
        if self.spec.observe_only:
            return  # reported with the replicas, by scale()
        blocked = quarantined(self.quarantine, wanted, self.now)
        if blocked is not None:
            logger.info("%s: swap to %s refused: quarantined until %s", self.spec.key, wanted, iso(blocked.until))
            return
        await self._begin(wanted, current)

    def _current(self, decision: Decision | None) -> Decision | None:
        """``decision`` when it is this tick's and was taken on the precision the pods serve, else ``None``."""
        if decision is None or decision.at < self.now - self.a.settings.decision_max_age_seconds:
            return None
        return decision if decision.current_precision == self.precision else None

    async def _steer(self, record: SwapRecord, decision: Decision) -> bool:
        """Let a running rolling swap follow this tick's decision; ``True`` when it was cancelled.

        Wanting the served precision back cancels a swap no pod has moved to yet (once pods have
        moved it finishes, and the policy's dwell time decides the step back). Otherwise, at
        maxReplicas, the rollout adopts a bigger batch when the decision engine asks for one."""
        if record.phase != SwapPhase.ROLLING:
            return False
        if decision.precision == record.from_precision:
            why = decision.summary or f"the decision wants {record.from_precision} back"
            notes = await self.a._driver.cancel(self._context(), record, self.now, why)
            if notes is None:
                return False
            self.notes.extend(notes)
            self.set(swap=None, precision=record.from_precision.value)
            await self.flush()
            return True
        replicas = int(self.workload_replicas or 0)
        batch = decision.swap_max_unavailable
        bounded = safe_batch(batch, replicas) if batch is not None else None
        switched = adopt_batch(record, replicas, self.spec.max_replicas, bounded, self.now)
        if switched is not None:
            self.notes.append(
                Note(
                    EventType.NORMAL,
                    EventReason.SWAP_STRATEGY_CHANGED,
                    f"{record.from_precision} → {record.to_precision}: {switched.message}; {decision.summary}",
                )
            )
            self.set(swap=switched.to_dict())
            await self.flush()  # write-ahead: the record carries the batch before the Deployment does
        return False

    async def _begin(self, wanted: Precision, decision: Decision | None) -> None:
        spec = self.spec
        if spec.scale_target_ref is not None and spec.scale_target_ref.kind != "Deployment":
            logger.warning("%s: precision swaps need a Deployment, not a %s", spec.key, spec.scale_target_ref.kind)
            return
        deployment = await self.a.api.get(workload_path(spec))
        try:
            view = rollout_view(deployment, spec.hints.model_container)
        except ContainerNotFound as exc:
            self._refuse(wanted, str(exc))
            return
        if not view.complete:
            logger.info("%s: swap to %s waits for the Deployment's current rollout", spec.key, wanted)
            return
        variant = spec.precision.variant(wanted)
        in_place = variant is not None and SwapMode.IN_PLACE in variant.swap_modes and variant.model_version
        if in_place:
            try:
                label_selector((deployment.get("spec") or {}).get("selector"))
            except UnsupportedSelector as exc:
                self._refuse(wanted, f"an in-place swap must find the Deployment's pods by its selector: {exc}")
                return
        batch = decision.swap_max_unavailable if decision is not None else None
        strategy = SwapStrategy.IN_PLACE if in_place else choose_strategy(view.replicas, spec.max_replicas, batch)
        phase = SwapPhase.IN_PLACE if in_place else SwapPhase.ROLLING
        timeout = spec.precision.swap_timeout_seconds
        record = SwapRecord(
            phase,
            self.precision,
            wanted,
            strategy,
            self.now,
            self.now,
            self.now + timeout,
            previous_container=view.container,
            previous_rolling_update=view.rolling_update,
            template_patched=phase == SwapPhase.ROLLING,
            max_unavailable=safe_batch(batch, view.replicas),
        )
        why = decision.summary if decision is not None else "requested"
        self.notes.append(
            Note(EventType.NORMAL, EventReason.SWAP_STARTED, f"{self.precision} → {wanted} ({strategy}): {why}")
        )
        self.set(precision=self.precision.value)  # what the pods serve until the swap succeeds
        await self._advance(record, fresh=True)

    def _refuse(self, wanted: Precision, reason: str) -> None:
        """A swap that cannot begin: said once, then not tried again while the variant is quarantined."""
        until = self.now + self.a.settings.quarantine_seconds
        entries = add_quarantine(self.quarantine, wanted, until, reason, self.now)
        message = f"swap {self.precision} → {wanted} refused: {reason}; {wanted} quarantined until {iso(until)}"
        logger.warning("%s: %s", self.spec.key, message)
        self.notes.append(Note(EventType.WARNING, EventReason.SWAP_REFUSED, message))
        self.set(quarantine=[q.to_dict() for q in entries])

    async def _advance(self, record: SwapRecord, fresh: bool = False) -> None:
        if fresh:
            self.set(swap=record.to_dict())
            await self.flush()
        record, quarantine, notes = await self.a._driver.advance(self._context(), record, self.quarantine, self.now)
        self.notes.extend(notes)
        self.set(
            swap=record.to_dict(), quarantine=[q.to_dict() for q in active_quarantine(quarantine, self.now)] or None
        )
        if record.phase == SwapPhase.SUCCEEDED:
            self.set(precision=record.to_precision.value, lastSwapTime=iso(self.now))

    def _context(self) -> SwapContext:
        spec = self.spec
        protocol, port, model = spec.in_place_protocol, spec.hints.in_place_port, spec.in_place_model

        def target_for(pod: Mapping[str, Any], precision: Precision) -> InPlaceTarget | None:
            url = self.a.endpoints.base_url(pod, port)
            variant = spec.precision.variant(precision)
            version = variant.model_version if variant is not None else None
            return InPlaceTarget(url, protocol, model, precision, version) if url else None

        async def persist(record: SwapRecord, quarantine: tuple[QuarantineEntry, ...]) -> None:
            entries = [q.to_dict() for q in active_quarantine(quarantine, self.now)] or None
            self.set(swap=record.to_dict(), quarantine=entries if entries or self.known.get("quarantine") else None)
            if record.phase == SwapPhase.SUCCEEDED:
                self.set(precision=record.to_precision.value, lastSwapTime=iso(self.now))
            await self.flush()

        return SwapContext(
            spec,
            workload_path(spec),
            spec.hints.model_container,
            target_for,
            persist,
            self.a.settings.quarantine_seconds,
            self.a.settings.in_place_pod_timeout_seconds,
        )

    # ---- replicas --------------------------------------------------------------------------

    async def scale(self, decision: Decision | None, workload: WorkloadState) -> None:
        record = self.record
        swapping = record is not None and record.active
        hold = hold_seconds(self.spec, self.a.settings.manual_hold_seconds)
        previous = ManualScale.from_dict(self.known.get("manualScale"))
        plan = plan_scale(self.spec, decision, workload.replicas, previous, swapping, self.now, hold)
        self.notes.extend(plan.notes)
        self.set(manualScale=plan.manual.to_dict() if plan.manual is not None else None)
        self.replicas = workload.replicas
        if self.spec.observe_only:
            self._would(decision, workload, plan.target, plan.reasons)
            return
        if plan.target is None:
            return
        spec, target = self.spec, plan.target
        self.replicas = await retry_conflicts(lambda: scale(self.a.api, spec, target), f"scale of {spec.key}")
        reason = EventReason.SCALED_UP if self.replicas > workload.replicas else EventReason.SCALED_DOWN
        self.notes.append(
            Note(EventType.NORMAL, reason, f"{workload.replicas} → {self.replicas} replicas: {'; '.join(plan.reasons)}")
        )
        self.set(lastScaleTime=iso(self.now))

    def _would(
        self,
        decision: Decision | None,
        workload: WorkloadState,
        target: int | None = None,
        reasons: tuple[str, ...] = (),
    ) -> None:
        """Observe-only: record (and announce once per new value) what would have been done."""
        previous = self.pending.get("wouldScale", self.known.get("wouldScale")) or {}
        wanted = decision.precision if decision is not None else self.precision
        would, notes = would_do(previous, workload.replicas, target, reasons, self.precision, wanted)
        self.notes.extend(notes)
        self.set(wouldScale=would)

    # ---- result ----------------------------------------------------------------------------

    def outcome(self, workload: WorkloadState | None) -> ActuationOutcome:
        record = self.record
        swapping = record is not None and record.active
        conditions = [
            ConditionUpdate(
                SWAPPING,
                True,
                record.phase.value,
                f"{record.from_precision} → {record.to_precision} ({record.strategy})",
            )
            if swapping and record is not None
            else ConditionUpdate(SWAPPING, False, "NoSwap", f"serving {self.precision}"),
        ]
        blocked = active_quarantine(self.quarantine, self.now)
        if blocked:
            text = "; ".join(f"{q.precision} until {iso(q.until)}: {q.reason}" for q in blocked)
            conditions.append(ConditionUpdate(SWAP_FAILED, True, "VariantQuarantined", text))
        else:
            conditions.append(ConditionUpdate(SWAP_FAILED, False, "NoFailedSwap", "no variant is quarantined"))
        return ActuationOutcome(
            status=ActuationStatus.from_status({**self.known, "precision": self.precision.value}),
            events=tuple(self.notes),
            conditions=tuple(conditions),
            swapping=swapping,
            precision=self.precision,
            replicas=self.replicas if workload is not None else None,
        )
