"""Target mode and manual scaling on the real control plane.

* Target mode: a Deployment and a StatefulSet the user owns are scaled through their ``scale``
  subresource only; their pod template is never touched, and the real controllers make the pods.
* ``kubectl scale gisvc`` goes through the CRD's ``scale`` subresource, starts a manual hold that the
  policy respects, and the hold expires after ``governor.dev/manual-hold-seconds``.
"""

from __future__ import annotations

from typing import Any

import pytest

from governor.testing.client import wait_for
from tests.cluster.conftest import Cluster, Operators
from tests.cluster.manifests import PRECISION_OF_IMAGE, deployment, inference_service
from tests.cluster.test_owned import ready_pods, replicas
from tests.support.pod_servers import PodServers

RESOURCE = {"Deployment": "deployments", "StatefulSet": "statefulsets"}


def workload_replicas(cluster: Cluster, kind: str, namespace: str, name: str) -> int:
    return int(cluster.client.get(RESOURCE[kind], namespace, name)["spec"]["replicas"])


def events(cluster: Cluster, namespace: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in cluster.client.list("events", namespace) if e.get("reason") == reason]


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_target_workload_is_scaled_through_its_scale_subresource(
    cluster: Cluster, namespace: str, operators: Operators, pods: PodServers, kind: str
) -> None:
    pods.fleet("llm", offered_rps=1.0, precision_of_image=PRECISION_OF_IMAGE)
    cluster.client.apply(deployment("llm", namespace, replicas=1, kind=kind))
    target = {"apiVersion": "apps/v1", "kind": kind, "name": "llm"}
    service = inference_service("llm", namespace, min_replicas=1, max_replicas=5, target=target)
    del service["spec"]["precision"]  # target mode without swaps: Governor only scales
    cluster.client.apply(service)
    wait_for(lambda: len(ready_pods(cluster, namespace, "llm")) == 1, 60, what=f"the {kind}'s first pod")
    before = cluster.client.get(RESOURCE[kind], namespace, "llm")
    operators.start()

    pods.fleet("llm", offered_rps=14.0)
    wait_for(lambda: workload_replicas(cluster, kind, namespace, "llm") >= 3, 90, what=f"{kind} scaled up")
    wait_for(lambda: len(ready_pods(cluster, namespace, "llm")) >= 3, 60, what=f"the {kind} controller's pods")
    after = cluster.client.get(RESOURCE[kind], namespace, "llm")
    assert after["spec"]["template"] == before["spec"]["template"], "target mode never edits the pod template"
    assert after["metadata"].get("ownerReferences") is None, "Governor does not adopt a workload it scales"
    wait_for(
        lambda: (cluster.client.get("inferenceservices", namespace, "llm").get("status", {}).get("replicas") or 0) >= 3,
        30,
        what="status.replicas to follow the workload",
    )


def test_kubectl_scale_starts_a_manual_hold_that_expires(
    cluster: Cluster, namespace: str, operators: Operators, pods: PodServers
) -> None:
    pods.fleet("chat", offered_rps=1.0, precision_of_image=PRECISION_OF_IMAGE)
    body = inference_service("chat", namespace, min_replicas=1, max_replicas=6)
    body["metadata"]["annotations"] = {"governor.dev/manual-hold-seconds": "8"}
    cluster.client.apply(body)
    operators.start()
    wait_for(lambda: len(ready_pods(cluster, namespace, "chat")) == 1, 60, what="the first pod")

    # A person scales the InferenceService itself, through the CRD's scale subresource.
    cluster.kubectl("scale", "inferenceservice", "chat", "-n", namespace, "--replicas=4")
    scale = cluster.client.get("inferenceservices", namespace, "chat", sub="scale")
    assert scale["spec"]["replicas"] == 4
    wait_for(lambda: replicas(cluster, namespace, "chat") == 4, 30, what="the manual scale applied")
    wait_for(lambda: events(cluster, namespace, "ManualScale"), 30, what="a ManualScale Event")
    hold = cluster.client.get("inferenceservices", namespace, "chat")["status"]["manualScale"]
    assert hold["replicas"] == 4 and hold["until"] > hold["since"]
    # During the hold the policy, which wants 1 replica for this load, does not undo it.
    wait_for(lambda: len(ready_pods(cluster, namespace, "chat")) == 4, 60, what="4 ready pods")
    assert replicas(cluster, namespace, "chat") == 4
    # After the hold the policy decides again and scales back down for the light load.
    wait_for(lambda: events(cluster, namespace, "ManualScaleExpired"), 60, what="a ManualScaleExpired Event")
    wait_for(lambda: replicas(cluster, namespace, "chat") == 1, 60, what="the policy scaling back down")
