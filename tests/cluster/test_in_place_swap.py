"""In-place precision swaps on the real control plane: the real ``governor run``, under the shipped RBAC,
asks each pod's Triton (simulated, listening on the pod's loopback IP) to load another model version.

Swapped in place, the pods stay the same pods (names, uids, one ReplicaSet); a pod whose server
refuses the load is deleted so its ReplicaSet recreates it from the template (the previous
variant), and the pods already swapped load the previous version back; an operator killed while a
pod loads is replaced by one that finishes the swap from what ``status.swap`` recorded. The swap
is triggered the way a user would: ``Fixed`` mode, and a merge patch of ``spec.precision.preferred``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from governor.testing.client import wait_for
from tests.cluster.conftest import Cluster, Operators
from tests.cluster.manifests import inference_service
from tests.support.pod_model_control import PodModelControl
from tests.support.pod_servers import PodServers
from tests.support.triton_server import SimulatedModelServers

SERVICE = "chat"
REPLICAS = 3
# Triton's HTTP port on the pods, named by the governor.dev/in-place-port annotation (default 8000): a
# swap that succeeds shows the annotation reached the operator's requests.
IN_PLACE_PORT = 9000
LOAD_SECONDS = 0.5  # each Triton load answers after this long (Triton's load call returns once loaded)

# Triton serves one model whose versions are the precisions: variants differ only by modelVersion,
# so the template does not change and no pod is rolled, during the swap or after it.
IN_PLACE_PRECISION: dict[str, Any] = {
    "mode": "Fixed",
    "preferred": "bf16",
    "qualityFloor": 0.97,
    "modelName": SERVICE,
    "inPlaceMaxUnavailable": 0.34,  # 3 pods: one at a time
    "swapTimeoutSeconds": 60,
    "variants": [
        {
            "precision": "bf16",
            "relativeThroughput": 1.0,
            "relativeQuality": 1.0,
            "swapModes": ["InPlace", "Rolling"],
            "modelVersion": "1",
        },
        {
            "precision": "fp8",
            "relativeThroughput": 1.6,
            "relativeQuality": 0.995,
            "swapModes": ["InPlace", "Rolling"],
            "modelVersion": "2",
        },
    ],
}


@pytest.fixture
def tritons(cluster: Cluster, namespace: str) -> Iterator[PodModelControl]:
    """Each pod's Triton on ``<podIP>:IN_PLACE_PORT``, every pod starting at version 1."""
    with (
        SimulatedModelServers(initial_version="1", load_seconds=LOAD_SECONDS) as servers,
        PodModelControl(cluster.client, namespace, servers, port=IN_PLACE_PORT) as control,
    ):
        yield control


@pytest.fixture
def triton_metrics(cluster: Cluster, namespace: str) -> Iterator[PodServers]:
    """Triton's metrics port (8002) on each pod, scraped directly by Governor."""
    with PodServers(cluster.client, namespace, preset="triton", port=8002) as servers:
        servers.fleet(SERVICE, offered_rps=1.0)
        yield servers


def triton_service(namespace: str) -> dict[str, Any]:
    body = inference_service(
        SERVICE,
        namespace,
        min_replicas=REPLICAS,
        max_replicas=REPLICAS,  # no scaling: every pod the test sees is one the swap must reload
        metrics={"preset": "triton", "scrapePort": 8002, "gpuSource": "none"},
        precision=IN_PLACE_PRECISION,
    )
    body["metadata"]["annotations"] = {"governor.dev/in-place-port": str(IN_PLACE_PORT)}
    return body


def live_pods(cluster: Cluster, namespace: str) -> dict[str, dict[str, Any]]:
    """The service's pods that are not terminating, by name."""
    return {
        p["metadata"]["name"]: p
        for p in cluster.client.list("pods", namespace)
        if p["metadata"].get("labels", {}).get("governor.dev/service") == SERVICE
        and not p["metadata"].get("deletionTimestamp")
    }


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", ()))


def status(cluster: Cluster, namespace: str) -> dict[str, Any]:
    return dict(cluster.client.get("inferenceservices", namespace, SERVICE).get("status") or {})


def condition(cluster: Cluster, namespace: str, kind: str) -> tuple[str, str, str] | None:
    for c in status(cluster, namespace).get("conditions", ()):
        if c["type"] == kind:
            return c["status"], c["reason"], c["message"]
    return None


def events_until(cluster: Cluster, namespace: str, reason: str) -> list[str]:
    """The reasons of the InferenceService's Events, once one with ``reason`` is there."""

    def reasons() -> list[str] | None:
        events = cluster.client.list("events", namespace)
        mine = [e["reason"] for e in events if e.get("involvedObject", {}).get("kind") == "InferenceService"]
        return mine if reason in mine else None

    return wait_for(reasons, 10, what=f"Event {reason}")


