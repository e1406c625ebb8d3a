"""One broken service never stops the loop; the decision engine's scale decisions reach the workload."""

from __future__ import annotations

from governor.model import Decision, Observation, ServiceSpec
from governor.policy import PolicyState
from tests.integration.controller.test_owned import NS, condition, service
from tests.support.decisions import bounds_only
from tests.support.kube import KubeHarness


def broken_for_one(
    spec: ServiceSpec, observation: Observation, state: PolicyState, now: float
) -> tuple[Decision, PolicyState]:
    """Fails for the service named ``bad``; holds the others inside their bounds."""
    if spec.name == "bad":
        raise RuntimeError("decision engine bug")
    return bounds_only(spec, observation, state, now)


def test_failure_of_one_service_is_counted_and_others_keep_being_reconciled(kube: KubeHarness) -> None:
    with kube.operator(decide=broken_for_one) as (_, controller):
        kube.client.create("inferenceservices", service("bad"))
        kube.client.create("inferenceservices", service("good"))
        for name in ("bad", "good"):
            kube.wait_for(lambda name=name: kube.client.find("deployments", NS, name))
            kube.client.patch("deployments", NS, name, {"status": {"replicas": 1, "readyReplicas": 1}}, sub="status")
        kube.wait_for(
            lambda: controller.metrics.registry.get_sample_value("governor_reconcile_errors_total"),
            what="error counted",
        )
        good = kube.wait_for(
            lambda: (
                (c := condition(kube.client.get("inferenceservices", NS, "good"), "Ready"))
                and c["status"] == "True"
                and c
            )
        )
        assert good["reason"] == "ReplicasReady"
        ticks = controller.metrics.registry.get_sample_value("governor_ticks_total") or 0
        kube.wait_for(
            lambda: (controller.metrics.registry.get_sample_value("governor_ticks_total") or 0) > ticks + 1,
            what="the loop keeps ticking",
        )


def test_bounds_decision_scales_a_deployment_edited_outside_its_bounds(kube: KubeHarness) -> None:
    with kube.operator(decide=bounds_only):
        kube.client.create("inferenceservices", service("edited", minReplicas=1, maxReplicas=3))
        kube.wait_for(lambda: kube.client.find("deployments", NS, "edited"))
        kube.client.patch("deployments", NS, "edited", {"spec": {"replicas": 7}})
        kube.wait_for(
            lambda: (d := kube.client.find("deployments", NS, "edited")) and d["spec"]["replicas"] == 3,
            what="scaled back to maxReplicas",
        )
        scaled = kube.wait_for(lambda: kube.events(NS, involved="edited", reason="ScaledDown"))
        assert "7 → 3" in scaled[0]["message"]
        status = kube.wait_for(
            lambda: kube.client.get("inferenceservices", NS, "edited")["status"].get("lastScaleTime")
        )
        assert status
