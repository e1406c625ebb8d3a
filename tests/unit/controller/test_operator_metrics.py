"""The per-service gauges on the operator's /metrics: what a status and an observation show, and removal."""

from __future__ import annotations

import socket
from typing import Any

from governor.controller.metrics import OperatorMetrics, ServiceGauges, service_gauges
from governor.model import Observation, Sample, ServiceKey
from governor.model.status import ServiceStatus

CHAT, CODE = ServiceKey("ml", "chat"), ServiceKey("ml", "code")


def _alert(name: str, severity: str, state: str) -> dict[str, Any]:
    return {"name": name, "severity": severity, "state": state, "labels": {}}


def _value(metrics: OperatorMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_gauges_from_status_and_observation() -> None:
    status = {
        "replicas": 3,
        "desiredReplicas": 5,
        "precision": "fp8",
        "alerts": [
            _alert("SLOBurn", "critical", "firing"),
            _alert("SLOBurn", "critical", "firing"),
            _alert("SLOBurn", "warning", "pending"),
            _alert("Saturated", "warning", "resolved"),
        ],
    }
    gauges = service_gauges(ServiceStatus.from_status(status), Observation(at=0, slo_attainment=Sample(0.97, 0)))
    assert gauges == ServiceGauges(3, 5, "fp8", 0.97, {("SLOBurn", "critical"): 2})


def test_an_invalid_or_unobserved_service_has_no_values() -> None:
    assert service_gauges(ServiceStatus.from_status({"conditions": []}), None) == ServiceGauges()
    assert (
        service_gauges(ServiceStatus.from_status({"replicas": True, "desiredReplicas": "2"}), Observation(at=0))
        == ServiceGauges()
    )
    hostile = {"alerts": 5, "precision": {"a": 1}, "replicas": 2.5}  # a status someone else wrote
    assert service_gauges(ServiceStatus.from_status(hostile), None) == ServiceGauges()
    assert service_gauges(ServiceStatus.from_status({"alerts": ["x", None, {"state": "firing"}]}), None).alerts == {
        ("", ""): 1
    }


def test_registry_shows_each_service_and_drops_what_is_gone() -> None:
    metrics = OperatorMetrics()
    metrics.set_service_gauges(
        {
            CHAT: ServiceGauges(2, 4, "bf16", 0.9, {("SLOBurn", "page"): 1}),
            CODE: ServiceGauges(1, 1, "fp8"),
        }
    )
    chat = {"namespace": "ml", "service": "chat"}
    assert _value(metrics, "governor_service_replicas", **chat) == 2
    assert _value(metrics, "governor_service_desired_replicas", **chat) == 4
    assert _value(metrics, "governor_service_precision", **chat, precision="bf16") == 1
    assert _value(metrics, "governor_service_slo_attainment", **chat) == 0.9
    assert _value(metrics, "governor_service_alerts", **chat, alertname="SLOBurn", severity="page") == 1
    assert _value(metrics, "governor_service_slo_attainment", namespace="ml", service="code") is None

    metrics.set_service_gauges({CHAT: ServiceGauges(2, 4, "fp8", 0.9)})  # a swap; the alert resolved; code gone
    assert _value(metrics, "governor_service_precision", **chat, precision="bf16") is None
    assert _value(metrics, "governor_service_precision", **chat, precision="fp8") == 1
    assert _value(metrics, "governor_service_alerts", **chat, alertname="SLOBurn", severity="page") is None
    assert _value(metrics, "governor_service_replicas", namespace="ml", service="code") is None

    metrics.forget_service(CHAT)
    assert _value(metrics, "governor_service_replicas", **chat) is None


def test_a_standby_exports_no_service_gauges() -> None:
    metrics = OperatorMetrics()
    metrics.set_active(True)
    metrics.set_service_gauges({CHAT: ServiceGauges(2, 4, "fp8")})
    metrics.set_active(False)
    assert _value(metrics, "governor_active") == 0
    assert _value(metrics, "governor_service_replicas", namespace="ml", service="chat") is None
    assert metrics.health.readiness()[1].startswith("standing by")


def test_serve_zero_is_off_and_serving_twice_keeps_one_server() -> None:
    metrics = OperatorMetrics()
    metrics.serve(0)
    assert metrics.server is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics.serve(port, "127.0.0.1")
    try:
        first = metrics.server
        metrics.serve(port, "127.0.0.1")  # Controller.start after governor run bound it: no "in use"
        assert first is not None and metrics.server is first and first.port == port
    finally:
        metrics.close()
    assert metrics.server is None
