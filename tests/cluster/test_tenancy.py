"""Tenant safety on the real control plane: an InferenceService may make Governor do only what its author
could do themselves (manifests/admission.yaml, docs/security-admission.md).

Each test acts as a tenant: a real ServiceAccount token of the test's namespace, with a Role that lets it
write InferenceServices and whatever else the test grants, and ``kubectl`` as that identity. The
kube-apiserver's ValidatingAdmissionPolicy asks its own RBAC authorizer whether the tenant holds each
right Governor would use for the service, so a refusal here is the real one a tenant would see.
Another team's ``payments-api`` Deployment lives in the same namespace and must never move.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from governor.testing.client import wait_for
from tests.cluster.conftest import Cluster, Operators
from tests.cluster.manifests import PRECISION_OF_IMAGE, deployment, inference_service
from tests.cluster.test_owned import ready_pods
from tests.support.pod_servers import PodServers

POLICY = "ValidatingAdmissionPolicy 'governor-tenant-rights'"
OTHER_TEAM = "payments-api"
RESOURCE = {"Deployment": "deployments", "StatefulSet": "statefulsets"}

# What every tenant here may do: write InferenceServices in its own namespace, nothing else.
WRITE_INFERENCE_SERVICES = {
    "apiGroups": ["governor.dev"],
    "resources": ["inferenceservices"],
    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
}


def rule(group: str, resources: list[str], verbs: list[str], names: list[str] | None = None) -> dict[str, Any]:
    granted: dict[str, Any] = {"apiGroups": [group], "resources": resources, "verbs": verbs}
    if names:
        granted["resourceNames"] = names
    return granted


@dataclass
class Tenant:
    """One ServiceAccount of the test namespace, acting through ``kubectl`` with its own token."""

    cluster: Cluster
    namespace: str
    kubeconfig: Path
    name: str = "tenant"

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl(*args, "-n", self.namespace, input=input, kubeconfig=self.kubeconfig, check=False)

    def apply(self, body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", input=yaml.safe_dump(body))

    def patch(self, name: str, patch: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return self.kubectl("patch", "inferenceservice", name, "--type=merge", "-p", json.dumps(patch))

    def grant(self, role: str, *rules: dict[str, Any]) -> None:
        """Bind the tenant a Role, then wait until the authorizer says so (RBAC reads from a cache)."""
        meta = {"name": role, "namespace": self.namespace}
        self.cluster.plane.apply(
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": list(rules)},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": self.name, "namespace": self.namespace}],
            },
        )
        for granted in rules:
            resource, _, sub = granted["resources"][0].partition("/")
            group = granted["apiGroups"][0]
            target = f"{resource}.{group}" if group else resource
            if names := granted.get("resourceNames"):
                target += f"/{names[0]}"
            self.wait_allowed(granted["verbs"][0], target, *([f"--subresource={sub}"] if sub else []))

    def wait_allowed(self, *right: str) -> None:
        """Until ``kubectl auth can-i <right>`` says yes for the tenant."""
        wait_for(lambda: self.kubectl("auth", "can-i", *right).stdout.strip() == "yes", 10, what=f"RBAC: {right}")


@pytest.fixture
def tenant(cluster: Cluster, namespace: str, tmp_path: Path) -> Tenant:
    cluster.kubectl("create", "serviceaccount", "tenant", "-n", namespace)
    kubeconfig = cluster.plane.service_account_kubeconfig(namespace, "tenant", tmp_path / "tenant.kubeconfig")
    tenant = Tenant(cluster, namespace, kubeconfig)
    tenant.grant("inferenceservices", WRITE_INFERENCE_SERVICES)
    # The policy was applied with the session; the apiserver enforces it once its informer has it.
    probe = inference_service("probe", namespace)
    wait_for(
        lambda: POLICY in tenant.kubectl("create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(probe)).stderr,
        30,
        what="the admission policy to be enforced",
    )
    return tenant


@pytest.fixture
def other_team(cluster: Cluster, namespace: str) -> dict[str, Any]:
    """Another team's Deployment in the tenant's namespace, created by an administrator."""
    cluster.client.apply(deployment(OTHER_TEAM, namespace))
    return cluster.client.get("deployments", namespace, OTHER_TEAM)


def refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """The refusal's message; it must come from the policy and contain each of ``words``."""
    assert result.returncode != 0, f"admitted, but should have been refused: {result.stdout}"
    assert POLICY in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, f"{word!r} not in: {result.stderr}"
    return result.stderr


