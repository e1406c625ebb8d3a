"""The whole loop through the real operator: metrics → policy → Actuator → Deployment, status and Events.

A metrics source reports a service far above its SLO; the decision engine asks for more replicas,
the Actuator scales the owned Deployment and says why in an Event, and the status carries the
decision's reasons, the policy's state and the alerting hook's view.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from governor.alerting import DictConfigReader
from governor.alerting.config import CONFIG_KEY
from governor.kube.client import KubeApi
from governor.model import Observation, Sample, ServiceKey, ServiceSpec
from governor.settings import AlertingSettings
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


RECEIVERS_NS, RECEIVERS_CM = AlertingSettings().receivers_namespace, AlertingSettings().receivers_configmap


def receivers(*names: str, namespaces: Sequence[str] = ("*",)) -> DictConfigReader:
    """The receivers ConfigMap as a reader: webhooks named ``names`` (to a closed port), open to ``namespaces``."""
    config = {
        "receivers": [
            {"name": name, "kind": "webhook", "url": "http://127.0.0.1:9/", "namespaces": list(namespaces)}
            for name in names
        ]
    }
    return DictConfigReader(configmaps={(RECEIVERS_NS, RECEIVERS_CM): {CONFIG_KEY: yaml.safe_dump(config)}})


@dataclass
class StatusWrites:
    """Wraps the operator's API: records every body written to an InferenceService's status."""

    api: KubeApi
    written: list[dict[str, Any]] = field(default_factory=list)

    async def patch(self, path: str, body: Any) -> dict[str, Any]:
        if "/inferenceservices/" in path and path.endswith("/status"):
            self.written.append(copy.deepcopy(dict(body["status"])))
        return await self.api.patch(path, body)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)


def test_overload_scales_up_with_reasons_in_status_and_events(kube: KubeHarness) -> None:
    body = service("chat", maxReplicas=6, slo={"latencyMs": 300})
    with (
        kube.operator(tick_seconds=0.5, metrics_source=Overloaded(), receivers=receivers()),
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
    assert "SLOErrorBudgetBurn" in {a["name"] for a in status["alerts"] if a["state"] == "firing"}
    assert events and "replicas" in events[0]["message"]


def test_a_firing_alert_is_written_with_the_decision_that_breached(kube: KubeHarness) -> None:
    """The first status write that carries the fired alert carries the decision of the tick that fired it."""
    writes: list[StatusWrites] = []

    def wrap(api: KubeApi) -> KubeApi:
        writes.append(StatusWrites(api))
        return writes[-1]  # type: ignore[return-value]

    def fired(write: Mapping[str, Any]) -> Mapping[str, Any] | None:
        alerts = write.get("alerts") or ()
        return next((a for a in alerts if a["name"] == "SLOErrorBudgetBurn" and a["state"] == "firing"), None)

    body = service("chat", maxReplicas=6, slo={"latencyMs": 300})
    with (
        kube.operator(tick_seconds=1.5, metrics_source=Overloaded(), receivers=receivers(), wrap_api=wrap),
        DeploymentStandIn(kube.client, delay=0.2),
    ):
        kube.client.create("inferenceservices", body)
        first = kube.wait_for(
            lambda: next((w for w in writes[0].written if fired(w)), None),
            timeout=30,
            what="a status write with the fired alert",
        )
    alert = fired(first) or {}
    assert first["decision"]["reasons"], "the breaching tick's decision is in the write"
    # one tick (1.5 s apart): the decision's time is kept to the second, the alert's to the millisecond
    apart = (_time(first["decision"]["at"]) - _time(alert["firedAt"])).total_seconds()
    assert -1.0 < apart <= 0.0, f"alert and decision come from one tick, not {apart} s apart"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_alerts_with_nowhere_to_go_are_a_condition_and_one_event(kube: KubeHarness) -> None:
    problem = "spec.alerts.receivers[0]: receiver 'oncall-pager' is not open to namespace 'ml'"
    closed = receivers("oncall-pager", namespaces=("payments",))
    with (
        kube.operator(tick_seconds=0.3, metrics_source=Overloaded(), receivers=closed),
        DeploymentStandIn(kube.client),
    ):
        kube.client.create("inferenceservices", service("chat", alerts={"receivers": ["oncall-pager"]}))
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
    assert (routed["status"], routed["reason"]) == ("False", "ReceiverNotUsable")
    assert routed["message"].startswith(problem)
    assert len(events) == 1 and events[0]["type"] == "Warning" and events[0]["message"] == routed["message"]
