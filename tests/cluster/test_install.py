"""Installing Governor the two documented ways on the real control plane: ``helm install`` of
charts/governor and ``kubectl apply -k`` of manifests/. Each into a fresh namespace beside the
session's own install (tests/cluster/conftest.py), so nothing cluster-scoped may collide: the chart
takes a ``clusterPrefix``; the kustomization goes through an overlay.

In both, the operator Deployment and the agent DaemonSet become Ready. Under KWOK no container runs
(KWOK marks scheduled pods Ready), so that shows the objects are accepted and schedulable, not that
the image works. The operator's reconciling is shown by the real ``governor run`` started here under
the ServiceAccount the install created (a real token of it): it reconciles examples/vllm-chat.yaml,
creating the Deployment and Service it owns and writing its status, and the apiserver refuses none
of its requests, so the installed RBAC is enough.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from governor.testing.client import wait_for
from tests.cluster.conftest import Cluster, Operators
from tests.support.control_plane import GPU_NODES
from tests.support.install import CHART, MANIFESTS, REPO, run

EXAMPLE = REPO / "examples" / "vllm-chat.yaml"  # owned mode: Governor creates its Deployment and Service
READY_TIMEOUT = "120s"


def _env(cluster: Cluster) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(cluster.plane.admin_kubeconfig)}


def _operator_ready(cluster: Cluster, namespace: str) -> dict[str, Any]:
    """The operator Deployment (all its replicas) and the agent DaemonSet (one pod per GPU node) are Ready."""
    for workload in ("deployment/governor", "daemonset/governor-agent"):
        cluster.kubectl("rollout", "status", workload, "-n", namespace, f"--timeout={READY_TIMEOUT}")
    deployment = cluster.plane.get_json("deployment", "governor", "-n", namespace)
    assert deployment["status"].get("readyReplicas") == deployment["spec"]["replicas"], deployment["status"]
    agent = cluster.plane.get_json("daemonset", "governor-agent", "-n", namespace)["status"]
    assert agent["numberReady"] == agent["desiredNumberScheduled"] == GPU_NODES, agent
    return deployment


def _reconciles_example(cluster: Cluster, namespace: str, tmp_path: Path, peering: str) -> None:
    """The real operator, as the installed ServiceAccount, reconciles an example InferenceService."""
    kubeconfig = cluster.plane.service_account_kubeconfig(namespace, "governor", tmp_path / "sa.kubeconfig")
    operators = Operators(cluster, namespace, tmp_path)
    operator = operators.start(
        KUBECONFIG=str(kubeconfig), GOVERNOR_PEERING=peering, GOVERNOR_RECEIVERS_NAMESPACE=namespace
    )
    try:
        example = yaml.safe_load(EXAMPLE.read_text())
        example["metadata"]["namespace"] = namespace
        cluster.plane.apply(example, namespace=namespace)
        name = example["metadata"]["name"]

        def status() -> dict[str, Any] | None:
            found = cluster.client.get("inferenceservices", namespace, name).get("status") or {}
            return found if found.get("conditions") else None

        written = wait_for(status, 60, what=f"status of {namespace}/{name} written by governor run")
        print(f"status of the example: {[(c['type'], c['status'], c.get('reason')) for c in written['conditions']]}")
        owner = cluster.client.get("inferenceservices", namespace, name)["metadata"]["uid"]
        for kind in ("deployment", "service"):
            owned = wait_for(lambda k=kind: cluster.plane.find(k, namespace, name), 30, what=f"the owned {kind}")
            assert [o["uid"] for o in owned["metadata"]["ownerReferences"]] == [owner]
        replicas = cluster.plane.get_json("deployment", name, "-n", namespace)["spec"]["replicas"]
        assert replicas >= example["spec"]["minReplicas"]
    finally:
        operators.stop_all()
    assert not operators.forbidden(), "\n".join(operators.forbidden()[:20]) + "\n" + operator.output()[-3000:]


@pytest.fixture
def helm_release(cluster: Cluster, namespace: str) -> Iterator[tuple[str, str]]:
    prefix = f"gov-{namespace[-6:]}"
    release = f"governor-{namespace[-6:]}"
    yield release, prefix
    run("helm", "uninstall", release, "-n", namespace, "--wait", "--timeout", "60s", env=_env(cluster))
    # Uninstalling takes the cluster-scoped objects too (a namespace deletion would not).
    kinds = "clusterroles,clusterrolebindings,clusterkopfpeerings,validatingadmissionpolicies"
    left = cluster.kubectl("get", kinds, "-o", "name").stdout.split()
    assert not [n for n in left if n.split("/", 1)[1].startswith(prefix)], left


def test_helm_install_runs_the_operator_and_its_rbac_suffices(
    cluster: Cluster, namespace: str, helm_release: tuple[str, str], tmp_path: Path
) -> None:
    release, prefix = helm_release
    started = time.monotonic()
    # --wait: Helm itself waits until the Deployment and the agent DaemonSet are Ready.
    args = ["install", release, str(CHART), "-n", namespace, "--wait", "--timeout", READY_TIMEOUT]
    run("helm", *args, "--set", f"clusterPrefix={prefix}", "--set", f"namespaces={{{namespace}}}", env=_env(cluster))
    print(f"\nhelm install --wait: {time.monotonic() - started:.1f} s")
    deployment = _operator_ready(cluster, namespace)
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GOVERNOR_NAMESPACES"] == namespace and env["GOVERNOR_PEERING"] == prefix
    assert cluster.plane.get_json("clusterkopfpeering", prefix)["metadata"]["name"] == prefix
    assert cluster.plane.get_json("validatingadmissionpolicy", f"{prefix}-tenant-rights")
    _reconciles_example(cluster, namespace, tmp_path, peering=prefix)


def _overlay(folder: Path, namespace: str) -> Path:
    """manifests/ moved into ``namespace``. The Namespace exists already; the cluster-wide objects the
    session applied from the same files (ClusterRoles, peering, admission policy) are shared, and the
    two ClusterRoleBindings are renamed so they bind this namespace's ServiceAccounts."""
    deleted = [
        ("v1", "Namespace", "governor-system"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole", "governor"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole", "governor-agent"),
        ("kopf.dev/v1", "ClusterKopfPeering", "governor"),
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "governor-tenant-rights"),
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", "governor-tenant-rights"),
    ]
    patches: list[dict[str, Any]] = [
        {
            "target": {"kind": kind, "name": name},
            "patch": yaml.safe_dump({"$patch": "delete", "apiVersion": api, "kind": kind, "metadata": {"name": name}}),
        }
        for api, kind, name in deleted
    ]
    patches += [
        {
            "target": {"kind": "ClusterRoleBinding", "name": name},
            "patch": yaml.safe_dump(
                [
                    {"op": "replace", "path": "/metadata/name", "value": f"{namespace}-{name}"},
                    {"op": "replace", "path": "/subjects/0/namespace", "value": namespace},
                ]
            ),
        }
        for name in ("governor", "governor-agent")
    ]
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "resources": [os.path.relpath(MANIFESTS, folder)],
        "patches": patches,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return folder


def test_kustomization_applies_runs_the_operator_and_its_rbac_suffices(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    # The kustomization as shipped is accepted by the real apiserver whole (server-side dry run).
    cluster.kubectl("apply", "-k", str(MANIFESTS), "--dry-run=server")
    overlay = _overlay(tmp_path / "overlay", namespace)
    started = time.monotonic()
    try:
        cluster.kubectl("apply", "-k", str(overlay))
        _operator_ready(cluster, namespace)
        print(f"\nkubectl apply -k until Ready: {time.monotonic() - started:.1f} s")
        _reconciles_example(cluster, namespace, tmp_path, peering="governor")
    finally:
        cluster.kubectl("delete", "clusterrolebinding", f"{namespace}-governor", f"{namespace}-governor-agent",
                        "--ignore-not-found")  # fmt: skip