def serving_bf16(cluster: Cluster, namespace: str, tritons: PodModelControl) -> dict[str, str]:
    """Wait until the owned Deployment runs ``REPLICAS`` ready pods whose Triton answers, and Governor
    reports bf16; then ``pod name → uid``."""

    def settled() -> dict[str, str] | None:
        deployment = cluster.client.find("deployments", namespace, SERVICE)
        pods = live_pods(cluster, namespace)
        if deployment is None or deployment.get("status", {}).get("availableReplicas") != REPLICAS:
            return None
        if len(pods) != REPLICAS or not all(map(ready, pods.values())) or set(pods) - tritons.servers.bound:
            return None
        if status(cluster, namespace).get("precision") != "bf16":
            return None
        return {name: p["metadata"]["uid"] for name, p in pods.items()}

    try:
        return wait_for(settled, 60, what="ready pods")
    except TimeoutError:
        pods = {name: (p["status"].get("podIP"), ready(p)) for name, p in live_pods(cluster, namespace).items()}
        seen = (pods, tritons.servers.bound, tritons.refused, status(cluster, namespace).get("precision"))
        raise AssertionError(
            "pods (IP, ready), bound, refused, precision: " + json.dumps(seen, default=sorted)
        ) from None


def prefer(cluster: Cluster, namespace: str, precision: str) -> None:
    patch = {"spec": {"precision": {"preferred": precision}}}
    cluster.client.patch("inferenceservices", namespace, SERVICE, patch)


def swap_ended(cluster: Cluster, namespace: str, servers: SimulatedModelServers, phase: str) -> dict[str, Any]:
    """The status once the swap reached ``phase``; on a timeout, what the swap and the servers show."""

    def reached() -> dict[str, Any] | None:
        current = status(cluster, namespace)
        return current if (current.get("swap") or {}).get("phase") == phase else None

    try:
        return wait_for(reached, 30, what=f"swap phase {phase}")
    except TimeoutError:
        pods = {name: p["status"].get("podIP") for name, p in live_pods(cluster, namespace).items()}
        seen = (status(cluster, namespace).get("swap"), pods, servers.loads, servers.versions, servers.bound)
        raise AssertionError("swap, pods, loads, versions, bound: " + json.dumps(seen, default=sorted)) from None


def test_in_place_swap_reloads_pod_by_pod_without_recreating_pods(
    cluster: Cluster,
    namespace: str,
    operators: Operators,
    tritons: PodModelControl,
    triton_metrics: PodServers,
) -> None:
    triton = tritons.servers
    cluster.client.apply(triton_service(namespace))
    operator = operators.start()
    before = serving_bf16(cluster, namespace, tritons)
    deployment = cluster.client.get("deployments", namespace, SERVICE)
    replica_sets = sorted(rs["metadata"]["name"] for rs in cluster.client.list("replicasets", namespace))

    prefer(cluster, namespace, "fp8")
    done = swap_ended(cluster, namespace, triton, "Succeeded")

    # Every pod's own server loaded version 2, one pod at a time, each exactly once.
    pods = sorted(before)
    assert triton.loads == [(pod, "triton", "2") for pod in pods]
    assert triton.most_loading == 1
    assert {pod: triton.version_of(pod) for pod in pods} == dict.fromkeys(pods, "2")
    # The pods are the same pods: nothing deleted, recreated or rolled.
    after = live_pods(cluster, namespace)
    assert {name: p["metadata"]["uid"] for name, p in after.items()} == before
    assert all(map(ready, after.values()))
    assert sorted(rs["metadata"]["name"] for rs in cluster.client.list("replicasets", namespace)) == replica_sets
    now = cluster.client.get("deployments", namespace, SERVICE)
    assert now["metadata"]["generation"] == deployment["metadata"]["generation"]
    assert now["spec"]["template"] == deployment["spec"]["template"]

    # Status says what the pods serve now, and how the swap went.
    swap = done["swap"]
    assert done["precision"] == "fp8" and done.get("lastSwapTime")
    assert (swap["from"], swap["to"], swap["strategy"]) == ("bf16", "fp8", "InPlace")
    assert sorted(swap["podsDone"]) == pods and swap["podsFailed"] == [] and swap["inFlight"] == []
    assert not done.get("quarantine")
    swapping = ("False", "NoSwap", "serving fp8")
    wait_for(lambda: condition(cluster, namespace, "Swapping") == swapping, 10, what=f"condition Swapping {swapping}")
    reasons = events_until(cluster, namespace, "PrecisionSwapped")
    assert reasons.count("PrecisionSwapStarted") == 1 and reasons.count("PrecisionSwapped") == 1
    assert not operator.forbidden(), operator.forbidden()[:10]


