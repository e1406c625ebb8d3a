"""The cluster manifests are valid Kubernetes objects (strict: no unknown fields) and fit together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from .conftest import CRD_FILES, MANIFEST_FILES, ROOT, documents

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


def _names(kind: str, name: str, resource: str) -> set[str] | None:
    """The ``resourceNames`` every rule on ``resource`` is limited to (``None``: some rule is not)."""
    rules = [rule for rule in _find(kind, name)["rules"] if resource in rule["resources"]]
    if any("resourceNames" not in rule for rule in rules):
        return None
    return {n for rule in rules for n in rule["resourceNames"]}


def _operator_env() -> dict[str, str]:
    """The operator Deployment's literal GOVERNOR_* values (not those from ``valueFrom``)."""
    (container,) = _find("Deployment", "governor")["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def test_everything_lives_in_governor_system() -> None:
    cluster_scoped = (
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterKopfPeering",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    )
    namespaced = [d for d in _all() if d["kind"] not in cluster_scoped]
    assert namespaced and {d["metadata"].get("namespace") for d in namespaced} == {"governor-system"}
    assert _find("Namespace", "governor-system")


# Every (group, resource, verb) the operator's identity is granted, with the code that needs it: the
# audit of manifests/rbac.yaml. A grant missing here is unused (remove it); a request the code makes
# that is missing from the manifest shows up as a 403 in the cluster suite (tests/cluster/conftest.py).
OPERATOR_NEEDS: dict[tuple[str, str, str], str] = {
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"): "Kopf resource_observer",
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"): "Kopf resource_observer",
    ("", "namespaces", "list"): "Kopf namespace_observer (GOVERNOR_NAMESPACES set)",
    ("", "namespaces", "watch"): "Kopf namespace_observer (GOVERNOR_NAMESPACES set)",
    ("kopf.dev", "clusterkopfpeerings", "list"): "Kopf peering watcher",
    ("kopf.dev", "clusterkopfpeerings", "watch"): "Kopf peering watcher",
    ("kopf.dev", "clusterkopfpeerings", "get"): "controller/peering.py PeeringGate._standing",
    ("kopf.dev", "clusterkopfpeerings", "patch"): "Kopf peering touch / clean",
    ("", "events", "create"): "controller/events.py EventRecorder.post; Kopf post_event",
    ("governor.dev", "inferenceservices", "list"): "Kopf watcher; controller/app.py Controller._list_services",
    ("governor.dev", "inferenceservices", "watch"): "Kopf watcher",
    ("governor.dev", "inferenceservices", "patch"): "Kopf patch_obj (progress annotations)",
    ("governor.dev", "inferenceservices/status", "patch"): "kube/status.py StatusWriter end_of_tick, journal",
    ("governor.dev", "inferenceservices/finalizers", "update"): "OwnerReferencesPermissionEnforcement (apply_owned)",
    ("apps", "deployments", "get"): "actuate/workloads.py read_workload, apply_owned; swapdriver.py",
    ("apps", "deployments", "list"): "actuate/workloads.py read_deployments",
    ("apps", "deployments", "create"): "actuate/workloads.py apply_owned",
    ("apps", "deployments", "patch"): "actuate/workloads.py apply_owned, scale; writes.py set_model_container",
    ("apps", "deployments", "delete"): "actuate/workloads.py delete_owned",
    ("apps", "statefulsets", "get"): "actuate/workloads.py read_workload (scaleTargetRef)",
    ("apps", "deployments/scale", "patch"): "actuate/workloads.py scale (target mode)",
    ("apps", "statefulsets/scale", "patch"): "actuate/workloads.py scale (target mode)",
    ("", "services", "get"): "actuate/workloads.py apply_owned",
    ("", "services", "create"): "actuate/workloads.py apply_owned",
    ("", "services", "delete"): "actuate/workloads.py delete_owned",
    ("", "pods", "list"): "controller/pods.py KubePodLister, KubeAgentLister; actuate/writes.py list_pods",
    ("", "pods", "delete"): "actuate/writes.py delete_pod (in-place failure and revert)",
    ("", "configmaps", "get"): "controller/receivers.py KubeConfigReader.read_configmap",
    ("", "secrets", "get"): "controller/receivers.py KubeConfigReader.read_secret",
}
AGENT_NEEDS: dict[tuple[str, str, str], str] = {
    ("", "pods", "list"): "agent/pods.py kubernetes_resolver, kube/client.py node_pods_lister (this node's pods)",
}


def test_operator_rbac_is_exactly_what_its_code_uses() -> None:
    granted = _rules("ClusterRole", "governor") | _rules("Role", "governor")
    assert set(OPERATOR_NEEDS) - granted == set(), "used but not granted"
    assert granted - set(OPERATOR_NEEDS) == set(), "granted but unused: remove it (or add its user to the table)"
    assert _rules("ClusterRole", "governor-agent") == set(AGENT_NEEDS)


def test_no_wildcards_and_every_rule_names_its_user() -> None:
    rbac = ROOT / "manifests" / "rbac.yaml"
    for d in documents(rbac):
        for rule in d.get("rules", ()):
            assert "*" not in [*rule["apiGroups"], *rule["resources"], *rule["verbs"]], rule
    lines = rbac.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.lstrip().startswith("- apiGroups:"):
            assert lines[index - 1].lstrip().startswith("#"), f"rbac.yaml:{index + 1}: a rule without its comment"


def test_operator_reads_only_named_objects_of_governor_system() -> None:
    from governor.alerting.parse import parse_config

    # Secrets and ConfigMaps are readable only in governor-system, only by name.
    assert not any(r in ("secrets", "configmaps") for _, r, _ in _rules("ClusterRole", "governor"))
    receivers = _find("ConfigMap", "governor-receivers")
    config = parse_config(receivers["data"]["receivers.yaml"])
    referenced = {ref.secret for rc in config.receivers.values() for ref in rc.secret_refs()}
    assert _names("Role", "governor", "secrets") == referenced
    assert _names("Role", "governor", "configmaps") == {receivers["metadata"]["name"]}
    env = _operator_env()
    assert env["GOVERNOR_RECEIVERS_CONFIGMAP"] == receivers["metadata"]["name"]


def test_operator_patches_only_its_own_peering_object() -> None:
    # Kopf lists and watches every ClusterKopfPeering (a list cannot be limited by name) and picks its own.
    env = _operator_env()
    own = _find("ClusterKopfPeering", env["GOVERNOR_PEERING"])["metadata"]["name"]
    rules = [r for r in _find("ClusterRole", "governor")["rules"] if "clusterkopfpeerings" in r["resources"]]
    named = {v: r.get("resourceNames") for r in rules for v in r["verbs"]}
    assert named == {"list": None, "watch": None, "get": [own], "patch": [own]}


def test_workloads_use_their_service_accounts_and_expose_metrics() -> None:
    operator = _find("Deployment", "governor")["spec"]["template"]["spec"]
    agent = _find("DaemonSet", "governor-agent")["spec"]["template"]["spec"]
    assert operator["serviceAccountName"] == "governor" and _find("ServiceAccount", "governor")
    assert agent["serviceAccountName"] == "governor-agent" and _find("ServiceAccount", "governor-agent")
    assert agent["hostPID"] is True and agent["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
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


def test_agent_runs_unprivileged_with_only_the_host_pid_namespace() -> None:
    agent = _find("DaemonSet", "governor-agent")["spec"]["template"]["spec"]
    pod, (container,) = agent["securityContext"], agent["containers"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0 and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    # hostPID is what maps NVML's host PIDs to pods (agent/pods.py reads /proc/<pid>/cgroup); no host path.
    assert agent["hostPID"] is True and not any("hostPath" in v for v in agent.get("volumes", ()))
    assert not {"hostNetwork", "hostIPC"} & agent.keys()


def test_only_the_operator_and_prometheus_reach_the_agent() -> None:
    policy = _find("NetworkPolicy", "governor-agent")["spec"]
    agent = _find("DaemonSet", "governor-agent")["spec"]["template"]
    operator = _find("Deployment", "governor")["spec"]["template"]
    assert policy["podSelector"]["matchLabels"].items() <= agent["metadata"]["labels"].items()
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9400}]
    own, prometheus = rule["from"]
    assert own.keys() == {"podSelector"}  # this namespace only
    assert own["podSelector"]["matchLabels"].items() <= operator["metadata"]["labels"].items()
    assert prometheus["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    assert prometheus["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}
