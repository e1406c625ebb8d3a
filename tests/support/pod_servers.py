"""Simulated model servers on the loopback IPs that KWOK gives real pods, so the direct scrape runs for real.

``PodServers`` watches one namespace of the real control plane (a plain list every few hundred
milliseconds) and keeps one ``SimulatedModelServer`` listening on ``<podIP>:<port>`` for every
Ready pod that carries ``governor.dev/service``. The load each pod reports follows the demo's
fleet arithmetic (``governor.demo.world.step``): the offered rate the test sets is shared by the
ready pods, and latency grows as they run out of capacity, so Governor's decisions respond to the
test's load the way they would to a real fleet. The precision a pod serves is read from its model
container's image through ``precision_of_image``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from governor.demo.world import FleetParams, server_load, step
from governor.testing.client import KubeClient
from governor.testing.servers import ServerHandle, SimulatedModelServer, start_server

T = TypeVar("T")
SERVICE_LABEL = "governor.dev/service"
INTERVAL = 0.3


@dataclass
class Fleet:
    """What the test controls for one service: the offered load, and how the pods turn it into metrics."""

    offered_rps: float = 1.0
    params: FleetParams = field(default_factory=FleetParams)
    precision_of_image: Mapping[str, str] = field(default_factory=dict)
    backlog: float = 0.0


def ready_pods(pods: list[dict[str, Any]]) -> dict[str, tuple[str, str, str]]:
    """``pod name → (service, IP, image of the first container)`` for Ready pods with an IP."""
    out: dict[str, tuple[str, str, str]] = {}
    for pod in pods:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        service = (meta.get("labels") or {}).get(SERVICE_LABEL)
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ())
        if service and ready and status.get("podIP") and not meta.get("deletionTimestamp"):
            image = str(((pod.get("spec") or {}).get("containers") or [{}])[0].get("image", ""))
            out[str(meta["name"])] = (str(service), str(status["podIP"]), image)
    return out


class PodServers:
    def __init__(self, client: KubeClient, namespace: str, *, preset: str = "vllm", port: int = 8000) -> None:
        self.client, self.namespace, self.preset, self.port = client, namespace, preset, port
        self.fleets: dict[str, Fleet] = {}
        self.servers: dict[str, tuple[str, ServerHandle]] = {}  # pod name → (service, handle)
        self.served: list[str] = []  # every pod name that ever got a server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"pod-servers-{namespace}", daemon=True)
        self._task: asyncio.Task[None] | None = None

    def fleet(self, service: str, **changes: Any) -> Fleet:
        """The service's fleet (created on first use) with ``changes`` applied from now on."""
        current = self.fleets.get(service, Fleet())
        self.fleets[service] = replace(current, **changes)
        return self.fleets[service]

    def start(self) -> PodServers:
        self._thread.start()
        self._task = self._call(self._spawn())
        return self

    def stop(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._call(self._stop_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> PodServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    async def _spawn(self) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a failed list is retried on the next step
                pods = await asyncio.to_thread(self.client.list, "pods", self.namespace)
                await self._sync(ready_pods(pods))
            await asyncio.sleep(INTERVAL)

    async def _sync(self, ready: dict[str, tuple[str, str, str]]) -> None:
        for name in [n for n in self.servers if n not in ready]:
            _, handle = self.servers.pop(name)
            await handle.stop()
        for name, (service, ip, _) in ready.items():
            if name not in self.servers:
                server = SimulatedModelServer(self.preset)
                self.servers[name] = (service, await start_server(server, host=ip, port=self.port))
                self.served.append(name)
        for service in {s for s, _, _ in ready.values()}:
            self._set_load(service, [(n, img) for n, (s, _, img) in ready.items() if s == service])

    def _set_load(self, service: str, pods: list[tuple[str, str]]) -> None:
        fleet = self.fleets.setdefault(service, Fleet())
        split: dict[str, int] = {}
        for _, image in pods:
            precision = fleet.precision_of_image.get(image, "bf16")
            split[precision] = split.get(precision, 0) + 1
        view = step(fleet.params, fleet.backlog, fleet.offered_rps, split, INTERVAL)
        fleet.backlog = view.backlog
        load = server_load(fleet.params, view)
        share = max(1, len(pods))
        per_pod = replace(load, rps=load.rps / share, queue=load.queue / share, running=load.running / share)
        for name, _ in pods:
            self.servers[name][1].server.set_load(per_pod)

    async def _stop_all(self) -> None:
        for _, handle in self.servers.values():
            await handle.stop()
        self.servers.clear()
