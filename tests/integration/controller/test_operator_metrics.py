"""The operator's /metrics, /healthz and /readyz while the real operator runs (Kopf + KMock emulator).

Per-service gauges follow what the loop knows each tick — replicas, the decision, the served
precision, SLO attainment, firing alerts — and a deleted InferenceService's series go with it.
"""

from __future__ import annotations

from governor.controller.metrics import OperatorMetrics
from governor.testing.standins import DeploymentStandIn
from tests.integration.controller.test_control_loop import Overloaded, receivers
from tests.integration.controller.test_owned import NS, service
from tests.support.kube import KubeHarness
from tests.support.processes import free_port, http_get

CHAT = {"namespace": NS, "service": "chat"}


def test_service_gauges_follow_the_loop_and_go_with_the_service(kube: KubeHarness) -> None:
    metrics, port = OperatorMetrics(), free_port()

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, {**CHAT, **labels})

    with (
        kube.operator(
            tick_seconds=0.3, metrics_port=port, metrics_source=Overloaded(), receivers=receivers(), metrics=metrics
        ),
        DeploymentStandIn(kube.client, delay=0.1),
    ):
        kube.client.create("inferenceservices", service("chat", maxReplicas=6, slo={"latencyMs": 300}))
        kube.wait_for(lambda: (value("governor_service_desired_replicas") or 0) > 1, what="a scale-up decision")
        kube.wait_for(lambda: (value("governor_service_replicas") or 0) > 1, what="the workload scaled")
        assert value("governor_service_slo_attainment") == 0.5
        assert value("governor_service_precision", precision="bf16") == 1
        assert value("governor_service_alerts", alertname="SLOErrorBudgetBurn", severity="critical") == 1
        assert http_get(port, "/readyz") == (200, "ok: active: ticking\n")
        assert http_get(port, "/healthz")[0] == 200
        status, page = http_get(port, "/metrics")
        assert (
            status == 200 and 'governor_service_precision{namespace="ml",precision="bf16",service="chat"} 1.0' in page
        )

        kube.client.delete("inferenceservices", NS, "chat")
        kube.wait_for(lambda: value("governor_service_replicas") is None, what="the series removed")
        assert value("governor_service_desired_replicas") is None
        assert value("governor_service_alerts", alertname="SLOErrorBudgetBurn", severity="critical") is None
        assert 'service="chat"' not in http_get(port, "/metrics")[1]
    assert metrics.server is None, "the operator's stop closes the port it opened"
