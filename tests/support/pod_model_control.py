"""Triton model-control endpoints on the loopback IPs KWOK gives real pods, for in-place swaps.

The real ``governor run`` reaches a pod's model server at ``http://<status.podIP>:<port>``
(``governor.actuate.swap.inplace.PodIPEndpoints``). ``PodModelControl`` watches one namespace of the
real control plane (a plain list every ``INTERVAL`` seconds) and, for every pod of a service
(``governor.dev/service``) that has an IP and is not terminating, serves that pod's simulated
Triton (``SimulatedModelServers.bind``) on ``<podIP>:<port>``; a pod that goes away stops being
served. State is kept per pod name, so a pod recreated by its ReplicaSet (a new name) starts
from the template's version, as a restarted server would.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from governor.testing.client import KubeClient
from tests.support.triton_server import SimulatedModelServers

SERVICE_LABEL = "governor.dev/service"
INTERVAL = 0.2


def serving_pods(pods: list[dict[str, Any]]) -> dict[str, str]:
    """``pod name → pod IP`` for the service pods whose server listens: an IP, and not terminating."""
    out: dict[str, str] = {}
    for pod in pods:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        if (meta.get("labels") or {}).get(SERVICE_LABEL) and status.get("podIP") and not meta.get("deletionTimestamp"):
            out[str(meta["name"])] = str(status["podIP"])
    return out


class PodModelControl:
    def __init__(self, client: KubeClient, namespace: str, servers: SimulatedModelServers, port: int = 8000) -> None:
        self.client, self.namespace, self.servers, self.port = client, namespace, servers, port
        self.refused: dict[str, str] = {}  # pod → why its address could not be bound (another server holds it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pod-model-control-{namespace}", daemon=True)

    def start(self) -> PodModelControl:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def __enter__(self) -> PodModelControl:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a failed list is retried on the next poll, as is a refused bind
                self._sync(serving_pods(self.client.list("pods", self.namespace)))
            self._stop.wait(INTERVAL)

    def _sync(self, serving: dict[str, str]) -> None:
        for pod in [p for p in self.servers.bound if p not in serving]:  # free IPs first: KWOK reuses them
            self.servers.unbind(pod)
        for pod, ip in serving.items():
            if pod not in self.servers.bound:
                try:
                    self.servers.bind(pod, ip, self.port)
                except OSError as exc:
                    self.refused[pod] = f"{ip}:{self.port}: {exc}"
                else:
                    self.refused.pop(pod, None)
