"""Owned mode end to end: the real operator against the emulator creates and maintains the workload."""

from __future__ import annotations

from typing import Any

from tests.support.kube import KubeHarness

NS = "ml"


def service(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "governor.dev/v1alpha1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "server", "image": "vllm/vllm-openai:v0.6.0", "ports": [{"containerPort": 8000}]}
                    ]
                }
            },
            "minReplicas": 1,
            "maxReplicas": 4,
        },
    }
    body["spec"].update(spec)
    return body


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


def test_apply_creates_owned_deployment_and_service_and_reports_ready(kube: KubeHarness) -> None:
    with kube.operator():
        cr = kube.client.create("inferenceservices", service("chat", minReplicas=2))
        dep = kube.wait_for(lambda: kube.client.find("deployments", NS, "chat"), what="Deployment")
        svc = kube.wait_for(lambda: kube.client.find("services", NS, "chat"), what="Service")
        owner = dep["metadata"]["ownerReferences"][0]
        assert owner["uid"] == cr["metadata"]["uid"] and owner["controller"] is True
        assert dep["spec"]["replicas"] == 2
        assert dep["spec"]["selector"]["matchLabels"] == {"governor.dev/service": "chat"}
        assert dep["spec"]["template"]["metadata"]["labels"]["governor.dev/service"] == "chat"
        assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert svc["spec"]["selector"] == {"governor.dev/service": "chat"}
        assert svc["metadata"]["ownerReferences"][0]["uid"] == cr["metadata"]["uid"]
        not_ready = kube.wait_for(lambda: condition(kube.client.get("inferenceservices", NS, "chat"), "Ready"))
        assert not_ready["status"] == "False"
        kube.client.patch("deployments", NS, "chat", {"status": {"replicas": 2, "readyReplicas": 2}}, sub="status")
        ready = kube.wait_for(
            lambda: (
                (c := condition(kube.client.get("inferenceservices", NS, "chat"), "Ready"))
                and c["status"] == "True"
                and c
            )
        )
        assert ready["reason"] == "ReplicasReady"
        status = kube.client.get("inferenceservices", NS, "chat")["status"]
        assert status["selector"] == "governor.dev/service=chat"
        assert status["readyReplicas"] == 2 and status["observedGeneration"] == 1
        assert kube.events(NS, involved="chat", reason="Created")
