"""Replica changes through the Actuator against the emulator: policy, manual scale, observe-only, conflicts."""

from __future__ import annotations

from governor.kube.client import ApiError
from governor.model import Precision
from governor.model.times import parse_iso
from tests.integration.actuation.rig import NS, Rig, service_body


async def test_scales_up_and_down_with_events_and_last_scale_time(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=2)
    up = await rig.tick(replicas=4)
    assert up.replicas == 4 and rig.deployment()["spec"]["replicas"] == 4
    assert parse_iso(rig.status()["lastScaleTime"]) == rig.now
    scaled_at = rig.now
    down = await rig.tick(replicas=1, dt=5)
    assert down.replicas == 1 and rig.deployment()["spec"]["replicas"] == 1
    assert parse_iso(rig.status()["lastScaleTime"]) == scaled_at + 5
    assert [r for r in rig.reasons() if r.startswith("Scaled")] == ["ScaledUp", "ScaledDown"]
    messages = [m for _, r, m in rig.events if r == "ScaledUp"]
    assert "2 → 4 replicas" in messages[0] and "test asks for 4" in messages[0]


async def test_decisions_are_kept_within_bounds(rig: Rig) -> None:
    rig.create(service_body("chat", maxReplicas=3), replicas=2)
    result = await rig.tick(replicas=10)
    assert result.replicas == 3 and rig.deployment()["spec"]["replicas"] == 3


async def test_target_mode_scales_through_the_scale_subresource(rig: Rig) -> None:
    legacy = service_body("legacy")
    rig.kube.client.create(
        "deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "legacy", "namespace": NS},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "legacy"}},
                "template": legacy["spec"]["template"],
            },
        },
        NS,
    )
    body = service_body("legacy-gov")
    del body["spec"]["template"]
    body["spec"]["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "legacy"}
    rig.create(body, replicas=1)
    seen: list[str] = []

    def record_writes(req: object) -> bool:  # a conflict rule that only watches: it never answers 409
        seen.append(str(getattr(req, "subresource", None)))
        return False

    rig.kube.emulator.conflict_rules.append(record_writes)
    result = await rig.tick(replicas=3)
    assert result.replicas == 3
    assert rig.kube.client.get("deployments", NS, "legacy")["spec"]["replicas"] == 3
    assert "scale" in seen  # written through deployments/legacy/scale, not the whole object


async def test_manual_scale_holds_for_the_annotated_time_then_the_policy_resumes(rig: Rig) -> None:
    rig.create(service_body("chat", annotations={"governor.dev/manual-hold-seconds": "60"}), replicas=2)
    await rig.tick(replicas=2)
    rig.kube.client.patch("inferenceservices", NS, "chat", {"spec": {"replicas": 5}}, sub="scale")
    first = await rig.tick(replicas=2)  # the policy still wants 2: the human's 5 wins
    assert first.replicas == 5 and rig.deployment()["spec"]["replicas"] == 5
    hold = rig.status()["manualScale"]
    assert hold["replicas"] == 5 and parse_iso(hold["until"]) == rig.now + 60
    for _ in range(5):
        held = await rig.tick(replicas=1, dt=10)
        assert held.replicas == 5  # no tug of war during the hold
    resumed = await rig.tick(replicas=1, dt=15)
    assert resumed.replicas == 1 and rig.deployment()["spec"]["replicas"] == 1
    assert rig.status()["manualScale"]["released"] is True
    again = await rig.tick(replicas=3, dt=1000)  # spec.replicas is still 5, but it is no new request
    assert again.replicas == 3
    assert [r for r in rig.reasons() if r.startswith("Manual")] == ["ManualScale", "ManualScaleExpired"]


async def test_manual_scale_hold_survives_an_operator_restart(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=2)
    rig.kube.client.patch("inferenceservices", NS, "chat", {"spec": {"replicas": 4}}, sub="scale")
    await rig.tick(replicas=2)
    rig.actuator = type(rig.actuator)(rig.api, rig.actuator.http)  # a fresh operator process
    after = await rig.tick(replicas=1, dt=100)
    assert after.replicas == 4  # default hold is 900 s and it was read back from status


async def test_observe_only_changes_nothing_and_reports_what_it_would_do(rig: Rig) -> None:
    rig.create(service_body("chat", observeOnly=True), replicas=2)
    version = rig.deployment()["metadata"]["resourceVersion"]
    for _ in range(3):
        result = await rig.tick(replicas=5, precision=Precision.FP8)
    assert result.replicas == 2 and not result.swapping
    deployment = rig.deployment()
    assert deployment["spec"]["replicas"] == 2 and deployment["metadata"]["resourceVersion"] == version
    assert rig.status()["wouldScale"] == {"replicas": 5, "precision": "fp8", "reasons": ["test asks for 5"]}
    assert rig.reasons().count("WouldScale") == 1 and rig.reasons().count("WouldSwapPrecision") == 1
    assert "ScaledUp" not in rig.reasons() and "PrecisionSwapStarted" not in rig.reasons()


async def test_scaling_retries_injected_conflicts(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=1)
    hits: list[int] = []

    def conflict_twice(req: object) -> bool:
        if getattr(req, "resource", None) is not None and getattr(req, "name", None) == "chat" and len(hits) < 2:
            hits.append(1)
            return True
        return False

    rig.kube.emulator.conflict_rules.append(conflict_twice)
    result = await rig.tick(replicas=3)
    assert len(hits) == 2 and result.replicas == 3 and rig.deployment()["spec"]["replicas"] == 3


async def test_persistent_conflicts_surface_as_an_api_error(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=1)
    rig.kube.emulator.conflict_rules.append(lambda req: getattr(req, "name", None) == "chat")
    try:
        await rig.tick(replicas=3)
    except ApiError as exc:
        assert exc.conflict
    else:
        raise AssertionError("a write that always conflicts must fail loudly")
