"""In-place precision swaps against simulated servers speaking Triton's model control and the HTTP hook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from governor.actuate.actuator import ActuationOutcome, Actuator
from governor.model import Precision
from tests.integration.actuation.rig import Rig, service_body
from tests.support.triton_server import SimEndpoints, SimulatedModelServers

IN_PLACE_PRECISION = {"inPlaceMaxUnavailable": 0.25, "modelName": "llama"}


@pytest.fixture
def servers() -> Iterator[SimulatedModelServers]:
    with SimulatedModelServers(initial_version="1", initial_precision="bf16") as sim:
        yield sim


def _in_place(rig: Rig, servers: SimulatedModelServers, protocol: str = "triton", **spec: object) -> None:
    rig.actuator = Actuator(rig.api, rig.actuator.http, endpoints=SimEndpoints(servers))
    body = service_body(
        "chat", annotations={"governor.dev/in-place-protocol": protocol}, precision=IN_PLACE_PRECISION, **spec
    )
    for variant in body["spec"]["precision"]["variants"]:
        variant["swapModes"] = ["InPlace", "Rolling"]
    rig.create(body, replicas=spec.get("maxReplicas", 6) if "maxReplicas" in spec else 4)


def _finished(result: ActuationOutcome) -> bool:
    return not result.swapping


def _pods(rig: Rig) -> list[str]:
    return sorted(p["metadata"]["name"] for p in rig.controller.pods("chat"))


async def test_triton_in_place_swap_reloads_a_bounded_share_of_pods_then_updates_the_template(
    rig: Rig, servers: SimulatedModelServers
) -> None:
    _in_place(rig, servers)
    pods_before = _pods(rig)
    first = await rig.tick(precision=Precision.FP8)
    swap = rig.status()["swap"]
    assert first.swapping and swap["strategy"] == "InPlace"
    assert len(swap["podsDone"]) == 1  # 25% of 4 pods: one at a time
    await rig.until(lambda r: rig.status()["swap"]["phase"] == "Finalizing", precision=Precision.FP8)
    assert {servers.version_of(p) for p in pods_before} == {"2"}  # every pod now serves version 2 (fp8)
    assert sorted(pod for pod, _, _ in servers.loads) == pods_before  # each pod was asked exactly once
    assert _pods(rig) == pods_before  # no pod was restarted to change precision
    done = await rig.until(_finished, precision=Precision.FP8)
    assert done.precision == Precision.FP8 and rig.status()["swap"]["phase"] == "Succeeded"
    assert rig.model_container()["image"] == "server:fp8"  # new pods start at the new precision
    assert rig.reasons().count("PrecisionSwapped") == 1


async def test_at_most_the_configured_share_of_pods_reloads_at_once(rig: Rig, servers: SimulatedModelServers) -> None:
    _in_place(rig, servers, maxReplicas=8)
    rig.kube.client.patch("deployments", "ml", "chat", {"spec": {"replicas": 8}})
    rig.settle(10)
    servers.never_ready.update(_pods(rig))  # loads are accepted but never finish: slots stay busy
    await rig.tick(precision=Precision.FP8)
    await rig.tick(precision=Precision.FP8)
    assert len(rig.status()["swap"]["inFlight"]) == 2  # 25% of 8
    assert len({pod for pod, _, _ in servers.loads}) == 2


async def test_a_pod_that_fails_to_load_is_restarted_and_the_others_go_back(
    rig: Rig, servers: SimulatedModelServers
) -> None:
    _in_place(rig, servers)
    pods_before = _pods(rig)
    servers.fail_load.add(pods_before[2])
    done = await rig.until(_finished, precision=Precision.FP8)
    status = rig.status()
    assert done.precision == Precision.BF16 and status["swap"]["phase"] == "Failed"
    assert pods_before[2] in status["swap"]["podsFailed"] and "out of memory" in status["swap"]["message"]
    assert pods_before[2] not in _pods(rig)  # restarted: the Deployment recreates it from the old template
    survivors = [p for p in pods_before if p != pods_before[2]]
    assert {servers.version_of(p) for p in survivors} == {"1"}  # swapped pods loaded the previous version again
    assert rig.model_container()["image"] == "server:bf16"  # the template never changed
    assert status["quarantine"][0]["precision"] == "fp8"
    assert rig.reasons()[-2:] == ["PrecisionSwapFailed", "PrecisionRolledBack"]


async def test_http_hook_in_place_swap(rig: Rig, servers: SimulatedModelServers) -> None:
    _in_place(rig, servers, protocol="http-hook")
    pods_before = _pods(rig)
    await rig.until(lambda r: rig.status()["swap"]["phase"] == "Finalizing", precision=Precision.FP8)
    assert {servers.precisions[p] for p in pods_before} == {("fp8", "2")}
    await rig.until(_finished, precision=Precision.FP8)
    assert rig.status()["precision"] == "fp8"


async def test_a_restart_mid_in_place_swap_resumes_without_reloading_done_pods(
    rig: Rig, servers: SimulatedModelServers
) -> None:
    _in_place(rig, servers)
    await rig.tick(precision=Precision.FP8)
    await rig.tick(precision=Precision.FP8)
    done_before = list(rig.status()["swap"]["podsDone"])
    assert len(done_before) == 2
    rig.actuator = Actuator(rig.api, rig.actuator.http, endpoints=SimEndpoints(servers))
    await rig.until(_finished, precision=Precision.FP8)
    assert rig.status()["precision"] == "fp8"
    loads = [pod for pod, _, _ in servers.loads]
    assert all(loads.count(p) == 1 for p in done_before)
    assert rig.reasons().count("PrecisionSwapStarted") == 1
