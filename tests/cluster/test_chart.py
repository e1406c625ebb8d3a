"""The Helm chart and the kustomization install the same Governor as manifests/, and the chart's
values reach the objects they name. manifests/ is the one source: the chart parses byte-equal
copies of it (charts/governor/files/manifests/) and lays its values over them, so with default
values ``helm template`` renders exactly ``kubectl kustomize manifests/`` (less the Namespace,
which Helm's release namespace replaces). Needs the helm and kubectl binaries, not a running cluster.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.install import CHART, MANIFESTS, REPO, Key, helm_template, kustomize, objects, run

K8S_VERSION = "1.30.0"  # the oldest release the chart supports (Chart.yaml kubeVersion)
CUSTOM_GROUPS = ("kopf.dev/", "governor.dev/", "monitoring.coreos.com/")
# Each source file of manifests/ and crds/ and the folder of the chart holding its byte-equal copy.
SOURCES = {
    MANIFESTS: CHART / "files" / "manifests",
    MANIFESTS / "prometheus-operator": CHART / "files" / "prometheus-operator",
    REPO / "crds": CHART / "crds",
}
NOT_COPIED = {"kustomization.yaml", "00-namespace.yaml"}  # Helm installs into the release's namespace
RECEIVERS = """\
receivers:
  - name: team-hook
    kind: webhook
    url: http://hooks.example.svc/governor
    hmac_key: {secret: team-hook-hmac, key: key}
  - name: pager
    kind: pagerduty
    routing_key: {secret: pager-key, key: routing-key}
