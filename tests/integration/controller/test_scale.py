"""Many services at once: every one reconciled, each ending Ready or Invalid, none in error."""

from __future__ import annotations

import os
import threading

from governor.testing.standins import DeploymentStandIn
from tests.integration.controller.test_owned import NS, condition, service
from tests.support.kube import KubeHarness

COUNT = int(os.environ.get("GOVERNOR_TEST_SERVICES", "200"))


def _body(i: int) -> dict:
    if i % 5 == 0:  # every fifth is invalid: minReplicas above maxReplicas
        return service(f"svc-{i:03d}", minReplicas=3, maxReplicas=1)
    return service(f"svc-{i:03d}")


def _settled(kube: KubeHarness) -> dict[str, str] | None:
    outcome: dict[str, str] = {}
    for obj in kube.client.list("inferenceservices", NS):
        name = obj["metadata"]["name"]
        invalid, ready = condition(obj, "Invalid"), condition(obj, "Ready")
        if invalid and invalid["status"] == "True":
            outcome[name] = "Invalid"
        elif ready and ready["status"] == "True":
            outcome[name] = "Ready"
    return outcome if len(outcome) == COUNT else None


def test_two_hundred_services_created_at_once_all_end_ready_or_invalid(kube: KubeHarness) -> None:
    with kube.operator(tick_seconds=1.0) as (_, controller), DeploymentStandIn(kube.client, delay=0.2):
        creators = [
            threading.Thread(target=lambda part=part: [kube.client.create("inferenceservices", _body(i)) for i in part])
            for part in (range(0, COUNT, 2), range(1, COUNT, 2))
        ]
        for t in creators:
            t.start()
        for t in creators:
            t.join()
        outcome = kube.wait_for(lambda: _settled(kube), timeout=90, what="all services settled")
        errors = controller.metrics.registry.get_sample_value("governor_reconcile_errors_total")
    expected = {f"svc-{i:03d}": ("Invalid" if i % 5 == 0 else "Ready") for i in range(COUNT)}
    assert outcome == expected
    assert errors == 0
    assert len(kube.client.list("deployments", NS)) == COUNT - COUNT // 5
