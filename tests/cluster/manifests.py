"""InferenceServices and workloads the cluster tests apply, built in one place.

Pods start on KWOK's fake GPU nodes and turn Ready after ``ready_delay`` (the pod-ready stage's
annotation), which plays the model server's start-up. Each precision runs a distinct image tag, so
the simulated model servers know which precision a pod serves (``PRECISION_OF_IMAGE``).
"""

from __future__ import annotations

import copy
from typing import Any

IMAGE = "registry.example/llm-server"
PRECISION_OF_IMAGE = {f"{IMAGE}:{p}": p for p in ("bf16", "fp8", "int8", "int4")}


def pod_template(ready_delay: str = "1s", precision: str = "bf16", name: str = "") -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name} if name else {}
    return {
        "metadata": {
            "labels": labels,
            "annotations": {
                # KWOK 0.8 waits the jitter delay whenever it is not above the delay: both the same.
                "pod-ready.stage.kwok.x-k8s.io/delay": ready_delay,
                "pod-ready.stage.kwok.x-k8s.io/jitter-delay": ready_delay,
            },
        },
        "spec": {
            "containers": [
                {
                    "name": "server",
                    "image": f"{IMAGE}:{precision}",
                    "args": ["--port", "8000"],
                    "ports": [{"name": "http", "containerPort": 8000}],
                    # Quantities in forms the apiserver rewrites: 1 → "1", 0.5 → "500m", 1024Mi → "1Gi".
                    "resources": {"limits": {"nvidia.com/gpu": 1, "cpu": 0.5, "memory": "1024Mi"}},
                }
            ]
        },
    }


VARIANTS: list[dict[str, Any]] = [
    {"precision": "bf16", "relativeThroughput": 1.0, "relativeQuality": 1.0, "image": f"{IMAGE}:bf16"},
    {"precision": "fp8", "relativeThroughput": 1.6, "relativeQuality": 0.995, "image": f"{IMAGE}:fp8"},
    {
        "precision": "int4",
        "relativeThroughput": 2.0,
        "relativeQuality": 0.97,
        "image": f"{IMAGE}:int4",
        "resources": {"limits": {"nvidia.com/gpu": 1, "memory": "1024Mi"}},
    },
]


def inference_service(
    name: str,
    namespace: str,
    *,
    min_replicas: int = 1,
    max_replicas: int = 4,
    ready_delay: str = "1s",
    target: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """An owned-mode InferenceService (or target mode with ``target``) with fast, test-sized timings."""
    body: dict[str, Any] = {
        "apiVersion": "governor.dev/v1alpha1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "startupSeconds": 5,
            "slo": {"latencyMs": 2000, "latencyQuantile": 0.99, "objective": 0.99},
            "targets": {"gpuUtilization": 0.75, "concurrencyPerReplica": 2},
            "metrics": {"preset": "vllm", "gpuSource": "none"},
            "precision": {
                "mode": "Fixed",
                "preferred": "bf16",
                "qualityFloor": 0.97,
                "variants": copy.deepcopy(VARIANTS),
            },
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 5}],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": 5,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 5}],
                },
            },
        },
    }
    if target is not None:
        body["spec"]["scaleTargetRef"] = target
    else:
        body["spec"]["template"] = pod_template(ready_delay, name=name)
    body["spec"].update(spec)
    return body


def deployment(
    name: str, namespace: str, replicas: int = 1, ready_delay: str = "1s", kind: str = "Deployment"
) -> dict[str, Any]:
    """A workload of the user's own (target mode): a Deployment or a StatefulSet of model-server pods."""
    template = pod_template(ready_delay, name=name)
    template["metadata"]["labels"] = {"app": name, "governor.dev/service": name}
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template},
    }
    if kind == "StatefulSet":
        body["spec"]["serviceName"] = name
        body["spec"]["podManagementPolicy"] = "Parallel"
    return body
