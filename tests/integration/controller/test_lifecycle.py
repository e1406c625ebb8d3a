"""Invalid specs, updates, target mode and deletion, with the real operator against the emulator."""

from __future__ import annotations

from tests.integration.controller.test_owned import NS, condition, service
from tests.support.kube import KubeHarness


def _status_condition(kube: KubeHarness, name: str, kind: str, status: str) -> dict | None:
    c = condition(kube.client.find("inferenceservices", NS, name), kind)
    return c if c and c["status"] == status else None


def test_invalid_spec_gets_invalid_condition_and_event_while_valid_one_becomes_ready(kube: KubeHarness) -> None:
    with kube.operator():
        kube.client.create("inferenceservices", service("broken", minReplicas=5, maxReplicas=2))
        kube.client.create("inferenceservices", service("fine"))
        invalid = kube.wait_for(lambda: _status_condition(kube, "broken", "Invalid", "True"), what="Invalid")
        assert invalid["reason"] == "InvalidSpec"
        assert "minReplicas" in invalid["message"]
        warning = kube.wait_for(lambda: kube.events(NS, involved="broken", reason="Invalid"))
        assert warning[0]["type"] == "Warning"
        assert kube.client.find("deployments", NS, "broken") is None
        kube.wait_for(lambda: kube.client.find("deployments", NS, "fine"))
        kube.client.patch("deployments", NS, "fine", {"status": {"replicas": 1, "readyReplicas": 1}}, sub="status")
        kube.wait_for(lambda: _status_condition(kube, "fine", "Ready", "True"), what="fine Ready")
        valid = condition(kube.client.get("inferenceservices", NS, "fine"), "Invalid")
        assert valid is not None and valid["status"] == "False"


def test_fixing_an_invalid_spec_clears_the_condition(kube: KubeHarness) -> None:
    with kube.operator():
        kube.client.create("inferenceservices", service("later", minReplicas=5, maxReplicas=2))
        kube.wait_for(lambda: _status_condition(kube, "later", "Invalid", "True"))
        kube.client.patch("inferenceservices", NS, "later", {"spec": {"maxReplicas": 6}})
        cleared = kube.wait_for(lambda: _status_condition(kube, "later", "Invalid", "False"), what="Invalid cleared")
        assert cleared["observedGeneration"] == 2
        dep = kube.wait_for(lambda: kube.client.find("deployments", NS, "later"))
        assert dep["spec"]["replicas"] == 5


def test_lowering_max_replicas_updates_the_deployment(kube: KubeHarness) -> None:
    with kube.operator():
        kube.client.create("inferenceservices", service("shrink", minReplicas=3, maxReplicas=8))
        kube.wait_for(lambda: (d := kube.client.find("deployments", NS, "shrink")) and d["spec"]["replicas"] == 3)
        kube.client.patch("inferenceservices", NS, "shrink", {"spec": {"minReplicas": 1, "maxReplicas": 2}})
        dep = kube.wait_for(
            lambda: (d := kube.client.find("deployments", NS, "shrink")) and d["spec"]["replicas"] == 2 and d,
            what="replicas clamped to the new maxReplicas",
        )
        assert dep["metadata"]["generation"] >= 2


def test_target_mode_reports_missing_target_then_finds_it(kube: KubeHarness) -> None:
    body = service("target")
    del body["spec"]["template"]
    body["spec"]["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "legacy"}
    with kube.operator():
        kube.client.create("inferenceservices", body)
        missing = kube.wait_for(lambda: _status_condition(kube, "target", "Ready", "False"))
        assert missing["reason"] == "TargetNotFound"
        assert "legacy" in missing["message"]
        assert kube.wait_for(lambda: kube.events(NS, involved="target", reason="TargetNotFound"))
        kube.client.create(
            "deployments",
            {"metadata": {"name": "legacy", "namespace": NS}, "spec": {"replicas": 2}, "status": {"readyReplicas": 2}},
        )
        ready = kube.wait_for(lambda: _status_condition(kube, "target", "Ready", "True"), what="target found")
        assert ready["message"] == "2/2 replicas ready"
        assert kube.client.find("deployments", NS, "target") is None  # target mode owns nothing


def test_delete_removes_owned_objects(kube: KubeHarness) -> None:
    with kube.operator():
        kube.client.create("inferenceservices", service("gone"))
        kube.wait_for(lambda: kube.client.find("services", NS, "gone"))
        kube.client.delete("inferenceservices", NS, "gone")
        kube.wait_for(lambda: kube.client.find("deployments", NS, "gone") is None, what="Deployment deleted")
        kube.wait_for(lambda: kube.client.find("services", NS, "gone") is None, what="Service deleted")
        assert kube.client.find("inferenceservices", NS, "gone") is None
