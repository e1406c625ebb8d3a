"""Owned mode on the real control plane: the real ``governor run`` creates the Deployment and Service,
scales them on what the pods' metrics say, the real ReplicaSets and pods follow, and deleting the
InferenceService garbage-collects everything it owned.
"""

from __future__ import annotations

import time
from typing import Any

from governor.testing.client import wait_for
from tests.cluster.conftest import Cluster, Operators
from tests.cluster.manifests import PRECISION_OF_IMAGE, deployment, inference_service
from tests.support.pod_servers import PodServers


def ready_pods(cluster: Cluster, namespace: str, service: str) -> list[dict[str, Any]]:
    pods = cluster.client.list("pods", namespace)
    return [
        p
        for p in pods
        if p["metadata"].get("labels", {}).get("governor.dev/service") == service
        and not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", ()))
    ]


def replicas(cluster: Cluster, namespace: str, name: str) -> int | None:
    deployment = cluster.client.find("deployments", namespace, name)
    return None if deployment is None else int(deployment["spec"].get("replicas", 0))


def test_owned_service_is_created_scaled_and_garbage_collected(
    cluster: Cluster, namespace: str, operators: Operators, pods: PodServers
) -> None:
    pods.fleet("chat", offered_rps=2.0, precision_of_image=PRECISION_OF_IMAGE)
    cluster.client.apply(inference_service("chat", namespace, min_replicas=1, max_replicas=6))
    operators.start()

    deployment = wait_for(lambda: cluster.client.find("deployments", namespace, "chat"), 60, what="owned Deployment")
    owner = deployment["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("InferenceService", "chat", True)
    service = wait_for(lambda: cluster.client.find("services", namespace, "chat"), 30, what="owned Service")
    assert service["spec"]["selector"] == {"governor.dev/service": "chat"}
    # The real Deployment controller made a ReplicaSet and KWOK made its pod Ready on a GPU node.
    wait_for(lambda: len(ready_pods(cluster, namespace, "chat")) >= 1, 60, what="a ready pod")
    pod = ready_pods(cluster, namespace, "chat")[0]
    assert pod["spec"]["nodeName"].startswith("gpu-node-")
    assert pod["status"]["podIP"].startswith("127."), "a loopback pod IP from KWOK's --cidr"

    # More load than one replica carries: Governor scales up on the scraped metrics.
    pods.fleet("chat", offered_rps=18.0)
    wait_for(lambda: (replicas(cluster, namespace, "chat") or 0) >= 4, 90, what="scale-up to at least 4 replicas")
    wait_for(lambda: len(ready_pods(cluster, namespace, "chat")) >= 4, 60, what="the real ReplicaSet's pods to follow")
    status = cluster.client.get("inferenceservices", namespace, "chat")["status"]
    assert status["desiredReplicas"] >= 4
    assert any("in flight" in reason for reason in status["decision"]["reasons"]), status["decision"]
    wait_for(
        lambda: (cluster.client.get("inferenceservices", namespace, "chat")["status"]["metrics"].get("rps") or 0) > 10,
        30,
        what="status.metrics.rps from the scraped pods",
    )

    # The load goes away: Governor scales back down, and the pods go with it.
    pods.fleet("chat", offered_rps=0.5)
    wait_for(lambda: replicas(cluster, namespace, "chat") == 1, 120, what="scale-down to minReplicas")
    wait_for(lambda: len(ready_pods(cluster, namespace, "chat")) == 1, 60, what="surplus pods deleted")

    # Deleting the InferenceService garbage-collects the Deployment, its ReplicaSets and pods, and the Service.
    cluster.kubectl("delete", "inferenceservice", "chat", "-n", namespace, "--wait=true", "--timeout=60s")
    wait_for(lambda: cluster.client.find("deployments", namespace, "chat") is None, 60, what="Deployment collected")
    wait_for(lambda: cluster.client.find("services", namespace, "chat") is None, 60, what="Service collected")
    wait_for(lambda: not cluster.client.list("replicasets", namespace), 60, what="ReplicaSets collected")
    wait_for(lambda: not ready_pods(cluster, namespace, "chat"), 60, what="pods collected")


def test_an_owned_service_never_takes_over_a_workload_it_did_not_create(
    cluster: Cluster, namespace: str, operators: Operators
) -> None:
    """An InferenceService named like an existing Deployment and Service of someone else: Governor leaves both
    alone (no template rewrite, no scaling, no delete when the InferenceService goes) and says why."""
    cluster.client.apply(deployment("payments-api", namespace, replicas=2))
    cluster.client.create(
        "services",
        {"kind": "Service", "metadata": {"name": "payments-api", "namespace": namespace},
         "spec": {"selector": {"app": "payments-api"}, "ports": [{"port": 80}]}},
        namespace,
    )  # fmt: skip
    before = cluster.client.get("deployments", namespace, "payments-api")
    cluster.client.apply(inference_service("payments-api", namespace, min_replicas=3, max_replicas=4))
    operators.start()
    condition = wait_for(
        lambda: next(
            (
                c
                for c in (cluster.client.get("inferenceservices", namespace, "payments-api").get("status") or {}).get(
                    "conditions", ()
                )
                if c["type"] == "Ready" and "not owned" in c.get("message", "")
            ),
            None,
        ),
        60,
        what="Ready=False saying the Deployment is not Governor's",
    )
    assert condition["status"] == "False" and condition["reason"] == "WorkloadNotOwned"
    events = [e for e in cluster.client.list("events", namespace) if e.get("reason") == "WorkloadNotOwned"]
    assert events and events[0]["type"] == "Warning"
    after = cluster.client.get("deployments", namespace, "payments-api")
    assert after["spec"]["template"] == before["spec"]["template"] and after["spec"]["replicas"] == 2
    assert after["metadata"]["generation"] == before["metadata"]["generation"]

    cluster.kubectl("delete", "inferenceservice", "payments-api", "-n", namespace, "--wait=true", "--timeout=60s")
    time.sleep(2.0)  # the operator's delete handler has run
    assert cluster.client.find("deployments", namespace, "payments-api") is not None
    assert cluster.client.find("services", namespace, "payments-api") is not None
