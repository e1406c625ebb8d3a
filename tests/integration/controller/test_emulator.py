"""The emulator's apiserver bookkeeping that Kopf and Governor depend on."""

from __future__ import annotations

import pytest

from governor.testing.client import ApiStatusError
from tests.support.kube import KubeHarness


def _cm(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}}


def test_create_fills_metadata_from_url(kube: KubeHarness) -> None:
    obj = kube.client.create("configmaps", _cm("one"), namespace="ml")
    meta = obj["metadata"]
    assert meta["namespace"] == "ml"
    assert meta["uid"] and meta["creationTimestamp"]
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0


def test_generate_name_gives_distinct_names(kube: KubeHarness) -> None:
    body = {"apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "chat."}, "reason": "X"}
    first = kube.client.create("events", body, namespace="ml")
    second = kube.client.create("events", body, namespace="ml")
    assert first["metadata"]["name"] != second["metadata"]["name"]
    assert first["metadata"]["name"].startswith("chat.")


def test_patch_bumps_resource_version_and_generation_on_spec_change(kube: KubeHarness) -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ml"}}
    created = kube.client.create("deployments", {**dep, "spec": {"replicas": 1}})
    status_only = kube.client.patch("deployments", "ml", "d", {"status": {"readyReplicas": 1}}, sub="status")
    assert int(status_only["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert status_only["metadata"]["generation"] == 1
    spec = kube.client.patch("deployments", "ml", "d", {"spec": {"replicas": 3}})
    assert spec["metadata"]["generation"] == 2
    assert spec["spec"]["replicas"] == 3


def test_failed_json_patch_test_answers_422(kube: KubeHarness) -> None:
    kube.client.create("configmaps", _cm("two"), namespace="ml")
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "nope"},
        {"op": "replace", "path": "/data/a", "value": "2"},
    ]
    with pytest.raises(ApiStatusError) as err:
        kube.client.patch("configmaps", "ml", "two", ops)
    assert err.value.status == 422
    assert kube.client.get("configmaps", "ml", "two")["data"]["a"] == "1"


def test_injected_conflict_answers_409_until_removed(kube: KubeHarness) -> None:
    kube.client.create("configmaps", _cm("three"), namespace="ml")

    def rule(req: object) -> bool:
        return getattr(req, "name", None) == "three"

    kube.emulator.conflict_rules.append(rule)
    with pytest.raises(ApiStatusError) as err:
        kube.client.patch("configmaps", "ml", "three", {"data": {"a": "2"}})
    assert err.value.status == 409
    kube.emulator.conflict_rules.remove(rule)
    assert kube.client.patch("configmaps", "ml", "three", {"data": {"a": "2"}})["data"]["a"] == "2"


def test_discovery_lists_governor_resources_with_verbs(kube: KubeHarness) -> None:
    listing = kube.client.request("GET", "/apis/governor.dev/v1alpha1")
    names = {r["name"]: r for r in listing["resources"]}
    assert {"inferenceservices", "inferenceservices/status", "inferenceservices/scale"} <= set(names)
    assert "watch" in names["inferenceservices"]["verbs"]
    core = {r["name"] for r in kube.client.request("GET", "/api/v1")["resources"]}
    assert {"namespaces", "events", "pods", "services"} <= core
