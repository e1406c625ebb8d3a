"""A test-side Deployment controller with pods: rolling updates the way Kubernetes does them.

``governor.testing.standins.DeploymentStandIn`` only copies ``spec.replicas`` into status. Precision
swaps need more: this controller keeps real Pod objects in the emulator (labels, ``podIP``, a
``Ready`` condition after ``startup_seconds``), rolls a changed template out respecting
``maxSurge`` / ``maxUnavailable``, writes the Deployment status fields a rollout is tracked by
(``observedGeneration``, ``replicas``, ``updatedReplicas``, ``readyReplicas``,
``availableReplicas``, the ``Progressing`` condition), recreates deleted pods, and fails rollouts
on demand: pods of a template that ``fail_when`` matches never become ready, and after
``progress_deadline`` the Deployment reports ``ProgressDeadlineExceeded``.

It is driven by ``step(now)`` with the test's clock, so rollouts are deterministic and fast.
``history`` records, per step and Deployment, (available, total) so tests can check that ready
capacity never dropped.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from governor.testing.client import KubeClient

NS_ANNOTATION = "sim.governor.dev/deployment"
READY_AT = "sim.governor.dev/ready-at"
HASH_LABEL = "pod-template-hash"

TemplatePredicate = Callable[[Mapping[str, Any]], bool]


def template_hash(template: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _resolve(value: Any, replicas: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        share = replicas * float(value[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value if value is not None else (1 if round_up else 0))


def _ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@dataclass
class DeploymentController:
    client: KubeClient
    namespace: str
    startup_seconds: float = 5.0
    progress_deadline: float = 60.0
    fail_when: TemplatePredicate = field(default=lambda template: False)
    history: list[tuple[float, str, int, int]] = field(default_factory=list)  # (now, name, available, total)
    _rollout_since: dict[tuple[str, str], float] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=itertools.count)

    def step(self, now: float) -> None:
        pods = self.client.list("pods", self.namespace)
        for deployment in self.client.list("deployments", self.namespace):
            name = deployment["metadata"]["name"]
            mine = [p for p in pods if (p["metadata"].get("annotations") or {}).get(NS_ANNOTATION) == name]
            self._reconcile(deployment, mine, now)

    def pods(self, deployment: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.client.list("pods", self.namespace)
            if (p["metadata"].get("annotations") or {}).get(NS_ANNOTATION) == deployment
        ]

    def _reconcile(self, deployment: dict[str, Any], pods: list[dict[str, Any]], now: float) -> None:
        spec = deployment["spec"]
        template = spec.get("template") or {}
        current = template_hash(template)
        replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        pods = [self._mature(p, now) for p in pods]
        new = [p for p in pods if p["metadata"]["labels"].get(HASH_LABEL) == current]
        old = [p for p in pods if p["metadata"]["labels"].get(HASH_LABEL) != current]
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        surge = _resolve(rolling.get("maxSurge", "25%"), replicas, True)
        unavailable = _resolve(rolling.get("maxUnavailable", "25%"), replicas, False)
        if not old:
            new = self._scale(deployment, template, current, new, replicas, now)
        else:
            new, old = self._roll(deployment, template, current, new, old, replicas, surge, unavailable, now)
        self._write_status(deployment, template, new, old, replicas, now)

    def _mature(self, pod: dict[str, Any], now: float) -> dict[str, Any]:
        ready_at = float((pod["metadata"].get("annotations") or {}).get(READY_AT, "inf"))
        if not _ready(pod) and now >= ready_at:
            status = {"phase": "Running", "podIP": "127.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}
            pod = self.client.patch("pods", self.namespace, pod["metadata"]["name"], {"status": status})
        return pod

    def _create(
        self, deployment: Mapping[str, Any], template: Mapping[str, Any], digest: str, now: float
    ) -> dict[str, Any]:
        name = deployment["metadata"]["name"]
        meta = template.get("metadata") or {}
        ready_at = "inf" if self.fail_when(template) else str(now + self.startup_seconds)
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{name}-{digest[:6]}-{next(self._serial)}",
                "namespace": self.namespace,
                "labels": {**(meta.get("labels") or {}), HASH_LABEL: digest},
                "annotations": {NS_ANNOTATION: name, READY_AT: ready_at},
            },
            "spec": json.loads(json.dumps(template.get("spec") or {})),
            "status": {"phase": "Pending", "podIP": "127.0.0.1", "conditions": [{"type": "Ready", "status": "False"}]},
        }
        return self.client.create("pods", body, self.namespace)

    def _delete(self, pods: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
        """Delete ``count`` pods, not-ready ones first; returns the survivors."""
        order = sorted(pods, key=lambda p: (_ready(p), p["metadata"]["name"]))
        for pod in order[:count]:
            self.client.delete("pods", self.namespace, pod["metadata"]["name"])
        gone = {p["metadata"]["name"] for p in order[:count]}
        return [p for p in pods if p["metadata"]["name"] not in gone]

    def _scale(
        self, deployment: Any, template: Any, digest: str, new: list[Any], replicas: int, now: float
    ) -> list[Any]:
        if len(new) < replicas:
            new = new + [self._create(deployment, template, digest, now) for _ in range(replicas - len(new))]
        elif len(new) > replicas:
            new = self._delete(new, len(new) - replicas)
        return new

    def _roll(
        self,
        deployment: Any,
        template: Any,
        digest: str,
        new: list[Any],
        old: list[Any],
        replicas: int,
        surge: int,
        unavailable: int,
        now: float,
    ) -> tuple[list[Any], list[Any]]:
        key = (deployment["metadata"]["name"], digest)
        self._rollout_since.setdefault(key, now)
        room = min(replicas - len(new), replicas + surge - len(new) - len(old))
        new = new + [self._create(deployment, template, digest, now) for _ in range(max(0, room))]
        available = sum(1 for p in new + old if _ready(p))
        unready_old = [p for p in old if not _ready(p)]
        old = self._delete(old, len(unready_old))
        removable = max(0, available - (replicas - unavailable))
        old = self._delete(old, min(len(old), removable))
        return new, old

    def _write_status(
        self, deployment: Any, template: Any, new: list[Any], old: list[Any], replicas: int, now: float
    ) -> None:
        name = deployment["metadata"]["name"]
        available = sum(1 for p in new + old if _ready(p))
        digest = template_hash(template)
        rolling = bool(old) or sum(1 for p in new if _ready(p)) < replicas
        since = self._rollout_since.get((name, digest), now)
        if not rolling:
            self._rollout_since.pop((name, digest), None)
        stuck = rolling and now - since > self.progress_deadline
        progressing = (
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
            if stuck
            else {
                "type": "Progressing",
                "status": "True",
                "reason": "ReplicaSetUpdated" if rolling else "NewReplicaSetAvailable",
            }
        )
        status = {
            "observedGeneration": int(deployment["metadata"].get("generation", 1)),
            "replicas": len(new) + len(old),
            "updatedReplicas": len(new),
            "readyReplicas": available,
            "availableReplicas": available,
            "conditions": [progressing],
        }
        self.history.append((now, name, available, len(new) + len(old)))
        if deployment.get("status") != status:
            self.client.patch("deployments", self.namespace, name, {"status": status}, sub="status")
