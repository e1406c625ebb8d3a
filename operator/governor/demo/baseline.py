"""What the HPA Governor replaces would have done on the demo's load: the yardstick for the summary.

A demo that says "73 % SLO attainment" against a 99 % objective reads as a failure unless it
says what the usual alternative reaches on the same load. ``hpa_run`` replays the demo's story
(the same ``DemoScenario``, over the same simulated seconds) in the demo's own world model
(``governor.demo.world.step``: the same fleet, capacity per replica, queueing and ledger) with
Kubernetes' HorizontalPodAutoscaler from the simulator (``governor.sim.hpa``: its replica
calculator and ``behavior`` rules) deciding the replicas, on what an HPA can use for a GPU
service: GPU utilisation per pod (DCGM), scraped every 15 s, synced every 15 s, target the
service's ``targets.gpuUtilization``, its ``behavior`` block, start-up ``startupSeconds``.
An HPA cannot change precision, so the fleet serves the preferred one throughout.

Pure and deterministic: the world is a fluid model, so the same story gives the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from governor.demo.scenario import DemoScenario
from governor.demo.world import FleetParams, Ledger, step
from governor.model import ServiceSpec
from governor.sim.hpa import HpaBehavior, PodMetric, pods_metric_replicas

SCRAPE_SECONDS = 15
SYNC_SECONDS = 15
STEP_SECONDS = 1.0


@dataclass(frozen=True)
class BaselineResult:
    """The simulated HPA's run, in the same terms as the demo's own summary."""

    name: str
    description: str
    slo_attainment: float | None
    breach_seconds: float
    gpu_seconds: float
    max_ready: int
    precision: str


@dataclass
class _Pods:
    """The HPA's Deployment: when each pod becomes ready (simulated seconds)."""

    ready_at: list[float]

    def ready(self, now: float) -> int:
        return sum(at <= now for at in self.ready_at)

    def scale(self, now: float, desired: int, startup: float) -> None:
        while len(self.ready_at) < desired:
            self.ready_at.append(now + startup)
        self.ready_at.sort()
        del self.ready_at[desired:]  # the Deployment deletes starting pods before ready ones


def hpa_run(
    spec: ServiceSpec, params: FleetParams, scenario: DemoScenario, seconds: float, story_seconds: float | None = None
) -> BaselineResult:
    """The HPA on GPU utilisation over ``seconds`` of ``scenario``, starting at ``minReplicas`` ready.

    ``story_seconds`` (default ``seconds``) is what the story's phases are laid out over, as in the live run;
    past it the last phase's rate holds.
    """
    target_pct = 100.0 * (spec.targets.gpu_utilization or 0.75)
    behavior = HpaBehavior(spec.behavior, spec.min_replicas, spec.max_replicas)
    pods = _Pods([0.0] * spec.min_replicas)
    precision = spec.precision.preferred.value
    slo_seconds = spec.slo.latency_ms / 1000.0
    ledger, backlog, scraped, with_metrics, max_ready = Ledger(), 0.0, None, spec.min_replicas, 0
    t = 0.0
    while t < seconds:
        ready = pods.ready(t)
        if int(t) % SYNC_SECONDS == 0 and scraped is not None:
            alive = len(pods.ready_at)
            counted = min(with_metrics, alive)
            metrics = [PodMetric(scraped)] * counted + [PodMetric(None, ready=False)] * (alive - counted)
            desired = pods_metric_replicas(alive, metrics, target_pct) if counted else alive
            pods.scale(t, behavior.normalize(t, alive, desired), spec.startup_seconds)
        offered, _ = scenario.at(t, story_seconds or seconds)
        view = step(params, backlog, offered, {precision: ready}, STEP_SECONDS)
        backlog = view.backlog
        if int(t) % SCRAPE_SECONDS == 0:
            scraped, with_metrics = view.utilisation * 100.0, ready
        ledger = ledger.add(view, ready, spec.max_replicas, slo_seconds, STEP_SECONDS)
        max_ready = max(max_ready, ready)
        t += STEP_SECONDS
    description = (
        f"HPA on GPU utilisation {target_pct:.0f}% (DCGM, {SCRAPE_SECONDS} s scrape, {SYNC_SECONDS} s sync), "
        f"the service's behavior, {precision} only"
    )
    return BaselineResult(
        "HPA (simulated)",
        description,
        ledger.attainment,
        ledger.breach_seconds,
        ledger.gpu_seconds,
        max_ready,
        precision,
    )
