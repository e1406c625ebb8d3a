"""The controller: the registry, the reconciler and the control loop put together, and what the handlers call.

``handlers.py`` stays thin — each Kopf handler calls one method here. Everything injectable
(API client, metrics source, decision engine, alert engine, gate, Prometheus registry) is a
constructor argument; ``controller.build.build_controller`` is the one place that chooses them, for
``governor run``, ``governor demo`` and the tests alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import kopf

from governor.actuate.actuator import Actuator
from governor.actuate.workloads import delete_owned
from governor.alerting import AlertEngine
from governor.controller import events
from governor.controller.loop import ControlLoop
from governor.controller.metrics import OperatorMetrics
from governor.controller.peering import ActiveGate, AlwaysActive, Peering, PeeringGate
from governor.controller.reconcile import Reconciler
from governor.controller.registry import Entry, ServiceRegistry
from governor.kube.client import KubeApi, api_path
from governor.kube.status import StatusWriter
from governor.metrics.source import MetricsSource
from governor.model import InvalidSpec, ServiceKey
from governor.model.events import EventReason, EventType
from governor.model.parse import parse_service
from governor.model.resource import API_VERSION, PLURAL
from governor.policy import Decide
from governor.settings import OperatorSettings

logger = logging.getLogger(__name__)


class Background(Protocol):
    """Something that runs beside the control loop (the alert notifier's delivery queues)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class SourceCloser:
    """Closes the metrics source's connections on the operator's loop when the controller stops."""

    def __init__(self, source: MetricsSource) -> None:
        self.source = source

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        closer = getattr(self.source, "aclose", None)  # a stand-in source may hold nothing to close
        if closer is not None:
            await closer()


def entry_from_body(body: Mapping[str, Any]) -> Entry:
    """Parse a CR body into a registry entry; an invalid spec becomes an entry with its field errors."""
    meta = body.get("metadata") or {}
    key = ServiceKey(str(meta.get("namespace", "")), str(meta.get("name", "")))
    generation = meta.get("generation")
    uid, generation = str(meta.get("uid", "")), generation if isinstance(generation, int) and generation > 0 else 1
    status = dict(body.get("status") or {})
    status.pop("kopf", None)
    try:
        spec = parse_service(body)
    except InvalidSpec as exc:
        return Entry(key, uid, generation, None, exc.errors, status)
    return Entry(key, uid, generation, spec, (), status)


@dataclass
class Controller:
    api: KubeApi
    settings: OperatorSettings
    metrics_source: MetricsSource
    decide: Decide
    alerts: AlertEngine | None = None  # None: no alerting
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)
    connection: kopf.ConnectionInfo | None = None  # set for the emulator; None → Kopf's usual login
    registry: ServiceRegistry = field(default_factory=ServiceRegistry)
    background: tuple[Background, ...] = ()  # started with the operator, stopped with it (the notifier)
    peering: Peering | None = None  # None: standalone, the only replica
    gate: ActiveGate | None = None  # None → from ``peering`` (its PeeringGate), or always active
    clock: Callable[[], float] = time.time
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.gate is None:
            self.gate = AlwaysActive()
            if self.peering is not None:
                self.gate = PeeringGate(self.api, self.peering, handover_seconds=self.settings.tick_seconds)
        self.metrics.health.tick_seconds = self.settings.tick_seconds
        writer = StatusWriter(self.api, self.settings.status_heartbeat_seconds)
        self.reconciler = Reconciler(
            api=self.api,
            registry=self.registry,
            decide=self.decide,
            recorder=events.EventRecorder(self.api),
            metrics=self.metrics,
            writer=writer,
            actuator=Actuator(self.api, writer=writer),
            alerts=self.alerts,
        )
        self.loop = ControlLoop(
            reconciler=self.reconciler,
            registry=self.registry,
            metrics_source=self.metrics_source,
            metrics=self.metrics,
            tick_seconds=self.settings.tick_seconds,
            clock=self.clock,
            gate=self.gate,
            on_takeover=self.take_over,
        )

    def configure_kopf(self, kopf_settings: kopf.OperatorSettings) -> None:
        kopf_settings.posting.level = logging.WARNING  # Governor posts its own, specific Events
        kopf_settings.watching.server_timeout = 300
        kopf_settings.networking.request_timeout = 30
        if self.peering is not None:
            # The one cluster-wide peering object (manifests/peering.yaml), also for a namespaced operator:
            # Kopf would otherwise look for a namespaced KopfPeering in each watched namespace and, with
            # none there, stay paused forever.
            kopf_settings.peering.clusterwide = True
            kopf_settings.peering.priority = self.peering.priority
            kopf_settings.peering.lifetime = self.peering.lifetime_seconds

    def login(self, **kwargs: Any) -> kopf.ConnectionInfo | None:
        if self.connection is not None:
            return self.connection
        return kopf.login_via_client(**kwargs)

    async def start(self) -> None:
        self.metrics.serve(self.settings.metrics_port)
        for part in self.background:
            await part.start()
        self._task = asyncio.create_task(self.loop.run_forever(), name="governor-control-loop")
        self.metrics.health.task = self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for part in reversed(self.background):
            await part.stop()
        self.metrics.close()

    async def service_changed(self, body: Mapping[str, Any]) -> Entry:
        """Create / update / resume: (re)register, apply owned objects, write status at once."""
        entry = entry_from_body(body)
        previous = self.registry.get(entry.key)
        self.reconciler.seed(entry, self.clock())
        entry = dataclasses.replace(entry, status={})  # seeded: the status writer holds it from here on
        self.registry.put(entry)
        if entry.spec is None:
            if previous is None or previous.errors != entry.errors:
                message = "; ".join(str(e) for e in entry.errors)
                logger.warning("%s is invalid: %s", entry.key, message)
                await self.reconciler.recorder.post(
                    entry.key, entry.uid, EventType.WARNING, EventReason.INVALID, message
                )
        else:
            await self.reconciler.ensure_owned(entry)
        await self.reconciler.reconcile_now(entry, self.clock())
        return entry

    async def take_over(self) -> None:
        """Become the active replica after standing by: start again from the objects, like a restart.

        While another replica acted, Kopf paused this one's handlers, so specs, annotations and status
        changed unseen (the other replica's Kopf marked them handled: they will not be replayed here)
        and services went away. Every service is re-read and re-registered from scratch, and what is
        no longer there is forgotten; an entry a handler replaced meanwhile is fresher and stays.
        """
        held = {entry.key: entry for entry in self.registry.entries()}
        listed = set()
        for body in await self._list_services():
            entry = entry_from_body(body)
            listed.add(entry.key)
            if self.registry.get(entry.key) is held.get(entry.key):
                self.reconciler.forget(entry.key)
                await self.service_changed(body)
        for key in held.keys() - listed:
            if self.registry.get(key) is held[key]:
                self.registry.remove(key)
                self.reconciler.forget(key)
        logger.info(
            "took over: re-read %d InferenceServices, forgot %d gone ones", len(listed), len(held.keys() - listed)
        )

    async def _list_services(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for namespace in self.settings.namespaces or (None,):
            items += await self.api.list(api_path(API_VERSION, PLURAL, namespace))
        return items

    async def service_deleted(self, body: Mapping[str, Any]) -> None:
        """Forget the service; delete owned objects (ownerReferences GC does it too in a real cluster)."""
        entry = entry_from_body(body)
        self.registry.remove(entry.key)
        self.reconciler.forget(entry.key)
        if entry.spec is not None and entry.spec.owned:
            await delete_owned(self.api, entry.spec)
