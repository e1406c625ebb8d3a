"""The whole loop through the real operator: metrics → policy → Actuator → Deployment, status and Events.

A metrics source reports a service far above its SLO; the decision engine asks for more replicas,
the Actuator scales the owned Deployment and says why in an Event, and the status carries the
decision's reasons, the policy's state and the alerting hook's view.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from governor.controller.protocols import NoAlerts
from governor.model import Observation, Sample, ServiceKey, ServiceSpec
from governor.testing.standins import DeploymentStandIn
from tests.integration.controller.test_owned import NS, service
from tests.support.kube import KubeHarness


class Overloaded:
    """Every service serves 400 req/s with p99 far above any SLO, fresh on each tick."""

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        def s(value: float) -> Sample:
            return Sample(value, now)

        return {
            spec.key: Observation(
                at=now,
                source="test",
                request_rate=s(400.0),
                error_rate=s(0.0),
                latency_p50_ms=s(2500.0),
                latency_p95_ms=s(4000.0),
                latency_p99_ms=s(5000.0),
                slo_attainment=s(0.5),
                queue_depth=s(200.0),
                running_requests=s(64.0),
                gpu_utilization_mean=s(0.98),
                gpu_utilization_max=s(1.0),
                ready_replicas=s(1.0),
            )
            for spec in specs
        }


class RecordingHook(NoAlerts):
    """Stands in for the alerting hook: records ticks, contributes a status field and routing problems."""

    def __init__(self, problems: tuple[str, ...] = ()) -> None:
        self.ticks = 0
        self.routing_problems = problems

    def problems(self, key: ServiceKey) -> tuple[str, ...] | None:
        return self.routing_problems if self.ticks else None

    async def after_tick(self, report: Any) -> None:
        self.ticks += 1

    def status_patch(self, key: ServiceKey, with_budget: bool = False) -> dict[str, Any]:
        return {"alerts": [{"name": "SLOErrorBudgetBurn", "phase": "firing", "ticks": self.ticks}]}

    def restore(self, key: ServiceKey, status: Mapping[str, Any] | None) -> None:
        return None

    def forget(self, key: ServiceKey) -> None:
        return None


def test_overload_scales_up_with_reasons_in_status_and_events(kube: KubeHarness) -> None:
    hook = RecordingHook()
    body = service("chat", maxReplicas=6, slo={"latencyMs": 300})
    with (
        kube.operator(tick_seconds=0.5, metrics_source=Overloaded(), hook=hook),
        DeploymentStandIn(kube.client, delay=0.2),
    ):
        kube.client.create("inferenceservices", body)
        deployment = kube.wait_for(
            lambda: (d := kube.client.find("deployments", NS, "chat")) and d["spec"]["replicas"] > 1 and d,
            timeout=30,
            what="the Deployment scaled up",
        )
        status = kube.wait_for(
            lambda: (
                ((o := kube.client.find("inferenceservices", NS, "chat")) or {}).get("status", {}).get("alerts")
                and o["status"]
            ),
            timeout=30,
            what="status with alerts",
        )
        time.sleep(0.5)
        events = kube.events(NS, involved="chat", reason="ScaledUp")
    assert deployment["spec"]["replicas"] <= 6
    assert status["desiredReplicas"] > 1
    assert status["decision"]["reasons"], "a decision carries its reasons"
    assert "policyState" in status, "the policy's memory survives a restart through status"
    assert status["alerts"][0]["name"] == "SLOErrorBudgetBurn"
    assert events and "replicas" in events[0]["message"]


def test_alerts_with_nowhere_to_go_are_a_condition_and_one_event(kube: KubeHarness) -> None:
    problem = "spec.alerts.receivers[0]: receiver 'oncall-pager' is not open to namespace 'ml'"
    hook = RecordingHook(problems=(problem,))
    with kube.operator(tick_seconds=0.3, metrics_source=Overloaded(), hook=hook), DeploymentStandIn(kube.client):
        kube.client.create("inferenceservices", service("chat"))
        routed = kube.wait_for(
            lambda: next(
                (
                    c
                    for c in ((kube.client.find("inferenceservices", NS, "chat") or {}).get("status") or {}).get(
                        "conditions", ()
                    )
                    if c["type"] == "AlertsRouted"
                ),
                None,
            ),
            timeout=30,
            what="the AlertsRouted condition",
        )
        time.sleep(1.0)  # several more ticks with the same problem
        events = kube.events(NS, involved="chat", reason="AlertRoutingProblem")
    assert (routed["status"], routed["reason"], routed["message"]) == ("False", "ReceiverNotUsable", problem)
    assert len(events) == 1 and events[0]["type"] == "Warning" and events[0]["message"] == problem
