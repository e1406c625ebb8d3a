"""``governor run`` serves the alert-delivery metrics on its own /metrics, not on a registry nobody serves."""

from __future__ import annotations

from governor.controller.build import build_controller
from governor.controller.metrics import OperatorMetrics
from governor.kube.client import KubernetesApi
from governor.settings import Settings


def test_the_operator_registry_carries_the_alert_delivery_metrics() -> None:
    metrics = OperatorMetrics()
    api = KubernetesApi.for_url("http://127.0.0.1:9")
    try:
        build_controller(Settings(), api, metrics=metrics)
    finally:
        api.close()
    names = {family.name for family in metrics.registry.collect()}
    assert {"governor_alert_notifications", "governor_alert_queue_dropped"} <= names, sorted(names)
