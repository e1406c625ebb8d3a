"""A running rolling swap follows the current decision: a bigger batch at maxReplicas, or a clean cancel."""

from __future__ import annotations

from dataclasses import replace

from governor.actuate.actuator import ActuationOutcome, Actuator
from governor.actuate.workloads import read_workload
from governor.model import Decision, Precision, ScaleDirection
from governor.model.status import ActuationStatus
from tests.integration.actuation.rig import NS, Rig, service_body


def _finished(result: ActuationOutcome) -> bool:
    return not result.swapping


def _swap(rig: Rig) -> dict:
    return rig.status()["swap"]


def _rolling_update(rig: Rig) -> dict:
    return rig.deployment()["spec"]["strategy"]["rollingUpdate"]


async def _surge_swap_reaching_max(rig: Rig) -> float:
    """A step down that starts below maxReplicas (RollingSurge), then the fleet is scaled to maxReplicas."""
    rig.create(service_body("chat", maxReplicas=6), replicas=4)
    started = rig.now
    await rig.tick(precision=Precision.FP8)
    assert _swap(rig)["strategy"] == "RollingSurge" and _rolling_update(rig) == {"maxSurge": 1, "maxUnavailable": 0}
    assert (await rig.tick(replicas=6, precision=Precision.FP8)).replicas == 6  # scaling up stays allowed
    return started


async def test_a_running_surge_swap_switches_to_the_batch_asked_at_max_replicas(rig: Rig) -> None:
    started = await _surge_swap_reaching_max(rig)
    await rig.tick(precision=Precision.FP8, batch=3)
    swap = _swap(rig)
    assert (swap["strategy"], swap["maxUnavailable"]) == ("RollingBatch", 3) and "at maxReplicas" in swap["message"]
    assert _rolling_update(rig) == {"maxSurge": 0, "maxUnavailable": 3}
    assert rig.reasons().count("PrecisionSwapStrategyChanged") == 1
    await rig.tick(precision=Precision.FP8, batch=2)  # a smaller ask does not shrink what is out
    await rig.tick(precision=Precision.FP8)  # nor does no ask at all
    assert _swap(rig)["maxUnavailable"] == 3 and _rolling_update(rig) == {"maxSurge": 0, "maxUnavailable": 3}
    assert rig.reasons().count("PrecisionSwapStrategyChanged") == 1
    await rig.until(_finished, precision=Precision.FP8, batch=3)
    assert rig.status()["precision"] == "fp8" and rig.status()["swap"]["strategy"] == "RollingBatch"
    assert rig.min_available_during(started) >= 1  # capacity never dropped to zero
    assert _rolling_update(rig) == {"maxSurge": 1, "maxUnavailable": 0}  # the Deployment's own again
    assert rig.reasons().count("PrecisionSwapStarted") == 1


async def test_a_batch_never_takes_the_whole_fleet_out(rig: Rig) -> None:
    started = await _surge_swap_reaching_max(rig)
    await rig.tick(precision=Precision.FP8, batch=40)
    assert _swap(rig)["maxUnavailable"] == 5 and _rolling_update(rig)["maxUnavailable"] == 5
    await rig.until(_finished, precision=Precision.FP8, batch=40)
    assert rig.status()["precision"] == "fp8" and rig.min_available_during(started) >= 1


async def test_a_restart_mid_switch_resumes_with_the_persisted_batch(rig: Rig) -> None:
    started = await _surge_swap_reaching_max(rig)
    await rig.tick(precision=Precision.FP8, batch=3)
    # Killed after persisting the batch but before patching the Deployment: undo that patch.
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    rig.kube.client.patch("deployments", NS, "chat", {"spec": {"strategy": strategy}})
    rig.actuator = Actuator(rig.api, rig.actuator.http)
    await rig.tick(precision=Precision.FP8)  # the engine no longer asks: the record's batch still holds
    assert _swap(rig)["maxUnavailable"] == 3 and _rolling_update(rig) == {"maxSurge": 0, "maxUnavailable": 3}
    await rig.until(_finished, precision=Precision.FP8)
    assert rig.status()["precision"] == "fp8" and rig.min_available_during(started) >= 1
    assert rig.reasons().count("PrecisionSwapStarted") == 1


