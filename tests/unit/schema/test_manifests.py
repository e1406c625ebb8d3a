"""The cluster manifests are valid Kubernetes objects (strict: no unknown fields) and fit together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from .conftest import CRD_FILES, MANIFEST_FILES, documents

# Kinds the bundled Kubernetes schemas cover; custom kinds are checked against their CRD instead.
CUSTOM_GROUPS = ("kopf.dev/", "governor.dev/")
K8S_VERSION = "1.30.0"


def _builtin() -> list[tuple[str, dict[str, Any]]]:
    docs = [(p, d) for p in [*MANIFEST_FILES, *CRD_FILES] for d in documents(p)]
    return [
        (f"{Path(p).name}:{d['kind']}/{d['metadata']['name']}", d)
        for p, d in docs
        if not d["apiVersion"].startswith(CUSTOM_GROUPS)
    ]


def _all() -> list[dict[str, Any]]:
    return [d for p in MANIFEST_FILES for d in documents(p)]


@pytest.mark.parametrize(("name", "obj"), _builtin(), ids=[n for n, _ in _builtin()])
def test_builtin_object_is_valid_strictly(name: str, obj: dict[str, Any]) -> None:
    # Offline: kubernetes-validate ships the API's JSON schemas; no cluster or network is used.
    assert kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_strict_validation_rejects_a_typo() -> None:
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"selectr": {"a": "b"}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def _find(kind: str, name: str) -> dict[str, Any]:
    (obj,) = [d for d in _all() if d["kind"] == kind and d["metadata"]["name"] == name]
    return obj


def _rules(kind: str, name: str) -> set[tuple[str, str, str]]:
    found = _find(kind, name)["rules"]
    return {(g, r, v) for rule in found for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_everything_lives_in_governor_system() -> None:
    namespaced = [
        d for d in _all() if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering")
    ]
    assert namespaced and {d["metadata"].get("namespace") for d in namespaced} == {"governor-system"}
    assert _find("Namespace", "governor-system")


def test_operator_rbac_covers_what_it_does() -> None:
    granted = _rules("ClusterRole", "governor") | _rules("Role", "governor")
    needed = {
        ("governor.dev", "inferenceservices", "watch"),
        ("governor.dev", "inferenceservices", "patch"),
        ("governor.dev", "inferenceservices/status", "patch"),
        ("governor.dev", "inferenceservices/scale", "update"),
        ("apps", "deployments", "create"),
        ("apps", "deployments", "delete"),
        ("apps", "deployments/scale", "patch"),
        ("", "services", "create"),
        ("", "pods", "list"),
        ("", "pods", "delete"),
        ("governor.dev", "inferenceservices/finalizers", "update"),
        ("", "events", "create"),
        ("", "configmaps", "watch"),
        ("", "secrets", "get"),
        ("coordination.k8s.io", "leases", "update"),
        ("kopf.dev", "clusterkopfpeerings", "patch"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("", "namespaces", "watch"),
    }
    assert needed - granted == set()
    # Secrets are readable only in governor-system, never cluster-wide.
    assert not any(r == "secrets" for _, r, _ in _rules("ClusterRole", "governor"))


def test_workloads_use_their_service_accounts_and_expose_metrics() -> None:
    operator = _find("Deployment", "governor")["spec"]["template"]["spec"]
    agent = _find("DaemonSet", "governor-agent")["spec"]["template"]["spec"]
    assert operator["serviceAccountName"] == "governor" and _find("ServiceAccount", "governor")
    assert agent["serviceAccountName"] == "governor-agent" and _find("ServiceAccount", "governor-agent")
    assert agent["hostPID"] is True and agent["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert any(v.get("hostPath", {}).get("path") == "/proc" for v in agent["volumes"])
    env = {e["name"] for e in operator["containers"][0]["env"]}
    assert {"GOVERNOR_PEERING", "GOVERNOR_METRICS_PORT"} <= env
    service = _find("Service", "governor-metrics")["spec"]
    assert (
        service["selector"].items() <= _find("Deployment", "governor")["spec"]["template"]["metadata"]["labels"].items()
    )
    assert _find("ConfigMap", "governor-receivers")["data"]["receivers.yaml"]


def test_receivers_configmap_parses_and_names_every_example_receiver() -> None:
    from governor.alerting.parse import parse_config
    from governor.model.parse import parse_service

    from .conftest import EXAMPLE_FILES

    config = parse_config(_find("ConfigMap", "governor-receivers")["data"]["receivers.yaml"])
    named = {r for p in EXAMPLE_FILES for d in documents(p) for r in parse_service(d).alerts.receivers}
    assert named and named <= set(config.receivers)
    assert all(ref.secret.startswith("governor-") for rc in config.receivers.values() for ref in rc.secret_refs())
