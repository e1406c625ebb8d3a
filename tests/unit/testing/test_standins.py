"""The pod-level Deployment stand-in: pods ready after their start-up, rolling updates within surge/unavailable."""

from __future__ import annotations

import copy
from typing import Any

from governor.testing.standins import RollingStandIn


class FakeClient:
    """Just enough of ``KubeClient`` for the stand-in: one Deployment, status patches applied."""

    def __init__(self, replicas: int, rolling: dict[str, Any]) -> None:
        self.obj: dict[str, Any] = {
            "metadata": {"namespace": "ml", "name": "chat", "generation": 1},
            "spec": {
                "replicas": replicas,
                "strategy": {"rollingUpdate": rolling},
                "template": {"spec": {"containers": [{"name": "m", "args": ["bf16"]}]}},
            },
            "status": {},
        }

    def list(self, resource: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(self.obj)]

    def patch(self, resource: str, namespace: str, name: str, body: Any, sub: str | None = None) -> dict[str, Any]:
        self.obj["status"] = body["status"]
        return self.obj

    def change(self, replicas: int | None = None, arg: str | None = None) -> None:
        if replicas is not None:
            self.obj["spec"]["replicas"] = replicas
        if arg is not None:
            self.obj["spec"]["template"]["spec"]["containers"][0]["args"] = [arg]
        self.obj["metadata"]["generation"] += 1


def test_new_pods_become_ready_after_the_delay_one_scale_up_at_a_time() -> None:
    client = FakeClient(2, {"maxSurge": 1, "maxUnavailable": 0})
    standin = RollingStandIn(client, delay=5.0)  # type: ignore[arg-type]
    standin.step(0.0)
    assert client.obj["status"]["readyReplicas"] == 0
    standin.step(5.0)
    assert client.obj["status"]["readyReplicas"] == 2
    client.change(replicas=4)
    standin.step(6.0)
    client.change(replicas=5)
    standin.step(9.0)
    standin.step(11.0)  # the two pods of the first scale-up are ready; the third started later
    assert client.obj["status"]["readyReplicas"] == 4
    standin.step(14.0)
    assert client.obj["status"]["readyReplicas"] == 5


def test_a_surge_rollout_never_drops_ready_capacity_and_completes() -> None:
    client = FakeClient(3, {"maxSurge": 1, "maxUnavailable": 0})
    standin = RollingStandIn(client, delay=1.0)  # type: ignore[arg-type]
    standin.step(0.0)
    standin.step(1.0)
    client.change(arg="int4")
    for t in range(2, 20):
        standin.step(float(t))
        assert client.obj["status"]["readyReplicas"] >= 3
    assert client.obj["status"]["updatedReplicas"] == 3 and client.obj["status"]["replicas"] == 3
    assert standin.ready_split[("ml", "chat")] == (3, 0)


def test_a_batch_rollout_takes_max_unavailable_pods_out_at_once() -> None:
    client = FakeClient(4, {"maxSurge": 0, "maxUnavailable": 2})
    standin = RollingStandIn(client, delay=1.0)  # type: ignore[arg-type]
    standin.step(0.0)
    standin.step(1.0)
    client.change(arg="int4")
    standin.step(1.5)
    assert client.obj["status"]["readyReplicas"] == 2
    assert standin.ready_split[("ml", "chat")] == (0, 2)
    standin.step(2.5)
    standin.step(3.5)
    assert standin.ready_split[("ml", "chat")] == (4, 0)
