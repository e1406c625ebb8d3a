"""Faults on the real control plane: a concurrent writer's 409 Conflict, and an apiserver restart.

* Conflicts: Governor's writes of a Deployment's container list carry the read's resourceVersion
  as a precondition. Here another client writes the Deployment between Governor's read and its
  patch — deterministically, twice — so the real apiserver answers 409; Governor re-reads, writes
  again, and keeps the other writer's change.
* Restart: kube-apiserver is stopped and started again (etcd keeps the state) while
  ``governor run`` runs; the operator reconnects and goes on scaling.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping, Sequence
from typing import Any

import kubernetes

from governor.actuate.swap.overrides import model_container
from governor.actuate.writes import set_model_container
from governor.kube.client import KubernetesApi, api_path
from governor.testing.client import wait_for
from tests.cluster.conftest import Cluster, Operators
from tests.cluster.manifests import IMAGE, PRECISION_OF_IMAGE, deployment, inference_service
from tests.cluster.test_owned import ready_pods, replicas
from tests.support.pod_servers import PodServers


def kube_api(kubeconfig: str) -> KubernetesApi:
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=config)
    return KubernetesApi(kubernetes.client.ApiClient(config))


class InterleavedWriter:
    """Governor's API, except that right after each of the first ``times`` reads of ``path`` another
    client writes the object (a label bump), so Governor's precondition is stale when it patches."""

    def __init__(self, api: KubernetesApi, cluster: Cluster, namespace: str, name: str, times: int) -> None:
        self.api, self.cluster, self.namespace, self.name, self.left = api, cluster, namespace, name, times
        self.patches: list[int] = []  # HTTP status of each of Governor's patches (0 = accepted)

    async def get(self, path: str) -> dict[str, Any]:
        obj = await self.api.get(path)
        if self.left > 0:
            self.left -= 1
            bump = {"metadata": {"labels": {"other-writer": str(self.left)}}}
            await asyncio.to_thread(self.cluster.client.patch, "deployments", self.namespace, self.name, bump)
        return obj

    async def patch(self, path: str, body: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        try:
            result = await self.api.patch(path, body)
        except Exception as exc:
            self.patches.append(int(getattr(exc, "status", -1)))
            raise
        self.patches.append(0)
        return result


def test_a_concurrent_writer_gets_governor_a_409_and_it_retries_on_a_fresh_read(
    cluster: Cluster, namespace: str
) -> None:
    cluster.client.apply(deployment("llm", namespace, replicas=1))
    path = api_path("apps/v1", "deployments", namespace, "llm")
    template = cluster.client.get("deployments", namespace, "llm")["spec"]["template"]
    wanted = copy.deepcopy(model_container(template))
    wanted["image"] = f"{IMAGE}:int4"
    api = kube_api(str(cluster.operator_kubeconfig))  # Governor's own identity and RBAC
    writer = InterleavedWriter(api, cluster, namespace, "llm", times=2)
    try:
        changed = asyncio.run(set_model_container(writer, path, wanted, None, None))  # type: ignore[arg-type]
    finally:
        api.close()
    assert changed is True
    assert writer.patches == [409, 409, 0], "two stale preconditions refused, then the fresh write accepted"
    after = cluster.client.get("deployments", namespace, "llm")
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == wanted["image"]
    assert after["metadata"]["labels"]["other-writer"] == "0", "the other writer's change is kept"


def test_operator_recovers_after_the_apiserver_restarts(
    cluster: Cluster, namespace: str, operators: Operators, pods: PodServers
) -> None:
    pods.fleet("chat", offered_rps=1.0, precision_of_image=PRECISION_OF_IMAGE)
    cluster.client.apply(inference_service("chat", namespace, min_replicas=1, max_replicas=5))
    operator = operators.start()
    wait_for(lambda: len(ready_pods(cluster, namespace, "chat")) == 1, 60, what="the first pod")

    with operators.excusing_forbidden():  # until RBAC's caches fill again, the new apiserver refuses wrongly
        cluster.plane.restart_apiserver()
        wait_for(lambda: cluster.operator_may("list", "deployments", namespace), 60, what="RBAC's caches to fill")
    assert operator.proc.poll() is None, "the operator survives losing its API server"

    pods.fleet("chat", offered_rps=14.0)
    wait_for(lambda: (replicas(cluster, namespace, "chat") or 0) >= 3, 90, what="scaling after the restart")
    # Kopf's watch reconnected too: a spec change made after the restart reaches the operator.
    cluster.client.patch("inferenceservices", namespace, "chat", {"spec": {"maxReplicas": 2}})
    wait_for(lambda: replicas(cluster, namespace, "chat") == 2, 60, what="the new maxReplicas applied")
