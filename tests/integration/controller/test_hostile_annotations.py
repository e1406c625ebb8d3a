"""A tenant's hostile ``governor.dev/*`` annotations make only that service Invalid, with the precise reason.

Before, the annotations reached actuation raw: ``in-place-protocol: gopher`` and
``manual-hold-seconds: "1e12"`` made that service's reconcile raise on every tick, with no
``Invalid`` condition. Now they are parsed with the spec; the loop never sees them raw.
"""

from __future__ import annotations

from typing import Any

from tests.integration.controller.test_owned import NS, condition, service
from tests.support.kube import KubeHarness

PROTOCOL = "governor.dev/in-place-protocol"
HOLD = "governor.dev/manual-hold-seconds"


def _annotated(name: str, annotations: dict[str, str], **spec: Any) -> dict[str, Any]:
    body = service(name, **spec)
    body["metadata"]["annotations"] = annotations
    return body


def _condition(kube: KubeHarness, name: str, kind: str, status: str) -> dict[str, Any] | None:
    c = condition(kube.client.find("inferenceservices", NS, name), kind)
    return c if c and c["status"] == status else None


def test_hostile_annotations_make_only_their_service_invalid_and_the_loop_goes_on(kube: KubeHarness) -> None:
    with kube.operator() as (_, controller):
        samples = controller.metrics.registry.get_sample_value
        kube.client.create("inferenceservices", _annotated("proto", {PROTOCOL: "gopher"}))
        kube.client.create("inferenceservices", _annotated("hold", {HOLD: "1e12"}, replicas=2))
        kube.client.create("inferenceservices", service("good"))
        proto = kube.wait_for(lambda: _condition(kube, "proto", "Invalid", "True"), what="proto Invalid")
        assert proto["reason"] == "InvalidSpec"
        assert proto["message"] == (
            f"metadata.annotations[\"{PROTOCOL}\"]: must be one of triton, http-hook, got 'gopher'"
        )
        hold = kube.wait_for(lambda: _condition(kube, "hold", "Invalid", "True"), what="hold Invalid")
        assert hold["message"].startswith(f'metadata.annotations["{HOLD}"]: must be a number of seconds')
        assert "'1e12'" in hold["message"]
        warning = kube.wait_for(lambda: kube.events(NS, involved="proto", reason="Invalid"))
        assert PROTOCOL in warning[0]["message"]
        assert kube.client.find("deployments", NS, "proto") is None  # an invalid service is not acted on
        kube.wait_for(lambda: kube.client.find("deployments", NS, "good"))
        kube.client.patch("deployments", NS, "good", {"status": {"replicas": 1, "readyReplicas": 1}}, sub="status")
        kube.wait_for(lambda: _condition(kube, "good", "Ready", "True"), what="good Ready")
        ticks = samples("governor_ticks_total") or 0
        kube.wait_for(lambda: (samples("governor_ticks_total") or 0) > ticks + 2, what="the loop keeps ticking")
        assert not samples("governor_reconcile_errors_total")


def test_annotating_a_running_service_is_seen_at_once_and_undoing_it_clears_invalid(kube: KubeHarness) -> None:
    with kube.operator() as (_, controller):
        kube.client.create("inferenceservices", service("later", replicas=2))
        kube.wait_for(lambda: kube.client.find("deployments", NS, "later"))
        kube.wait_for(lambda: _condition(kube, "later", "Invalid", "False"), what="valid at first")
        kube.client.patch("inferenceservices", NS, "later", {"metadata": {"annotations": {HOLD: "-5"}}})
        invalid = kube.wait_for(lambda: _condition(kube, "later", "Invalid", "True"), what="Invalid on annotate")
        assert f'metadata.annotations["{HOLD}"]' in invalid["message"] and "'-5'" in invalid["message"]
        kube.client.patch("inferenceservices", NS, "later", {"metadata": {"annotations": {HOLD: "120"}}})
        kube.wait_for(lambda: _condition(kube, "later", "Invalid", "False"), what="valid again")
        assert not controller.metrics.registry.get_sample_value("governor_reconcile_errors_total")
