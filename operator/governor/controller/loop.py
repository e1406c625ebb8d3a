"""The one cluster-wide control loop: every tick, read workloads, observe, then reconcile each service.

One asyncio task for the whole operator — not one timer per object — so the API reads per tick
stay fixed (one Deployment list per namespace, one batched metrics call) as services are added.
Each service is reconciled on its own (``controller.reconcile``: policy → Actuator → alerts → one
status write): one broken service is logged and counted, and the loop goes on with the others.
Status is written only when something other than a timestamp changed, or on the slow heartbeat,
so API writes stay bounded too. With several replicas (Kopf peering), only the active one ticks:
a standby reads nothing but its gate and writes nothing, and on taking over it first re-reads
every service, since what it cached went stale while another replica acted.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from governor.actuate.workloads import WorkloadKey, WorkloadState, read_deployments
from governor.controller.metrics import OperatorMetrics, service_gauges
from governor.controller.peering import ActiveGate, AlwaysActive
from governor.controller.reconcile import Reconciler
from governor.controller.registry import Entry, ServiceRegistry
from governor.kube.client import ApiError
from governor.metrics.source import MetricsSource
from governor.model import Observation, ServiceKey, ServiceSpec
from governor.model import conditions as cond

logger = logging.getLogger(__name__)
PARALLEL_RECONCILES = 8


@dataclass
class ControlLoop:
    reconciler: Reconciler
    registry: ServiceRegistry
    metrics_source: MetricsSource
    metrics: OperatorMetrics
    tick_seconds: float = 10.0
    clock: Callable[[], float] = time.time
    gate: ActiveGate = field(default_factory=AlwaysActive)  # HA: is this replica the active one?
    on_takeover: Callable[[], Awaitable[None]] | None = None  # re-reads every service after standing by
    _acting: bool = False  # the last tick acted
    _stale: bool = False  # stood by after acting: what it holds may be outdated

    # ---- lifecycle -------------------------------------------------------------------------

    async def run_forever(self) -> None:
        while True:
            started = time.monotonic()
            await self.tick(self.clock())
            await asyncio.sleep(max(0.0, self.tick_seconds - (time.monotonic() - started)))

    # ---- one tick --------------------------------------------------------------------------

    async def tick(self, now: float) -> None:
        """One tick. The cyclic garbage collector waits until it ends: at thousands of services a full
        collection walks every object the operator holds, several times a tick, and would stretch the
        tick by half again; it runs in the idle time before the next one instead (``gc.enable``)."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            await self._tick(now)
        finally:
            if collecting:
                gc.enable()

    async def _tick(self, now: float) -> None:
        if not await self._may_act(now):
            return
        started = time.monotonic()
        entries = self.registry.entries()
        try:
            workloads = await read_deployments(self.reconciler.api, {e.key.namespace for e in entries})
        except ApiError as exc:
            self.metrics.api_errors.labels(operation="list_workloads").inc()
            logger.warning("tick skipped: cannot list Deployments: %s", exc)
            self.metrics.health.tick_failed(f"cannot list Deployments: {exc}")
            return
        observations = await self._observe([e.spec for e in entries if e.spec is not None], now)
        await self._refresh_alerting()
        gate = asyncio.Semaphore(PARALLEL_RECONCILES)

        async def one(entry: Entry) -> None:
            async with gate:
                await self._reconcile_isolated(entry, workloads, observations.get(entry.key), now)

        await asyncio.gather(*(one(e) for e in entries))
        self.metrics.ticks.inc()
        self.metrics.tick_seconds.observe(time.monotonic() - started)
        self.metrics.set_services(self._condition_counts())
        status = self.reconciler.status
        self.metrics.set_service_gauges(
            {e.key: service_gauges(status(e.key), observations.get(e.key)) for e in entries}
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

    async def _refresh_alerting(self) -> None:
        engine = self.reconciler.alerts
        if engine is None:
            return
        try:
            await engine.refresh()
        except Exception:  # isolation boundary: alert receivers that cannot be read never stop the control loop
            logger.exception("alert receivers could not be re-read; the last ones read stay in use")

    async def _reconcile_isolated(
        self,
        entry: Entry,
        workloads: Mapping[WorkloadKey, WorkloadState],
        observation: Observation | None,
        now: float,
    ) -> None:
        try:
            await self.reconciler.reconcile(entry, workloads, observation, now)
        except ApiError as exc:
            self.metrics.api_errors.labels(operation="reconcile").inc()
            logger.warning("reconcile of %s failed: %s", entry.key, exc)
        except Exception:  # isolation boundary: one broken service never stops the loop (logged + counted)
            self.metrics.reconcile_errors.inc()
            logger.exception("reconcile of %s failed", entry.key)

    def _condition_counts(self) -> dict[str, int]:
        counts = {"Ready": 0, "NotReady": 0, "Invalid": 0}
        for key in self.reconciler.known():
            conditions = self.reconciler.status(key).conditions
            if cond.is_true(conditions, cond.INVALID):
                counts["Invalid"] += 1
            elif cond.is_true(conditions, cond.READY):
                counts["Ready"] += 1
            else:
                counts["NotReady"] += 1
        return counts
