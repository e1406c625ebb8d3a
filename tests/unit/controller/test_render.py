"""Rendering of the owned Deployment and Service, and the drift patch."""

from __future__ import annotations

from typing import Any

import pytest

from governor.actuate.render import TEMPLATE_HASH, clamp_replicas, render_deployment, render_service
from governor.actuate.workloads import deployment_patch
from governor.model import ServiceSpec
from governor.model.resource import SERVICE_LABEL

TEMPLATE = {
    "metadata": {"labels": {"app": "chat"}},
    "spec": {"containers": [{"name": "vllm", "image": "vllm:1", "ports": [{"name": "http", "containerPort": 8000}]}]},
}


def spec(**kw: Any) -> ServiceSpec:
    base: dict[str, Any] = dict(
        namespace="ml", name="chat", uid="u-1", template=TEMPLATE, min_replicas=2, max_replicas=5
    )
    base.update(kw)
    return ServiceSpec(**base)


@pytest.mark.parametrize(("asked", "expected"), [(0, 2), (2, 2), (4, 4), (9, 5)])
def test_replicas_are_clamped_into_bounds(asked: int, expected: int) -> None:
    assert clamp_replicas(spec(), asked) == expected
    assert render_deployment(spec(), asked)["spec"]["replicas"] == expected


def test_deployment_is_owned_labelled_and_never_drops_ready_capacity() -> None:
    dep = render_deployment(spec(), 3)
    owner = dep["metadata"]["ownerReferences"][0]
    assert owner == {
        "apiVersion": "governor.dev/v1alpha1",
        "kind": "InferenceService",
        "name": "chat",
        "uid": "u-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert dep["spec"]["selector"]["matchLabels"] == {SERVICE_LABEL: "chat"}
    assert dep["spec"]["template"]["metadata"]["labels"] == {"app": "chat", SERVICE_LABEL: "chat"}
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert TEMPLATE["metadata"]["labels"] == {"app": "chat"}  # the spec's template is not modified


def test_service_exposes_the_container_ports_or_the_scrape_port() -> None:
    assert render_service(spec())["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": 8000}]
    bare = spec(template={"spec": {"containers": [{"name": "x", "image": "y"}]}})
    assert render_service(bare)["spec"]["ports"][0]["port"] == bare.metrics.scrape_port
    assert render_service(spec())["spec"]["selector"] == {SERVICE_LABEL: "chat"}


def test_patch_is_empty_when_nothing_drifted_and_targeted_when_it_did() -> None:
    current = render_deployment(spec(), 3)
    assert deployment_patch(spec(), current) == {}
    narrower = spec(max_replicas=2)
    assert deployment_patch(narrower, current) == {"spec": {"replicas": 2}}
    changed = spec(template={**TEMPLATE, "spec": {"containers": [{"name": "vllm", "image": "vllm:2"}]}})
    patch = deployment_patch(changed, current)
    assert patch["spec"]["template"]["spec"]["containers"][0]["image"] == "vllm:2"
    assert patch["metadata"]["annotations"][TEMPLATE_HASH] != current["metadata"]["annotations"][TEMPLATE_HASH]
