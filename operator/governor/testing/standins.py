"""Stand-ins for the built-in controllers the emulator lacks, for the demo and the tests.

``DeploymentStandIn`` plays the Deployment controller: a Deployment whose status lags its spec
gets ``replicas = readyReplicas = updatedReplicas = spec.replicas`` and a current
``observedGeneration`` after ``delay`` seconds (a replica's start-up time). It talks HTTP, so the
operator sees the change exactly as it would from a cluster.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from governor.testing.client import ApiStatusError, KubeClient

logger = logging.getLogger(__name__)


def status_for(obj: dict[str, Any]) -> dict[str, Any]:
    """The status a healthy Deployment controller would report for ``obj`` once rolled out."""
    replicas = int((obj.get("spec") or {}).get("replicas", 1) or 0)
    generation = int((obj.get("metadata") or {}).get("generation", 1) or 1)
    return {
        "observedGeneration": generation,
        "replicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "updatedReplicas": replicas,
    }


def lagging(obj: dict[str, Any]) -> bool:
    current = obj.get("status") or {}
    return any(current.get(k) != v for k, v in status_for(obj).items())


@dataclass
class DeploymentStandIn:
    client: KubeClient
    delay: float = 1.0
    interval: float = 0.2
    _pending: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def step(self, now: float) -> int:
        """One pass: roll out every Deployment that has lagged for ``delay``; returns how many were updated."""
        updated = 0
        for obj in self.client.list("deployments"):
            meta = obj.get("metadata") or {}
            key = (str(meta.get("namespace")), str(meta.get("name")))
            if not lagging(obj):
                self._pending.pop(key, None)
                continue
            generation = int(meta.get("generation", 1) or 1)
            since, seen_generation = self._pending.setdefault(key, (now, generation))
            if seen_generation != generation:
                self._pending[key] = (now, generation)
            elif now - since >= self.delay:
                self.client.patch("deployments", key[0], key[1], {"status": status_for(obj)}, sub="status")
                self._pending.pop(key, None)
                updated += 1
        return updated

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step(time.monotonic())
            except (ApiStatusError, OSError) as exc:
                logger.warning("deployment stand-in: %s", exc)

    def start(self) -> DeploymentStandIn:
        self._thread = threading.Thread(target=self._run, name="deployment-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> DeploymentStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _template_key(obj: dict[str, Any]) -> str:
    return json.dumps(((obj.get("spec") or {}).get("template") or {}), sort_keys=True)


def _allowance(value: Any, replicas: int, round_up: bool, default: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        share = replicas * float(value[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value) if value is not None else default


@dataclass
class RollingStandIn(DeploymentStandIn):
    """A Deployment controller that tracks pods in memory: each new pod is ready ``delay`` seconds after it
    was created, and a changed template rolls out within ``maxSurge`` / ``maxUnavailable`` — so scale-ups
    come in as pods start, not all at once, and a rolling precision swap dips capacity as it really does.
    """

    # (namespace, name) → [(template key, ready at)]
    _pods: dict[tuple[str, str], list[tuple[str, float]]] = field(default_factory=dict, init=False)
    # (namespace, name) → (ready pods of the current template, ready pods of older ones), for the demo's world
    ready_split: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict, init=False)

    def step(self, now: float) -> int:
        updated = 0
        for obj in self.client.list("deployments"):
            meta = obj.get("metadata") or {}
            key = (str(meta.get("namespace")), str(meta.get("name")))
            pods = self._roll(obj, self._pods.setdefault(key, []), now)
            self._pods[key] = pods
            current = _template_key(obj)
            ready = [p for p in pods if p[1] <= now]
            self.ready_split[key] = (sum(p[0] == current for p in ready), sum(p[0] != current for p in ready))
            status = self._status(obj, pods, now)
            if any((obj.get("status") or {}).get(k) != v for k, v in status.items()):
                self.client.patch("deployments", key[0], key[1], {"status": status}, sub="status")
                updated += 1
        return updated

    def _roll(self, obj: dict[str, Any], pods: list[tuple[str, float]], now: float) -> list[tuple[str, float]]:
        spec = obj.get("spec") or {}
        desired = int(spec.get("replicas", 1) or 0)
        current = _template_key(obj)
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        surge = _allowance(rolling.get("maxSurge"), desired, True, 1)
        unavailable = _allowance(rolling.get("maxUnavailable"), desired, False, 0)
        if surge == 0 and unavailable == 0:
            unavailable = 1  # as the API server requires
        old = [p for p in pods if p[0] != current]
        new = [p for p in pods if p[0] == current]
        while len(new) > desired:  # scale down: pods not ready yet go first
            new.sort(key=lambda p: p[1])
            new.pop()
        ready_new = sum(1 for p in new if p[1] <= now)
        # Old pods go while enough stay ready (not-ready old pods go at once).
        old.sort(key=lambda p: -p[1])
        while old and (old[0][1] > now or ready_new + len(old) - 1 >= desired - unavailable):
            old.pop(0)
        while len(new) < desired and len(new) + len(old) < desired + surge:
            new.append((current, now + self.delay))
        return old + new

    def _status(self, obj: dict[str, Any], pods: list[tuple[str, float]], now: float) -> dict[str, Any]:
        current = _template_key(obj)
        ready = sum(1 for p in pods if p[1] <= now)
        return {
            "observedGeneration": int((obj.get("metadata") or {}).get("generation", 1) or 1),
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": sum(1 for p in pods if p[0] == current),
        }
