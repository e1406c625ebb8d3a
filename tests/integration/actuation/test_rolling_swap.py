"""Rolling precision swaps against the emulator: success, failure → rollback + quarantine, restarts, 409s."""

from __future__ import annotations

from governor.actuate.actuator import ActuationOutcome, Actuator
from governor.model import Precision
from governor.model.times import parse_iso
from tests.integration.actuation.rig import NS, Rig, service_body


def _finished(result: ActuationOutcome) -> bool:
    return not result.swapping


def _swap(rig: Rig) -> dict:
    return rig.status()["swap"]


async def test_rolling_swap_patches_only_the_model_container_and_never_drops_ready_capacity(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=3)
    started = rig.now
    first = await rig.tick(precision=Precision.FP8)
    assert first.swapping and _swap(rig)["phase"] == "Rolling" and _swap(rig)["strategy"] == "RollingSurge"
    strategy = rig.deployment()["spec"]["strategy"]["rollingUpdate"]
    assert strategy == {"maxSurge": 1, "maxUnavailable": 0}
    done = await rig.until(_finished, precision=Precision.FP8)
    assert done.precision == Precision.FP8
    status = rig.status()
    assert status["precision"] == "fp8" and status["swap"]["phase"] == "Succeeded"
    assert parse_iso(status["lastSwapTime"]) == rig.now
    container = rig.model_container()
    assert container["image"] == "server:fp8"
    assert {"name": "QUANT", "value": "fp8"} in container["env"] and {"name": "PORT", "value": "8000"} in container[
        "env"
    ]
    assert container["resources"] == {"limits": {"nvidia.com/gpu": "1"}}
    assert rig.deployment()["spec"]["template"]["spec"]["containers"][1] == {"name": "sidecar", "image": "proxy:1"}
    assert rig.min_available_during(started) >= 3  # maxUnavailable 0: ready capacity never went down
    assert rig.reasons().count("PrecisionSwapStarted") == 1 and rig.reasons().count("PrecisionSwapped") == 1
    for _ in range(3):  # later ticks that still ask for fp8 change nothing
        assert not (await rig.tick(precision=Precision.FP8)).swapping
    assert rig.reasons().count("PrecisionSwapStarted") == 1