async def test_a_swap_no_pod_moved_to_is_cancelled_when_the_decision_wants_the_served_precision(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=3)
    before = rig.deployment()["spec"]
    started = rig.now
    await rig.tick(precision=Precision.FP8)
    await rig.tick(precision=Precision.FP8)  # the surge pod is starting: nothing replaced yet
    assert rig.model_container()["image"] == "server:fp8"
    result = await rig.tick(precision=Precision.BF16)
    assert not result.swapping and result.precision == Precision.BF16
    assert "swap" not in rig.status() and rig.status()["precision"] == "bf16"
    assert rig.deployment()["spec"]["template"] == before["template"]
    assert rig.deployment()["spec"]["strategy"] == before["strategy"]
    assert rig.reasons()[-1] == "PrecisionSwapCancelled"
    for _ in range(10):
        assert not (await rig.tick(precision=Precision.BF16)).swapping
    images = {p["spec"]["containers"][0]["image"] for p in rig.controller.pods("chat")}
    assert images == {"server:bf16"} and len(rig.controller.pods("chat")) == 3
    assert rig.min_available_during(started) >= 3


async def test_no_cancel_once_a_pod_has_moved(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=3)

    def replaced(_: ActuationOutcome) -> bool:
        deployment = rig.deployment()
        status, seen = deployment["status"], deployment["metadata"]["generation"]
        fp8 = status["observedGeneration"] == seen and rig.model_container()["image"] == "server:fp8"
        return fp8 and status["replicas"] - status["updatedReplicas"] < 3  # an old pod made way for an fp8 one

    await rig.until(replaced, precision=Precision.FP8)
    assert (await rig.tick(precision=Precision.BF16)).swapping  # a pod has moved: the swap is finished
    await rig.until(_finished, precision=Precision.BF16)
    assert rig.status()["precision"] == "fp8" and rig.status()["swap"]["phase"] == "Succeeded"
    assert "PrecisionSwapCancelled" not in rig.reasons()


async def _apply(rig: Rig, decision: Decision) -> ActuationOutcome:
    rig.now += 1
    rig.controller.step(rig.now)
    cr = rig.cr()
    spec = rig.spec()
    workload = await read_workload(rig.api, spec)
    result = await rig.actuator.apply(spec, decision, workload, ActuationStatus.from_status(cr.get("status")), rig.now)
    rig.events.extend(result.events)
    return result


async def test_a_swap_begins_only_on_the_current_ticks_decision(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=3)
    wants = Decision(rig.now, 3, 3, Precision.BF16, Precision.FP8, ScaleDirection.NONE, ("crowd",))
    assert not (await _apply(rig, replace(wants, at=rig.now - 120))).swapping  # an old decision
    stale = replace(wants, at=rig.now + 1, current_precision=Precision.INT4)  # taken on another precision
    assert not (await _apply(rig, stale)).swapping
    assert "PrecisionSwapStarted" not in rig.reasons() and rig.model_container()["image"] == "server:bf16"
    assert (await _apply(rig, replace(wants, at=rig.now + 1))).swapping


async def test_a_swap_waiting_for_a_rollout_is_not_begun_once_the_decision_changed(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=3)
    env = [{"name": "PORT", "value": "8001"}]
    containers = [{**rig.model_container(), "env": env}, {"name": "sidecar", "image": "proxy:1"}]
    rig.kube.client.patch("deployments", NS, "chat", {"spec": {"template": {"spec": {"containers": containers}}}})
    assert not (await rig.tick(precision=Precision.FP8)).swapping  # waits for the Deployment's own rollout
    for _ in range(40):  # the crowd is gone: the decisions no longer want fp8
        assert not (await rig.tick(precision=Precision.BF16)).swapping
    assert "PrecisionSwapStarted" not in rig.reasons() and rig.model_container()["image"] == "server:bf16"
