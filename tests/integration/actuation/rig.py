"""A test rig for the Actuator: the emulator, the test Deployment controller and a fake clock.

Each ``tick`` advances the clock, lets the Deployment controller act, reads what the control loop
would read (the CR, its workload) and calls ``Actuator.apply`` with a decision made up by the test.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from governor.actuate.actuator import ActuationOutcome, Actuator
from governor.actuate.render import render_deployment
from governor.actuate.workloads import read_workload
from governor.kube.client import KubernetesApi
from governor.model import Decision, Precision, ScaleDirection, ServiceSpec
from governor.model.parse import parse_service
from governor.model.status import ActuationStatus
from tests.support.deployment_controller import DeploymentController
from tests.support.kube import KubeHarness

NS = "ml"
T0 = 1_800_000_000.0

VARIANTS: list[dict[str, Any]] = [
    {"precision": "bf16", "relativeQuality": 1.0, "env": [{"name": "QUANT", "value": "none"}], "modelVersion": "1"},
    {
        "precision": "fp8",
        "relativeThroughput": 1.6,
        "relativeQuality": 0.99,
        "image": "server:fp8",
        "env": [{"name": "QUANT", "value": "fp8"}],
        "resources": {"limits": {"nvidia.com/gpu": "1"}},
        "modelVersion": "2",
    },
    {
        "precision": "int4",
        "relativeThroughput": 2.0,
        "relativeQuality": 0.95,
        "image": "server:bad",
        "modelVersion": "3",
    },
]


def service_body(name: str, annotations: Mapping[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    precision = {
        "mode": "Auto",
        "preferred": "bf16",
        "qualityFloor": 0.9,
        "swapTimeoutSeconds": 120,
        "variants": copy.deepcopy(VARIANTS),
    }
    precision.update(spec.pop("precision", {}))
    body: dict[str, Any] = {
        "apiVersion": "governor.dev/v1alpha1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": NS, "annotations": dict(annotations or {})},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "server", "image": "server:bf16", "env": [{"name": "PORT", "value": "8000"}]},
                        {"name": "sidecar", "image": "proxy:1"},
                    ]
                }
            },
            "minReplicas": 1,
            "maxReplicas": 6,
            "precision": precision,
        },
    }
    body["spec"].update(spec)
    return body


@dataclass
class Rig:
    kube: KubeHarness
    api: KubernetesApi
    actuator: Actuator
    controller: DeploymentController
    name: str = "chat"
    now: float = T0
    events: list[tuple[str, str, str]] = field(default_factory=list)
    results: list[ActuationOutcome] = field(default_factory=list)

    def cr(self) -> dict[str, Any]:
        return self.kube.client.get("inferenceservices", NS, self.name)

    def spec(self) -> ServiceSpec:
        return parse_service(self.cr())

    def status(self) -> dict[str, Any]:
        return dict(self.cr().get("status") or {})

    def deployment(self) -> dict[str, Any]:
        return self.kube.client.get("deployments", NS, self.name)

    def create(self, body: Mapping[str, Any], replicas: int) -> None:
        cr = self.kube.client.create("inferenceservices", body)
        self.name = cr["metadata"]["name"]
        spec = parse_service(cr)
        if spec.owned:
            self.kube.client.create("deployments", render_deployment(spec, replicas), NS)
        self.settle()

    def settle(self, seconds: float = 30.0) -> None:
        """Let the Deployment controller reach a steady state without calling the Actuator."""
        for _ in range(int(seconds)):
            self.now += 1
            self.controller.step(self.now)

    async def tick(
        self, replicas: int | None = None, precision: Precision | None = None, dt: float = 1.0, batch: int | None = None
    ) -> ActuationOutcome:
        self.now += dt
        self.controller.step(self.now)
        cr = self.cr()
        spec = parse_service(cr)
        status = dict(cr.get("status") or {})
        workload = await read_workload(self.api, spec)
        current = workload.replicas if workload is not None else 0
        served = Precision(status.get("precision") or spec.precision.preferred)
        wanted = current if replicas is None else replicas
        direction = (
            ScaleDirection.UP if wanted > current else ScaleDirection.DOWN if wanted < current else ScaleDirection.NONE
        )
        decision = Decision(
            self.now,
            current,
            wanted,
            served,
            precision or served,
            direction,
            (f"test asks for {wanted}",),
            swap_max_unavailable=batch,
        )
        result = await self.actuator.apply(spec, decision, workload, ActuationStatus.from_status(status), self.now)
        self.events.extend(result.events)
        self.results.append(result)
        return result

    async def until(
        self, done: Callable[[ActuationOutcome], bool], ticks: int = 200, **kwargs: Any
    ) -> ActuationOutcome:
        for _ in range(ticks):
            result = await self.tick(**kwargs)
            if done(result):
                return result
        raise AssertionError(f"not reached in {ticks} ticks; events: {self.reasons()}")

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.events]

    def min_available_during(self, since: float) -> int:
        return min(available for at, name, available, _ in self.controller.history if name == self.name and at >= since)

    def model_container(self) -> dict[str, Any]:
        return self.deployment()["spec"]["template"]["spec"]["containers"][0]
