"""One demo run: emulator, world, the real operator with real metrics and alerting, and the story's clock.

``DemoSession.run`` wires the operator through ``governor run``'s own ``build_controller`` — the
direct-scrape metrics source (no Prometheus URL) over the world's pods and node agent, the alerting
hook with a receivers ConfigMap whose webhook is the world's console, the real decision engine with
the demo's compressed knobs — then drives the world every half second from the Deployment's ready
replicas and the CR's ``status.precision`` and reports ticks, Events and alerts to a sink.
Everything it starts it stops, in reverse order, also on Ctrl-C or an error.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from governor import data
from governor.actuate.workloads import workload_name
from governor.alerting import DictConfigReader
from governor.controller.app import Controller
from governor.controller.build import build_controller
from governor.demo import backends, report, story
from governor.demo.live import LiveWorld, PagerNotification
from governor.demo.report import TickRecord
from governor.demo.scenario import DemoScenario, flash_crowd
from governor.demo.world import FleetView, Ledger, server_load, step
from governor.model import ServiceSpec
from governor.model.parse import parse_service
from governor.model.resource import CRD_NAME, KIND, PLURAL
from governor.settings import Settings
from governor.testing.client import KubeClient
from governor.testing.operator_thread import OperatorThread

STEP_SECONDS = 0.5  # how often the world re-reads the cluster and re-sets the load (wall clock)

Sink = Callable[[str, Any], None]  # ("start" | "tick" | "event" | "alert", payload)


@dataclass(frozen=True)
class DemoOptions:
    duration: float = 180.0  # wall-clock seconds
    speed: float = 4.0  # simulated seconds per wall-clock second
    ticks: int | None = None  # stop after this many ticks instead of ``duration``
    tick_seconds: float = 1.0  # the operator's control-loop period (wall clock)
    startup_seconds: float | None = None  # simulated pod start-up; None: each service's spec.startupSeconds
    services: tuple[Mapping[str, Any], ...] = ()  # InferenceService manifests; () → the demo service
    scenario: DemoScenario = field(default_factory=flash_crowd)
    cluster: str = "auto"  # auto | real | emulator (governor.demo.backends)

    @property
    def wall_seconds(self) -> float:
        return self.ticks * self.tick_seconds if self.ticks is not None else self.duration


@dataclass
class DemoOutcome:
    """What the run produced, for the summary, the plot and the tests."""

    records: list[TickRecord] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)
    specs: tuple[ServiceSpec, ...] = ()
    story_seconds: float = 0.0  # simulated seconds the load story was laid out over
    operator_error: BaseException | None = None


def load_manifests(paths: Sequence[Path]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in paths:
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))
    return docs


class DemoSession:
    def __init__(self, settings: Settings, options: DemoOptions, sink: Sink) -> None:
        self.settings = dataclasses.replace(
            settings,
            prometheus=dataclasses.replace(settings.prometheus, url=""),
            operator=dataclasses.replace(settings.operator, tick_seconds=options.tick_seconds, metrics_port=0),
            alerting=dataclasses.replace(
                settings.alerting,
                receivers_namespace=story.RECEIVERS_NAMESPACE,
                receivers_configmap=story.RECEIVERS_CONFIGMAP,
            ),
        )
        self.options = options
        self.sink = sink
        self.docs = [dict(d) for d in options.services] or [story.demo_service()]
        self.specs = tuple(parse_service(d) for d in self.docs)
        self.outcome = DemoOutcome(specs=self.specs)
        self._began = time.monotonic()

    def run(self) -> DemoOutcome:
        startup = self._startup_wall()
        self._began = time.monotonic()
        kind, _ = backends.resolve(self.options.cluster)
        what = "the real control plane (etcd, kube-apiserver, …, KWOK)" if kind == "real" else "the Kubernetes emulator"
        self._setup(f"starting {what}")
        with backends.open_backend(self.options.cluster, startup) as backend, LiveWorld(self.specs) as world:
            self._setup(f"{backend.kind} API up at {backend.url}; simulated model servers up")
            client = backend.client
            client.apply(data.crd())  # the CRD shipped with Governor (package data)
            backends.wait_established(backend, CRD_NAME)
            self._setup(f"CRD {CRD_NAME} established")
            backends.prepare(backend, self.docs, startup)
            clock = story.SimClock(self.options.speed)
            operator = OperatorThread(self._controller(backend, world, clock))
            try:
                operator.start()
                self._setup("operator started (Kopf handlers, control loop, alerting)")
                clock.origin = time.time()
                for doc in self.docs:
                    client.apply(doc)
                start = {"api": backend.url, "cluster": backend.kind, "backend": backend.description}
                self.sink("start", {**start, "services": [str(s.key) for s in self.specs]})
                self._setup(f"services applied; waiting for the first replica to be Ready ({startup:.1f} s start-up)")
                self._drive(client, world, operator, clock, backend.ready_split)
            finally:
                operator.stop()
            self._drain(client, world)
            self.outcome.operator_error = operator.error
        return self.outcome

    def _setup(self, step: str) -> None:
        self.sink("setup", {"step": step, "elapsed_s": round(time.monotonic() - self._began, 1)})

    def _startup_wall(self) -> float:
        startup = self.options.startup_seconds
        if startup is None:
            startup = min(s.startup_seconds for s in self.specs)
        return max(0.0, startup / self.options.speed)

    def _controller(self, backend: backends.Backend, world: LiveWorld, clock: story.SimClock) -> Controller:
        """The operator as ``governor run`` wires it, with the world's pods, agent and receivers ConfigMap."""
        receivers = DictConfigReader(
            configmaps={
                (story.RECEIVERS_NAMESPACE, story.RECEIVERS_CONFIGMAP): {
                    "receivers.yaml": story.receivers_yaml(world.webhook_url)
                }
            }
        )
        controller = build_controller(
            self.settings,
            backend.api,
            pods=world.pod_lister,
            agents=world.agent_lister,
            receivers=receivers,
            policy_config=story.DEMO_POLICY,
            connection=backend.connection,
            clock=clock,
        )
        return controller

    # ---- the story -------------------------------------------------------------------------

    def _drive(
        self,
        client: KubeClient,
        world: LiveWorld,
        operator: OperatorThread,
        clock: story.SimClock,
        ready_split: backends.Split,
    ) -> None:
        opts = self.options
        start = last = time.monotonic()
        next_tick, ticks = start + opts.tick_seconds, 0
        backlog = {s.key: 0.0 for s in self.specs}
        views: dict[Any, FleetView] = {}
        total_sim = opts.wall_seconds * opts.speed
        story_start: float | None = None  # the story begins once the first replica is ready
        while operator.alive and time.monotonic() - start < opts.wall_seconds:
            time.sleep(max(0.0, min(STEP_SECONDS, next_tick - time.monotonic())))
            now = time.monotonic()
            dt, last = now - last, now
            t_sim = clock.elapsed()
            objects = {s.key: self._read(client, s) for s in self.specs}
            if story_start is None and any(o[0] for o in objects.values()):
                story_start = t_sim
                self.outcome.story_seconds = total_sim - story_start
                self._setup(
                    f"first replica Ready; the story begins ({report.clock(self.outcome.story_seconds)} simulated)"
                )
                self.sink("story", {"start": story_start, "simulated_seconds": self.outcome.story_seconds})
            begun = t_sim - story_start if story_start is not None else 0.0
            offered, phase = opts.scenario.at(begun, total_sim - (story_start or 0.0))
            for spec in self.specs:
                ready, _, status = objects[spec.key]
                params = story.fleet_params(spec)
                split = ready_by_precision(ready_split(spec.namespace, workload_name(spec)) or (ready, 0), status)
                view = step(params, backlog[spec.key], offered, split, dt)
                backlog[spec.key], views[spec.key] = view.backlog, view
                world.set(spec.key, server_load(params, view), ready, view.utilisation)
                slo = spec.slo.latency_ms / 1000.0
                if story_start is not None:
                    ledger = self.outcome.ledger.add(view, ready, spec.max_replicas, slo, dt * opts.speed)
                    self.outcome.ledger = ledger
            self._drain(client, world)
            if now >= next_tick:
                next_tick += opts.tick_seconds
                ticks += 1
                for spec in self.specs:
                    record = _record(spec, t_sim, phase, views[spec.key], *objects[spec.key])
                    self.outcome.records.append(record)
                    self.sink("tick", record)

    def _read(self, client: KubeClient, spec: ServiceSpec) -> tuple[int, str, Mapping[str, Any]]:
        deployment = client.find("deployments", spec.namespace, workload_name(spec)) or {}
        service = client.find(PLURAL, spec.namespace, spec.name) or {}
        status = service.get("status") or {}
        ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
        precision = str(status.get("precision") or spec.precision.preferred.value)
        return ready, precision, status

    def _drain(self, client: KubeClient, world: LiveWorld) -> None:
        seen = {e["name"] for e in self.outcome.events}
        for namespace in sorted({s.namespace for s in self.specs}):
            for event in client.list("events", namespace):
                name = str((event.get("metadata") or {}).get("name"))
                if name in seen:
                    continue
                seen.add(name)
                involved = event.get("involvedObject") or {}
                if involved.get("kind") != KIND:
                    continue  # a real control plane's own Events (Scheduled, SuccessfulCreate, …) are not the story
                line = {
                    "name": name,
                    "type": event.get("type"),
                    "reason": event.get("reason"),
                    "object": f"{involved.get('namespace', namespace)}/{involved.get('name', '?')}",
                    "message": event.get("message", ""),
                }
                self.outcome.events.append(line)
                self.sink("event", line)
        while not world.notifications.empty():
            note: PagerNotification = world.notifications.get_nowait()
            alert = dataclasses.asdict(note)
            self.outcome.alerts.append(alert)
            self.sink("alert", alert)