def admitted(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr


def untouched(cluster: Cluster, namespace: str, before: dict[str, Any], resource: str = "deployments") -> None:
    after = cluster.client.get(resource, namespace, before["metadata"]["name"])
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"]


def exfiltration(namespace: str, target: dict[str, Any], name: str = "chat") -> dict[str, Any]:
    """Issue 11's attack: a variant swaps in the attacker's image with another team's Secret in its env."""
    body = inference_service(name, namespace, target=target)
    body["spec"]["precision"]["variants"][1].update(
        image="attacker/exfil:1",
        env=[{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "payments-db", "key": "password"}}}],
    )
    return body


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_target_mode_on_a_workload_the_tenant_may_not_patch_is_refused(
    cluster: Cluster, namespace: str, tenant: Tenant, kind: str
) -> None:
    cluster.client.apply(deployment(OTHER_TEAM, namespace, kind=kind))
    before = cluster.client.get(RESOURCE[kind], namespace, OTHER_TEAM)
    # The tenant may patch and scale a workload of its own, not the other team's.
    own = [rule("apps", [RESOURCE[kind], f"{RESOURCE[kind]}/scale"], ["patch"], ["llm"])]
    tenant.grant("own-workload", *own)

    result = tenant.apply(exfiltration(namespace, {"apiVersion": "apps/v1", "kind": kind, "name": OTHER_TEAM}))

    message = refused(result, tenant.user, f"may not patch {RESOURCE[kind]}.apps/{OTHER_TEAM} -n {namespace}")
    assert "swap precisions" in message and "kubectl auth can-i" in message
    assert cluster.client.find("inferenceservices", namespace, "chat") is None
    untouched(cluster, namespace, before, RESOURCE[kind])


def test_target_mode_is_accepted_with_the_rights_to_patch_and_scale_the_target(
    cluster: Cluster, namespace: str, tenant: Tenant, other_team: dict[str, Any]
) -> None:
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": OTHER_TEAM}
    body = inference_service("chat", namespace, target=target)
    # Patching the pod template is not enough: Governor also scales, through the scale subresource.
    tenant.grant("patch", rule("apps", ["deployments"], ["patch"], [OTHER_TEAM]))
    refused(tenant.apply(body), f"may not patch deployments.apps/{OTHER_TEAM} --subresource=scale -n {namespace}")

    tenant.grant("scale", rule("apps", ["deployments/scale"], ["patch"], [OTHER_TEAM]))
    admitted(tenant.apply(body))
    created = cluster.client.get("inferenceservices", namespace, "chat")
    assert created["spec"]["scaleTargetRef"]["name"] == OTHER_TEAM
    untouched(cluster, namespace, other_team)  # admission alone changes nothing

    # A kind Governor does not scale has no right to check: refused (by the CRD's enum, before the policy
    # would refuse it too), so no check is ever skipped.
    result = tenant.patch("chat", {"spec": {"scaleTargetRef": {"kind": "ReplicaSet"}}})
    assert result.returncode != 0 and 'Unsupported value: "ReplicaSet"' in result.stderr, result.stderr


def test_owned_mode_needs_the_rights_to_create_and_manage_what_governor_creates(
    cluster: Cluster, namespace: str, tenant: Tenant, other_team: dict[str, Any]
) -> None:
    result = tenant.apply(inference_service("chat", namespace))
    refused(result, tenant.user, f"may not create deployments.apps -n {namespace}", "owned mode")
    assert cluster.client.find("inferenceservices", namespace, "chat") is None

    # Creating needs no name; Governor then patches and deletes the objects named after the service.
    tenant.grant(
        "owned",
        rule("apps", ["deployments"], ["create"]),
        rule("", ["services"], ["create"]),
        rule("apps", ["deployments"], ["patch", "delete"], ["chat"]),
        rule("", ["services"], ["delete"], ["chat"]),
    )
    admitted(tenant.apply(inference_service("chat", namespace)))
    assert cluster.client.get("inferenceservices", namespace, "chat")["spec"]["template"]

    # Owned mode named after another team's Deployment would have Governor rewrite and delete it.
    result = tenant.apply(inference_service(OTHER_TEAM, namespace))
    refused(result, f"may not patch deployments.apps/{OTHER_TEAM} -n {namespace}", "Deployment of that name")
    assert cluster.client.find("inferenceservices", namespace, OTHER_TEAM) is None
    untouched(cluster, namespace, other_team)


