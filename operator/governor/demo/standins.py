"""Stand-ins for the built-in controllers the emulator lacks, for the demo and the tests.

``DeploymentStandIn`` plays the Deployment controller: a Deployment whose status lags its spec
gets ``replicas = readyReplicas = updatedReplicas = spec.replicas`` and a current
``observedGeneration`` after ``delay`` seconds (a replica's start-up time). It talks HTTP, so the
operator sees the change exactly as it would from a cluster.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from governor.demo.client import ApiStatusError, KubeClient

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