def test_a_pod_that_refuses_the_load_is_restarted_and_the_swapped_pods_go_back(
    cluster: Cluster,
    namespace: str,
    operators: Operators,
    tritons: PodModelControl,
    triton_metrics: PodServers,
) -> None:
    triton = tritons.servers
    cluster.client.apply(triton_service(namespace))
    operator = operators.start()
    before = serving_bf16(cluster, namespace, tritons)
    first, refusing, untouched = sorted(before)  # pods load in name order
    triton.fail_load.add(refusing)

    prefer(cluster, namespace, "fp8")
    failed = swap_ended(cluster, namespace, triton, "Failed")

    # The first pod swapped, the second refused (the swap stopped there), the first went back to version 1.
    assert triton.loads == [(first, "triton", "2"), (refusing, "triton", "2"), (first, "triton", "1")]
    assert triton.version_of(first) == "1" and triton.version_of(untouched) == "1"
    swap = failed["swap"]
    assert failed["precision"] == "bf16"
    assert swap["podsDone"] == [first] and swap["podsFailed"] == [refusing]
    assert "out of memory" in swap["message"], swap
    assert [q["precision"] for q in failed["quarantine"]] == ["fp8"]

    # The refusing pod was deleted (under the shipped RBAC) and its ReplicaSet replaced it from the template.
    def replaced() -> dict[str, dict[str, Any]] | None:
        pods = live_pods(cluster, namespace)
        return pods if len(pods) == REPLICAS and all(map(ready, pods.values())) and refusing not in pods else None

    pods = wait_for(replaced, 30, what=f"{refusing} deleted and replaced")
    assert {name: before[name] for name in (first, untouched)} == {
        name: pods[name]["metadata"]["uid"] for name in (first, untouched)
    }
    (replacement,) = set(pods) - {first, untouched}
    assert len(cluster.client.list("replicasets", namespace)) == 1
    reasons = events_until(cluster, namespace, "PrecisionRolledBack")
    assert reasons.count("PrecisionSwapFailed") == 1 and reasons.count("PrecisionRolledBack") == 1
    assert not operator.forbidden(), operator.forbidden()[:10]

    # fp8 is still preferred, but quarantined: no new swap, no more loads, the replacement stays on version 1.
    wait_for(lambda: replacement in triton.bound, 10, what="the replacement pod's Triton")
    time.sleep(2.0)  # four ticks
    assert len(triton.loads) == 3
    assert triton.version_of(replacement) == "1"
    assert (status(cluster, namespace).get("swap") or {}).get("phase") == "Failed"


def test_an_operator_killed_mid_load_is_replaced_and_the_next_one_finishes_the_swap(
    cluster: Cluster,
    namespace: str,
    operators: Operators,
    tritons: PodModelControl,
    triton_metrics: PodServers,
) -> None:
    triton = tritons.servers
    cluster.client.apply(triton_service(namespace))
    first_operator = operators.start()
    before = serving_bf16(cluster, namespace, tritons)
    first, second, third = sorted(before)
    triton.load_seconds = 2.0  # long enough to kill the operator while it waits on a load

    prefer(cluster, namespace, "fp8")
    wait_for(lambda: second in triton.loading, 20, what=f"{second} loading")
    # Write-ahead: the pod being loaded is on record before it was asked.
    swap = status(cluster, namespace)["swap"]
    assert swap["podsDone"] == [first] and [i["pod"] for i in swap["inFlight"]] == [second], swap
    first_operator.kill()

    second_operator = operators.start()
    done = swap_ended(cluster, namespace, triton, "Succeeded")
    # The new operator asked the in-flight pod again (loads are idempotent), never the finished one.
    assert triton.loads == [
        (first, "triton", "2"),
        (second, "triton", "2"),
        (second, "triton", "2"),
        (third, "triton", "2"),
    ]
    assert {pod: triton.version_of(pod) for pod in before} == dict.fromkeys(before, "2")
    assert done["precision"] == "fp8" and sorted(done["swap"]["podsDone"]) == sorted(before)
    assert {name: p["metadata"]["uid"] for name, p in live_pods(cluster, namespace).items()} == before
    reasons = events_until(cluster, namespace, "PrecisionSwapped")
    assert reasons.count("PrecisionSwapStarted") == 1 and reasons.count("PrecisionSwapped") == 1
    assert not second_operator.forbidden(), second_operator.forbidden()[:10]