def test_variant_env_may_read_only_from_the_pod_itself(cluster: Cluster, namespace: str, tenant: Tenant) -> None:
    cluster.client.apply(deployment("llm", namespace))
    tenant.grant("own-workload", rule("apps", ["deployments", "deployments/scale"], ["patch"], ["llm"]))
    # The tenant even may read the Secret: a variant still may not carry the reference.
    tenant.grant("secret", rule("", ["secrets", "configmaps"], ["get"], ["hf-token"]))
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llm"}

    def with_env(value_from: dict[str, Any]) -> dict[str, Any]:
        body = inference_service("chat", namespace, target=target)
        body["spec"]["precision"]["variants"][1]["env"] = [{"name": "HF_TOKEN", "valueFrom": value_from}]
        return body

    secret = with_env({"secretKeyRef": {"name": "hf-token", "key": "token"}})
    refused(tenant.apply(secret), "variants[fp8].env[HF_TOKEN].valueFrom.secretKeyRef", "fieldRef, resourceFieldRef")
    config = with_env({"configMapKeyRef": {"name": "hf-token", "key": "token"}})
    refused(tenant.apply(config), "variants[fp8].env[HF_TOKEN].valueFrom.configMapKeyRef")
    assert cluster.client.find("inferenceservices", namespace, "chat") is None

    admitted(tenant.apply(with_env({"fieldRef": {"fieldPath": "metadata.name"}})))
    variants = cluster.client.get("inferenceservices", namespace, "chat")["spec"]["precision"]["variants"]
    assert variants[1]["env"][0]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_an_update_is_checked_against_whoever_makes_it(
    cluster: Cluster, namespace: str, tenant: Tenant, other_team: dict[str, Any]
) -> None:
    cluster.client.apply(deployment("llm", namespace))
    tenant.grant("own-workload", rule("apps", ["deployments", "deployments/scale"], ["patch"], ["llm"]))
    admitted(tenant.apply(inference_service("chat", namespace, target={"name": "llm"})))

    # Retargeting the accepted service at the other team's Deployment is refused; it keeps its target.
    result = tenant.patch("chat", {"spec": {"scaleTargetRef": {"name": OTHER_TEAM}}})
    refused(result, f"may not patch deployments.apps/{OTHER_TEAM} -n {namespace}")
    assert cluster.client.get("inferenceservices", namespace, "chat")["spec"]["scaleTargetRef"]["name"] == "llm"

    # A service an administrator pointed at payments-api: the tenant may label it (no right of Governor's
    # is involved, which is also what lets the operator write its own metadata), but not change its spec
    # or the annotations Governor reads (which container it rewrites).
    cluster.client.apply(inference_service("payments", namespace, target={"name": OTHER_TEAM}))
    admitted(tenant.kubectl("label", "inferenceservice", "payments", "team=payments"))
    refused(tenant.patch("payments", {"spec": {"maxReplicas": 8}}), f"deployments.apps/{OTHER_TEAM}")
    annotate = tenant.kubectl("annotate", "inferenceservice", "payments", "governor.dev/model-container=sidecar")
    refused(annotate, f"deployments.apps/{OTHER_TEAM}")
    payments = cluster.client.get("inferenceservices", namespace, "payments")
    assert payments["metadata"]["labels"] == {"team": "payments"}
    assert payments["spec"]["maxReplicas"] == 4
    assert "governor.dev/model-container" not in payments["metadata"].get("annotations", {})
    untouched(cluster, namespace, other_team)


def test_a_legitimate_tenant_service_is_scaled_by_governor(
    cluster: Cluster,
    namespace: str,
    tenant: Tenant,
    other_team: dict[str, Any],
    operators: Operators,
    pods: PodServers,
) -> None:
    pods.fleet("llm", offered_rps=1.0, precision_of_image=PRECISION_OF_IMAGE)
    cluster.client.apply(deployment("llm", namespace))
    tenant.grant("own-workload", rule("apps", ["deployments", "deployments/scale"], ["patch"], ["llm"]))
    body = inference_service("llm", namespace, min_replicas=1, max_replicas=5, target={"name": "llm"})
    body["spec"]["precision"]["variants"][1]["env"] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    ]
    admitted(tenant.apply(body))
    wait_for(lambda: len(ready_pods(cluster, namespace, "llm")) == 1, 60, what="the Deployment's first pod")
    operators.start()

    pods.fleet("llm", offered_rps=14.0)
    wait_for(lambda: cluster.client.get("deployments", namespace, "llm")["spec"]["replicas"] >= 3, 90, what="scale-up")

    def followed() -> dict[str, Any] | None:
        service = cluster.client.get("inferenceservices", namespace, "llm")
        return service if service.get("status", {}).get("replicas", 0) >= 3 else None

    service = wait_for(followed, 30, what="status.replicas to follow the Deployment")
    # Kopf wrote its own metadata onto the service as the operator's ServiceAccount: the policy let it through.
    assert "kopf.zalando.org/last-handled-configuration" in service["metadata"]["annotations"]
    untouched(cluster, namespace, other_team)
    # The operators fixture fails the test on any 403 in the operator's log, admission refusals included.
