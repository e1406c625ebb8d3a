"""In-place swaps reach exactly the workload's pods, and end even when the API refuses their undo.

* A target Deployment whose selector uses only ``matchExpressions`` used to look like an empty
  selector: every pod of the namespace was asked to load the new model version.
* A selector Governor cannot express safely refuses the swap, with the reason; never "all pods".
* A pod delete the API keeps refusing (403) in the ``Reverting`` phase used to leave the swap there
  forever, re-sending the previous version's load every tick; now the revert gives up at
  ``swapTimeoutSeconds`` like the rolling path: the variant is quarantined and SwapFailed reported.
* A ``governor.dev/model-container`` the target's template lacks refuses the swap; nothing raises.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from governor.actuate.actuator import ActuationOutcome, Actuator
from governor.actuate.swap.inplace import HttpInPlaceClient, InPlaceError, InPlaceTarget
from governor.kube.client import ApiError, KubeApi
from governor.model import InPlaceProtocol, Precision
from tests.integration.actuation.rig import NS, VARIANTS, Rig, service_body
from tests.support.processes import free_port
from tests.support.triton_server import SimEndpoints, SimulatedModelServers

IN_PLACE_PRECISION = {"inPlaceMaxUnavailable": 0.5, "modelName": "llama"}
TRITON = {"governor.dev/in-place-protocol": "triton"}


@pytest.fixture
def servers() -> Iterator[SimulatedModelServers]:
    with SimulatedModelServers(initial_version="1", initial_precision="bf16") as sim:
        yield sim


def _in_place_variants() -> list[dict[str, Any]]:
    variants = copy.deepcopy(VARIANTS)
    for variant in variants:
        variant["swapModes"] = ["InPlace", "Rolling"]
    return variants


def _deployment(name: str, selector: Mapping[str, Any], labels: Mapping[str, str], replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": dict(selector),
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": "server", "image": "server:bf16"}]},
            },
        },
    }


def _target(
    rig: Rig, servers: SimulatedModelServers, selector: Mapping[str, Any], annotations: Mapping[str, str] = TRITON
) -> None:
    """Service ``chat`` on a target Deployment ``legacy`` (2 pods), next to Deployment ``other`` (2 pods)."""
    rig.actuator = Actuator(rig.api, rig.actuator.http, endpoints=SimEndpoints(servers))
    rig.kube.client.create("deployments", _deployment("legacy", selector, {"app": "chat", "tier": "online"}, 2), NS)
    rig.kube.client.create("deployments", _deployment("other", {"matchLabels": {"app": "other"}}, {"app": "other"}, 2))
    body = service_body(
        "chat", annotations=annotations, precision={**IN_PLACE_PRECISION, "variants": _in_place_variants()}
    )
    del body["spec"]["template"]
    body["spec"]["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "legacy"}
    rig.create(body, replicas=2)


def _pods(rig: Rig, deployment: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in rig.controller.pods(deployment))


def _finished(result: ActuationOutcome) -> bool:
    return not result.swapping


async def test_an_expression_selector_swaps_only_the_workloads_pods(rig: Rig, servers: SimulatedModelServers) -> None:
    selector = {
        "matchExpressions": [
            {"key": "app", "operator": "In", "values": ["chat"]},
            {"key": "tier", "operator": "NotIn", "values": ["batch"]},
        ]
    }
    _target(rig, servers, selector)
    others, mine = _pods(rig, "other"), _pods(rig, "legacy")
    done = await rig.until(_finished, precision=Precision.FP8)
    assert done.precision == Precision.FP8 and rig.status()["swap"]["phase"] == "Succeeded"
    loaded = {pod for pod, _, _ in servers.loads}
    assert not loaded & set(others), f"pods of another Deployment were asked to load: {sorted(loaded & set(others))}"
    assert {servers.version_of(p) for p in others} == {"1"}
    assert loaded == set(mine)  # each of the workload's pods


async def test_a_selector_that_cannot_be_expressed_refuses_the_in_place_swap(
    rig: Rig, servers: SimulatedModelServers
) -> None:
    _target(rig, servers, {"matchLabels": {}})
    result = await rig.tick(precision=Precision.FP8)
    for _ in range(3):
        result = await rig.tick(precision=Precision.FP8)
    assert servers.loads == []  # no pod anywhere was asked to load
    assert not result.swapping and result.precision == Precision.BF16
    assert rig.status().get("swap") is None
    failed = {c.type: c for c in result.conditions}["SwapFailed"]
    assert failed.status and "an empty selector selects every pod of the namespace" in failed.message
    refused = [(t, m) for t, r, m in rig.events if r == "PrecisionSwapRefused"]
    assert len(refused) == 1 and refused[0][0] == "Warning"  # once, not on every tick
    assert "in-place swap" in refused[0][1] and "empty selector" in refused[0][1]


async def test_a_model_container_the_target_lacks_refuses_the_swap(rig: Rig, servers: SimulatedModelServers) -> None:
    _target(rig, servers, {"matchLabels": {"app": "chat"}}, {**TRITON, "governor.dev/model-container": "gpu"})
    for _ in range(3):
        result = await rig.tick(precision=Precision.FP8)
    assert servers.loads == [] and not result.swapping
    refused = [m for _, r, m in rig.events if r == "PrecisionSwapRefused"]
    assert len(refused) == 1 and "no container named 'gpu'" in refused[0]


# ---- the revert step under a refusing API ----------------------------------------------------


@dataclass
class ForbiddenPodDeletes:
    """The real API, except that deleting a pod answers 403 (an RBAC rule lost, an admission webhook)."""

    api: KubeApi
    refused: int = 0

    async def get(self, path: str) -> dict[str, Any]:
        return await self.api.get(path)

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        return await self.api.list(path, label_selector)

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self.api.create(path, body)

    async def patch(self, path: str, body: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return await self.api.patch(path, body)

    async def delete(self, path: str) -> None:
        if "/pods/" in path:
            self.refused += 1
            raise ApiError(403, f'DELETE {path}: pods is forbidden: User "governor" cannot delete resource "pods"')
        await self.api.delete(path)


async def test_a_revert_whose_pod_deletes_are_refused_gives_up_at_the_swap_timeout(
    rig: Rig, servers: SimulatedModelServers
) -> None:
    api = ForbiddenPodDeletes(rig.api)
    rig.actuator = Actuator(api, rig.actuator.http, endpoints=SimEndpoints(servers))
    body = service_body("chat", annotations=TRITON, precision={**IN_PLACE_PRECISION, "variants": _in_place_variants()})
    rig.create(body, replicas=4)
    pods = _pods(rig, "chat")
    servers.fail_load.add(pods[2])  # the third pod fails: the first two are swapped by then
    errors: list[ApiError] = []
    timeout = rig.spec().precision.swap_timeout_seconds
    reverting_since = None
    for _ in range(80):  # ticks of 5 s, as the control loop would: an ApiError is logged, the loop goes on
        try:
            result = await rig.tick(precision=Precision.FP8, dt=5)
        except ApiError as exc:
            errors.append(exc)
            continue
        phase = rig.status()["swap"]["phase"]
        if phase == "Reverting" and reverting_since is None:
            reverting_since = rig.now
        if not result.swapping:
            break
    swap = rig.status()["swap"]
    assert swap["phase"] == "Failed", f"stuck in {swap['phase']} after {len(errors)} errors: {errors[:1]}"
    assert errors == []  # a refused delete is the swap's problem, not an error of the whole reconcile
    assert reverting_since is not None and rig.now - reverting_since >= timeout
    assert api.refused >= 2  # the delete was tried again until the timeout
    reloads = [(pod, version) for pod, _, version in servers.loads if version == "1"]
    assert sorted(reloads) == sorted(set(reloads)), "each swapped pod got the previous version's load once"
    assert {servers.version_of(p) for p in pods[:2]} == {"1"}
    assert [q["precision"] for q in rig.status()["quarantine"]] == ["fp8"]
    failed = {c.type: c for c in result.conditions}["SwapFailed"]
    assert failed.status and failed.reason == "VariantQuarantined"
    rolled_back = [m for _, r, m in rig.events if r == "PrecisionRolledBack"]
    assert len(rolled_back) == 1 and pods[2] in rolled_back[0] and "403" in rolled_back[0]


# ---- what the HTTP client sends, and what it takes back ---------------------------------------


@pytest.fixture
async def odd_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A server answering Triton's config with ``config`` (JSON list / not JSON); it records the raw paths."""
    seen: list[str] = []

    async def config(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        if request.match_info["model"] == "list":
            return web.json_response([1, 2])
        return web.Response(text="{not json", content_type="application/json")

    async def anything(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/v2/models/{model}/config", config)
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_a_server_config_that_is_no_json_object_fails_the_load_not_the_reconcile(
    odd_server: tuple[str, list[str]],
) -> None:
    url, _ = odd_server
    client = HttpInPlaceClient(timeout_seconds=5)
    try:
        for model in ("list", "garbage"):
            with pytest.raises(InPlaceError):
                await client.load(InPlaceTarget(url, InPlaceProtocol.TRITON, model, Precision.FP8, "2"))
    finally:
        await client.close()


async def test_names_are_escaped_as_path_segments(odd_server: tuple[str, list[str]]) -> None:
    """The parser admits no '/', '?' or '%' in names; were one to get through, it still could not leave its segment."""
    url, seen = odd_server
    client = HttpInPlaceClient(timeout_seconds=5)
    try:
        await client.ready(InPlaceTarget(url, InPlaceProtocol.TRITON, "a/../b?x", Precision.FP8, "1/../2"))
    finally:
        await client.close()
    assert seen == ["/v2/models/a%2F..%2Fb%3Fx/versions/1%2F..%2F2/ready"]
