"""A standby replica's control loop writes nothing; taking over re-reads what went stale meanwhile.

The loop asks its gate at the top of every tick. Here the gate is a switch the test flips (the
real one, ``PeeringGate``, reads Kopf's peering object: ``tests/cluster/test_ha.py`` runs it with
two real operators); the operator runs for real against the emulator.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from governor.controller.app import Controller
from governor.controller.peering import Peering, PeeringGate
from governor.controller.registry import Entry
from governor.model import ServiceKey
from tests.integration.controller.test_owned import NS, service
from tests.support.decisions import bounds_only
from tests.support.kube import KubeHarness

TICK = 0.5


class Switch:
    """An ``ActiveGate`` the test turns on and off."""

    def __init__(self, active: bool) -> None:
        self.active = active

    async def may_act(self, now: float) -> bool:
        return self.active


def sample(controller: Controller, name: str) -> float:
    return controller.metrics.registry.get_sample_value(name) or 0.0


def replicas(kube: KubeHarness, name: str) -> int:
    return int(kube.client.get("deployments", NS, name)["spec"]["replicas"])


def test_a_standby_loop_writes_nothing_and_acts_once_active(kube: KubeHarness) -> None:
    gate = Switch(active=False)
    with kube.operator(tick_seconds=TICK, decide=bounds_only, gate=gate) as (_, controller):
        kube.client.create("inferenceservices", service("chat", maxReplicas=3))
        # The Kopf handlers (not the loop) create the workload and write the first status.
        kube.wait_for(lambda: kube.client.find("deployments", NS, "chat"), what="Deployment")
        kube.wait_for(lambda: kube.client.get("inferenceservices", NS, "chat").get("status"), what="status")
        kube.client.patch("deployments", NS, "chat", {"spec": {"replicas": 7}})
        writes, status = (
            sample(controller, "governor_status_writes_total"),
            kube.client.get("inferenceservices", NS, "chat"),
        )
        time.sleep(4 * TICK)
        assert replicas(kube, "chat") == 7
        assert sample(controller, "governor_status_writes_total") == writes
        assert kube.client.get("inferenceservices", NS, "chat")["status"] == status["status"]
        assert sample(controller, "governor_ticks_total") == 0
        assert sample(controller, "governor_active") == 0

        gate.active = True
        kube.wait_for(lambda: replicas(kube, "chat") == 3, what="scaled back into maxReplicas once active")
        assert sample(controller, "governor_active") == 1


def test_taking_over_forgets_what_went_stale_and_rereads_every_service(kube: KubeHarness) -> None:
    gate = Switch(active=True)
    with kube.operator(tick_seconds=TICK, decide=bounds_only, gate=gate) as (_, controller):
        kube.client.create("inferenceservices", service("chat", maxReplicas=3))
        kube.wait_for(lambda: kube.client.find("deployments", NS, "chat"), what="Deployment")
        gate.active = False
        kube.wait_for(lambda: sample(controller, "governor_active") == 0, what="the loop standing by")
        # What a replica paused by Kopf misses while another one acts: a spec change the other one
        # handled (here: the old maxReplicas 9 is all this replica knows) and a deleted service.
        fresh = controller.registry.get(ServiceKey(NS, "chat"))
        assert fresh is not None and fresh.spec is not None
        controller.registry.put(dataclasses.replace(fresh, spec=dataclasses.replace(fresh.spec, max_replicas=9)))
        controller.registry.put(Entry(ServiceKey(NS, "gone"), "uid-gone", 1, None))
        kube.client.patch("deployments", NS, "chat", {"spec": {"replicas": 7}})

        gate.active = True
        kube.wait_for(lambda: replicas(kube, "chat") == 3, what="the re-read maxReplicas 3 obeyed")
        entry = controller.registry.get(ServiceKey(NS, "chat"))
        assert entry is not None and entry.spec is not None and entry.spec.max_replicas == 3
        # The re-read applies "chat" (its Deployment back to 3) before it forgets what was not listed.
        kube.wait_for(lambda: ServiceKey(NS, "gone") not in controller.registry, timeout=5, what="'gone' forgotten")


class PeeringObject:
    """Just enough ``KubeApi`` for the gate: GET of the peering object, with a status the test sets."""

    def __init__(self) -> None:
        self.status: dict[str, Any] = {}

    async def get(self, path: str) -> dict[str, Any]:
        assert path == "/apis/kopf.dev/v1/clusterkopfpeerings/governor"
        return {"status": self.status}


def keepalive(priority: int) -> dict[str, Any]:
    return {"priority": priority, "lifetime": 30, "lastseen": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}


async def test_the_gate_follows_the_peering_object_and_waits_a_tick_to_replace_a_live_replica() -> None:
    api = PeeringObject()
    gate = PeeringGate(api, Peering("governor", "me", 100, 30), handover_seconds=10)  # type: ignore[arg-type]
    now = time.time()
    assert not await gate.may_act(now)  # not recorded yet
    api.status = {"me": keepalive(100), "high": keepalive(200)}
    assert not await gate.may_act(now)
    api.status = {"me": keepalive(100), "low": keepalive(50)}  # outranks a live replica: handover
    assert not await gate.may_act(now)
    assert not await gate.may_act(now + 9)
    assert await gate.may_act(now + 10)
    api.status = {"me": keepalive(100)}
    assert await gate.may_act(now + 11)
    api.status = {"me": keepalive(100), "high": keepalive(200)}
    assert not await gate.may_act(now + 12)
    api.status = {"me": keepalive(100)}  # the other one is gone: no one to wait for
    assert await gate.may_act(now + 13)
