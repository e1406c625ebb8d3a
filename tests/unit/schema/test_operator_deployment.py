"""The operator's Deployment is run like a production operator: HA, probed, scraped on one port."""

from __future__ import annotations

from typing import Any

from governor.settings import OperatorSettings

from .conftest import ROOT, documents

OPERATOR = ROOT / "manifests" / "operator.yaml"
SERVICE_MONITOR = ROOT / "manifests" / "prometheus-operator" / "operator-servicemonitor.yaml"
BUSY_PORTS = {9090, 9091, 9093, 9100, 9400, 8080, 8081, 8443}  # Prometheus, Pushgateway, Alertmanager, ...


def _objects() -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in documents(OPERATOR)}


def _container() -> dict[str, Any]:
    (container,) = _objects()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


def test_one_metrics_port_everywhere_and_not_a_well_known_one() -> None:
    container = _container()
    env = {e["name"]: e.get("value") for e in container["env"]}
    (port,) = container["ports"]
    (service_port,) = _objects()["Service"]["spec"]["ports"]
    default = OperatorSettings().metrics_port
    assert default not in BUSY_PORTS
    assert int(env["GOVERNOR_METRICS_PORT"]) == port["containerPort"] == service_port["port"] == default
    assert service_port["targetPort"] == port["name"] == "metrics"


def test_probes_hit_the_health_endpoints_on_the_metrics_port() -> None:
    container = _container()
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}


def test_two_peered_replicas_and_a_rolling_update_that_never_leaves_none() -> None:
    deployment = _objects()["Deployment"]["spec"]
    env = {e["name"]: e.get("value") for e in _container()["env"]}
    assert deployment["replicas"] == 2 and env["GOVERNOR_PEERING"]
    assert deployment["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    budget = _objects()["PodDisruptionBudget"]["spec"]
    assert budget["minAvailable"] == 1
    labels = _objects()["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()


def test_service_monitor_scrapes_the_metrics_service() -> None:
    (monitor,) = documents(SERVICE_MONITOR)
    service = _objects()["Service"]
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [p["name"] for p in service["spec"]["ports"]]