def ready_by_precision(split: tuple[int, int], status: Mapping[str, Any]) -> dict[str, int]:
    """Ready pods per precision: while a rolling swap runs, pods of the new template serve its target."""
    current, older = split
    precision = str(status.get("precision") or "bf16")
    swap = status.get("swap") or {}
    phase, source, target = swap.get("phase"), str(swap.get("from") or precision), str(swap.get("to") or precision)
    if phase == "Rolling":
        serving, previous = target, source
    elif phase == "RollingBack":
        serving, previous = source, target
    else:
        serving, previous = precision, precision
    counts = {serving: current}
    counts[previous] = counts.get(previous, 0) + older
    return counts


def _record(
    spec: ServiceSpec, t: float, phase: str, view: FleetView, ready: int, precision: str, status: Mapping[str, Any]
) -> TickRecord:
    metrics = status.get("metrics") or {}
    reasons = (status.get("decision") or {}).get("reasons") or []
    ready_condition: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Ready"), {}
    )
    desired = status.get("desiredReplicas")
    return TickRecord(
        t=t,
        service=spec.name,
        phase=phase,
        offered_rps=view.offered,
        ready=ready,
        desired=int(desired) if isinstance(desired, int | float) else None,
        precision=precision,
        rps=_number(metrics.get("rps")),
        p99_ms=_number(metrics.get("latencyP99Ms")),
        gpu=_number(metrics.get("gpuUtilization")),
        true_p99_ms=view.p99_seconds * 1000.0,
        slo_ms=spec.slo.latency_ms,
        reason=str(reasons[0] if reasons else ready_condition.get("message", "")),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