default_receivers: [team-hook]
"""
CUSTOM_VALUES = {
    "clusterPrefix": "governor-two",
    "image": {"repository": "registry.example/governor", "tag": "9.9.9"},
    "replicas": 3,
    "namespaces": ["ml", "search"],
    "prometheus": {
        "url": "https://prometheus.example:9090",
        "namespace": "observability",
        "bearerTokenSecret": {"name": "prom-token"},
        "basicAuth": {"user": "governor", "passwordSecret": {"name": "prom-password"}},
    },
    "receivers": {"config": RECEIVERS},
    "operator": {"resources": {"requests": {"cpu": "1"}}},
    "serviceMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True},
}


@pytest.fixture
def custom(tmp_path: Path) -> list[str]:
    """Helm arguments setting every value away from its default."""
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(CUSTOM_VALUES))
    return ["--values", str(values)]


def test_chart_copies_of_crds_and_manifests_are_byte_equal() -> None:
    for source, copies in SOURCES.items():
        wanted = {p.name for p in source.glob("*.yaml")} - NOT_COPIED
        held = {p.name for p in copies.glob("*.yaml")}
        assert held == wanted, f"{copies} must hold a copy of each of {source}/*.yaml: cp the missing, rm the extra"
        for name in sorted(wanted):
            fix = f"cp {source / name} {copies / name}"
            assert (copies / name).read_bytes() == (source / name).read_bytes(), f"{copies / name} is stale: {fix}"


def _direct(folder: Path) -> dict[Key, dict[str, Any]]:
    """What ``kubectl apply -f folder`` sends, read as the YAML says (PyYAML, like sigs.k8s.io/yaml)."""
    files = sorted(p for p in folder.glob("*.yaml") if p.name != "kustomization.yaml")
    return objects("\n---\n".join(p.read_text() for p in files))


def _blank_lines_dropped(value: Any) -> Any:
    """kustomize (kyaml) reads a folded scalar's more-indented line with an extra line break (the CEL
    of admission.yaml); CEL ignores it, so the kustomization is compared with blank lines dropped."""
    if isinstance(value, dict):
        return {k: _blank_lines_dropped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank_lines_dropped(v) for v in value]
    return re.sub(r"\n\s*\n", "\n", value) if isinstance(value, str) else value


@pytest.mark.parametrize("folder", [MANIFESTS, MANIFESTS / "prometheus-operator"], ids=["base", "prometheus-operator"])
def test_kustomization_renders_every_manifest(folder: Path) -> None:
    listed = set(yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"])
    files = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed >= files, f"{folder}/kustomization.yaml must list {sorted(files - listed)}"
    assert _blank_lines_dropped(kustomize(folder)) == _blank_lines_dropped(_direct(folder))


def test_chart_with_default_values_renders_exactly_the_manifests() -> None:
    expected = {k: v for k, v in _direct(MANIFESTS).items() if k[0] != "Namespace"}
    rendered = helm_template()
    assert sorted(rendered) == sorted(expected)
    for key, obj in expected.items():
        assert rendered[key] == obj, f"{key}: the chart's default render differs from manifests/"
    monitoring = helm_template("--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true")
    extra = {k: v for k, v in monitoring.items() if k not in rendered}
    assert extra == _direct(MANIFESTS / "prometheus-operator")


def test_helm_lint_is_clean(custom: list[str]) -> None:
    out = run("helm", "lint", "--strict", str(CHART), *custom)
    assert "1 chart(s) linted, 0 chart(s) failed" in out, out
    run("helm", "lint", "--strict", str(CHART))


@pytest.mark.parametrize("values", ["default", "custom", "noagent"])
def test_rendered_builtin_objects_validate_strictly(values: str, custom: list[str]) -> None:
    args = {"default": [], "custom": custom, "noagent": ["--set", "agent.enabled=false"]}[values]
    rendered = helm_template(*args)
    builtin = [o for o in rendered.values() if not o["apiVersion"].startswith(CUSTOM_GROUPS)]
    assert builtin
    for obj in builtin:
        # Offline: kubernetes-validate ships the API's JSON schemas (tests/unit/schema does the same).
        assert kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def _operator(rendered: dict[Any, dict[str, Any]], namespace: str = "governor-system") -> dict[str, Any]:
    return dict(rendered[("Deployment", namespace, "governor")]["spec"]["template"]["spec"])


def test_values_reach_the_objects_they_name(custom: list[str]) -> None:
    rendered = helm_template(*custom, namespace="gov")
    pod = _operator(rendered, "gov")
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert container["image"] == "registry.example/governor:9.9.9"
    assert rendered[("Deployment", "gov", "governor")]["spec"]["replicas"] == 3
    assert container["resources"] == {"requests": {"cpu": "1"}}
    assert env["GOVERNOR_NAMESPACES"] == "ml,search" and env["GOVERNOR_PEERING"] == "governor-two"
    assert env["GOVERNOR_PROMETHEUS_URL"] == "https://prometheus.example:9090"
    assert env["GOVERNOR_PROMETHEUS_BASIC_AUTH_USER"] == "governor"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"]}
    for setting, secret in [("BEARER_TOKEN_FILE", "prom-token"), ("BASIC_AUTH_PASSWORD_FILE", "prom-password")]:
        path = Path(env[f"GOVERNOR_PROMETHEUS_{setting}"])
        assert secrets[mounts[str(path.parent)]] == secret
    # Receivers: the ConfigMap holds the given config; the Role reads exactly the Secrets it names.
    assert rendered[("ConfigMap", "gov", "governor-receivers")]["data"]["receivers.yaml"] == RECEIVERS
    (secret_rule,) = [r for r in rendered[("Role", "gov", "governor")]["rules"] if "secrets" in r["resources"]]
    assert secret_rule["resourceNames"] == ["pager-key", "team-hook-hmac"]
    # Cluster-scoped objects carry the prefix, so a second install beside the first collides with nothing.
    cluster_scoped = {k[2] for k in rendered if not k[1]}
    assert cluster_scoped == {"governor-two", "governor-two-agent", "governor-two-tenant-rights"}
    binding = rendered[("ClusterRoleBinding", "", "governor-two")]
    assert binding["roleRef"]["name"] == "governor-two" and binding["subjects"][0]["namespace"] == "gov"
    policy_binding = rendered[("ValidatingAdmissionPolicyBinding", "", "governor-two-tenant-rights")]
    assert policy_binding["spec"]["policyName"] == "governor-two-tenant-rights"
    peering_rules = [r for r in rendered[("ClusterRole", "", "governor-two")]["rules"] if r.get("resourceNames")]
    assert [r["resourceNames"] for r in peering_rules] == [["governor-two"]]
    policy = rendered[("NetworkPolicy", "gov", "governor-agent")]["spec"]["ingress"][0]["from"][1]
    assert policy["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "observability"}
    assert {k[0] for k in rendered} >= {"ServiceMonitor", "PrometheusRule", "DaemonSet"}


def test_optional_parts_can_be_left_out() -> None:
    rendered = helm_template("--set", "agent.enabled=false", "--set", "prometheus.url=", "--set-string",
                             "receivers.config=receivers: []")  # fmt: skip
    assert not {k[0] for k in rendered} & {"DaemonSet", "NetworkPolicy", "ServiceMonitor", "PrometheusRule"}
    env = {e["name"] for e in _operator(rendered)["containers"][0]["env"]}
    assert "GOVERNOR_PROMETHEUS_URL" not in env  # scrape the pods directly
    # No receiver names a Secret, so the Role grants none (an empty resourceNames would grant all).
    assert not [r for r in rendered[("Role", "governor-system", "governor")]["rules"] if "secrets" in r["resources"]]
