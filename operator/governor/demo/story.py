"""What the demo runs: its InferenceService, its alert receivers, its decision-engine knobs and its clock.

The example manifests carry production timings (a 120 s start-up, a 900 s dwell, a 300 s
scale-down window) that would make a demo last an hour. ``DEMO_SERVICE`` is
``examples/vllm-chat.yaml`` with those times compressed; ``DEMO_POLICY`` shortens the engine's
own headroom window the same way; and ``SimClock`` runs the operator's clock ``speed`` times
faster than the wall clock, so policy windows and alert ``for`` durations pass in seconds.
Rates stay per wall-clock second: the scrape source measures them against the real clock.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from governor.demo.world import FleetParams
from governor.model import ServiceSpec
from governor.model.resource import API_VERSION, KIND
from governor.policy import PolicyConfig

RECEIVERS_NAMESPACE = "governor-system"
RECEIVERS_CONFIGMAP = "governor-receivers"
RECEIVER = "demo-console"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"

DEMO_SERVICE: dict[str, Any] = {
    "apiVersion": API_VERSION,
    "kind": KIND,
    "metadata": {"name": "chat", "namespace": "ml"},
    "spec": {
        "minReplicas": 2,
        "maxReplicas": 8,
        "startupSeconds": 20,
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "chat"}},
            "spec": {
                "containers": [
                    {
                        "name": "vllm",
                        "image": "vllm/vllm-openai:v0.6.3",
                        "args": ["--model", MODEL, "--dtype", "bfloat16", "--port", "8000"],
                        "ports": [{"name": "http", "containerPort": 8000}],
                        "resources": {"limits": {"nvidia.com/gpu": 1}},
                    }
                ]
            },
        },
        "slo": {"latencyMs": 2000, "latencyQuantile": 0.99, "objective": 0.99, "periodDays": 1},
        "targets": {"gpuUtilization": 0.75, "cacheHitRatioFloor": 0.3},
        "metrics": {"preset": "vllm", "gpuSource": "agent", "modelLabel": MODEL},
        "precision": {
            "mode": "Auto",
            "preferred": "bf16",
            "qualityFloor": 0.97,
            "minDwellSeconds": 30,
            "variants": [
                {"precision": "bf16", "relativeThroughput": 1.0, "relativeQuality": 1.0},
                {
                    "precision": "fp8",
                    "relativeThroughput": 1.6,
                    "relativeQuality": 0.995,
                    "args": ["--model", MODEL, "--quantization", "fp8", "--port", "8000"],
                },
                {
                    "precision": "int4",
                    "relativeThroughput": 2.0,
                    "relativeQuality": 0.97,
                    "args": ["--model", "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4", "--quantization", "awq"],
                },
            ],
        },
        "behavior": {
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": 30,
                "policies": [{"type": "Percent", "value": 50, "periodSeconds": 15}],
            },
        },
        "alerts": {"receivers": [RECEIVER]},
    },
}

# Compressed like the service above (production defaults in brackets).
DEMO_POLICY = PolicyConfig(
    headroom_seconds=40.0,  # [300] sustained headroom before stepping precision back up
    step_down_settle_seconds=10.0,  # [30]
    forecast_extra_seconds=10.0,  # [30]
    backlog_drain_seconds=20.0,  # [60]
    max_swaps_per_hour=12,  # [4]: the demo's "hour" passes in a few minutes
)

# Alert rule durations, compressed the same way (defaults: 5m, 10m, 1h).
DEMO_RULES = {
    "at_capacity_for": "20s",
    "gpu_saturation_for": "20s",
    "precision_degraded_for": "30s",
    "cache_hit_for": "60s",
    "metrics_unavailable_for": "60s",
}


def receivers_yaml(webhook_url: str) -> str:
    """The administrator's receivers ConfigMap (``receivers.yaml``): one webhook, the demo's console."""
    config = {
        "receivers": [
            {
                "name": RECEIVER,
                "kind": "webhook",
                "url": webhook_url,
                "group_by": ["..."],
                "group_wait": "0s",
                "send_resolved": True,
                "namespaces": ["*"],
            }
        ],
        "default_receivers": [RECEIVER],
        "rules": DEMO_RULES,
    }
    return yaml.safe_dump(config, sort_keys=False)


def demo_service() -> dict[str, Any]:
    return copy.deepcopy(DEMO_SERVICE)


def fleet_params(spec: ServiceSpec) -> FleetParams:
    """The world's fleet for ``spec``: capacity per precision from the variants' ``relativeThroughput``."""
    throughput = {v.precision.value: v.relative_throughput for v in spec.precision.variants}
    return FleetParams(throughput=throughput)


@dataclass
class SimClock:
    """Wall-clock epoch seconds, running ``speed`` times faster from ``origin``."""

    speed: float = 1.0
    origin: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.origin + (time.time() - self.origin) * self.speed

    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        return self() - self.origin


def as_mapping(obj: Any) -> Mapping[str, Any]:
    return obj if isinstance(obj, Mapping) else {}