async def test_at_max_replicas_the_swap_goes_one_replica_at_a_time_and_restores_the_strategy(rig: Rig) -> None:
    rig.create(service_body("chat", maxReplicas=3), replicas=3)
    started = rig.now
    await rig.tick(precision=Precision.FP8)
    assert _swap(rig)["strategy"] == "RollingOneAtATime"
    assert rig.deployment()["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    await rig.until(_finished, precision=Precision.FP8)
    assert rig.status()["precision"] == "fp8"
    assert max(total for at, _, _, total in rig.controller.history if at >= started) <= 3  # no surge pod
    assert rig.min_available_during(started) >= 2  # one replica at a time
    assert rig.deployment()["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


async def test_at_max_replicas_the_decision_engine_may_ask_for_a_bigger_batch(rig: Rig) -> None:
    rig.create(service_body("chat", maxReplicas=4), replicas=4)
    started = rig.now
    await rig.tick(precision=Precision.FP8, batch=2)
    assert _swap(rig)["strategy"] == "RollingBatch"
    assert rig.deployment()["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 2}
    await rig.until(_finished, precision=Precision.FP8, batch=2)
    assert rig.status()["precision"] == "fp8" and rig.min_available_during(started) >= 2


async def test_no_scale_down_during_a_swap(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=3)
    await rig.tick(precision=Precision.FP8)
    during = await rig.tick(replicas=1, precision=Precision.FP8)
    assert during.swapping and during.replicas == 3 and rig.deployment()["spec"]["replicas"] == 3
    up = await rig.tick(replicas=4, precision=Precision.FP8)
    assert up.replicas == 4  # scaling up stays allowed
    await rig.until(_finished, precision=Precision.FP8)
    assert (await rig.tick(replicas=1, precision=Precision.FP8)).replicas == 1


async def test_a_failing_rollout_is_rolled_back_and_the_variant_quarantined(rig: Rig) -> None:
    rig.controller.fail_when = lambda template: template["spec"]["containers"][0]["image"] == "server:bad"
    rig.create(service_body("chat"), replicas=2)
    before = rig.model_container()
    await rig.tick(precision=Precision.INT4)
    assert rig.model_container()["image"] == "server:bad"
    done = await rig.until(_finished, precision=Precision.INT4)
    status = rig.status()
    assert done.precision == Precision.BF16 and status["precision"] == "bf16"
    assert status["swap"]["phase"] == "Failed" and "ProgressDeadlineExceeded" in status["swap"]["message"]
    assert rig.model_container() == before
    assert [q["precision"] for q in status["quarantine"]] == ["int4"]
    assert rig.reasons()[-2:] == ["PrecisionSwapFailed", "PrecisionRolledBack"]
    failed = {c.type: c for c in done.conditions}["SwapFailed"]
    assert failed.status is True and "int4" in failed.message
    for _ in range(3):  # the policy keeps asking: quarantined, nothing happens
        again = await rig.tick(precision=Precision.INT4)
        assert not again.swapping
    assert rig.reasons().count("PrecisionSwapStarted") == 1
    assert (await rig.tick(precision=Precision.INT4, dt=3600)).swapping  # the cooldown is over


async def test_a_rollout_slower_than_the_swap_timeout_is_rolled_back(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=2)
    rig.controller.startup_seconds = 500  # new pods take longer than swapTimeoutSeconds (120)
    rig.controller.progress_deadline = 1000  # and the Deployment does not give up first
    assert (await rig.tick(precision=Precision.FP8)).swapping
    await rig.until(_finished, precision=Precision.FP8, dt=5)
    status = rig.status()
    assert status["swap"]["phase"] == "Failed" and "not rolled out within 120s" in status["swap"]["message"]
    assert status["precision"] == "bf16" and rig.model_container()["image"] == "server:bf16"


async def test_a_restarted_operator_resumes_the_swap_without_starting_it_twice(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=3)
    for _ in range(8):  # past the first surge pod's start-up: a pod has moved to fp8
        await rig.tick(precision=Precision.FP8)
    generation = rig.deployment()["metadata"]["generation"]
    rig.actuator = Actuator(rig.api, rig.actuator.http)  # killed and restarted: nothing in memory
    await rig.until(_finished, precision=Precision.BF16)  # the policy changed its mind: too late to cancel
    assert rig.status()["precision"] == "fp8" and rig.status()["swap"]["phase"] == "Succeeded"
    assert rig.deployment()["metadata"]["generation"] == generation  # the template was not written again
    assert rig.reasons().count("PrecisionSwapStarted") == 1


async def test_a_restart_during_rollback_still_completes_the_rollback(rig: Rig) -> None:
    rig.controller.fail_when = lambda template: template["spec"]["containers"][0]["image"] == "server:bad"
    rig.create(service_body("chat"), replicas=2)
    await rig.until(lambda r: _swap(rig)["phase"] == "RollingBack", precision=Precision.INT4)
    # Killed right after recording RollingBack but before restoring the template: undo that write.
    rig.kube.client.patch(
        "deployments",
        NS,
        "chat",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {**rig.model_container(), "image": "server:bad"},
                            {"name": "sidecar", "image": "proxy:1"},
                        ]
                    }
                }
            }
        },
    )
    assert rig.model_container()["image"] == "server:bad"
    rig.actuator = Actuator(rig.api, rig.actuator.http)
    await rig.until(_finished, precision=Precision.BF16)
    assert rig.model_container()["image"] == "server:bf16" and rig.status()["swap"]["phase"] == "Failed"
    assert rig.status()["quarantine"][0]["precision"] == "int4"


async def test_template_writes_retry_injected_conflicts_with_a_fresh_read(rig: Rig) -> None:
    rig.create(service_body("chat"), replicas=2)
    conflicts: list[str] = []

    def deployment_conflicts(req: object) -> bool:
        ours = getattr(req, "name", None) == "chat" and getattr(req, "subresource", None) is None
        if ours and "deployments" in str(getattr(req, "resource", "")) and len(conflicts) < 3:
            conflicts.append("hit")
            return True
        return False

    rig.kube.emulator.conflict_rules.append(deployment_conflicts)
    await rig.until(_finished, precision=Precision.FP8)
    assert len(conflicts) == 3 and rig.status()["precision"] == "fp8" and rig.model_container()["image"] == "server:fp8"
