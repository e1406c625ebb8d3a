"""The demo world's servers: one simulated model server per service, its pods' addresses, its GPUs, a pager.

Runs in a thread with its own event loop (like the emulator and the operator) and serves on
127.0.0.1 only:

* per service, one ``SimulatedModelServer`` that stands in for the whole fleet: its counters are
  the fleet's, so rates stay continuous as replicas come and go;
* per ready replica beyond the first, a placeholder pod page (no series), so that the real
  direct-scrape source sees as many ready pods as the Deployment reports (it counts them as
  ``ready_replicas``) while the fleet's traffic is counted once;
* an NVML-agent-shaped ``/v1/gpus`` with one GPU per ready replica at the fleet's utilisation,
  read by the scrape source's agent lister;
* an Alertmanager-v4 webhook receiver that queues every notification for the demo to print.

``pod_lister`` and ``agent_lister`` are what ``governor.metrics.build.build_source`` takes.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from governor.model import ServiceKey, ServiceSpec
from governor.testing.servers import ServedLoad, ServerHandle, SimulatedModelServer, start_server

T = TypeVar("T")
HOST = "127.0.0.1"
GPU_MEMORY_BYTES = 80 * 2**30


@dataclass
class LiveFleet:
    """One service's simulated fleet: the server, its pod addresses and what the world last set."""

    key: ServiceKey
    server: SimulatedModelServer
    handle: ServerHandle | None = None
    placeholder_ports: list[int] = field(default_factory=list)
    ready: int = 0
    utilisation: float = 0.0

    def addresses(self) -> list[str]:
        if self.handle is None or self.ready <= 0:
            return []
        extra = [f"{HOST}:{port}" for port in self.placeholder_ports[: self.ready - 1]]
        return [f"{HOST}:{self.handle.port}", *extra]


@dataclass(frozen=True)
class PagerNotification:
    """One alert as the webhook receiver got it."""

    status: str  # firing | resolved
    alertname: str
    severity: str
    service: str
    summary: str
    received_at: float


class WorldPods:
    """``PodLister``: the ready pods of each service are the fleet's addresses."""

    def __init__(self, world: LiveWorld) -> None:
        self.world = world

    async def ready_pod_ips(self, key: ServiceKey) -> Sequence[str]:
        fleet = self.world.fleets.get(key)
        return fleet.addresses() if fleet is not None else []


class WorldAgents:
    """``AgentLister``: the one simulated node agent."""

    def __init__(self, world: LiveWorld) -> None:
        self.world = world

    async def agent_urls(self) -> Sequence[str]:
        return [self.world.agent_url] if self.world.agent_url else []


class LiveWorld:
    def __init__(self, specs: Sequence[ServiceSpec]) -> None:
        self.fleets = {
            s.key: LiveFleet(s.key, SimulatedModelServer(s.metrics.preset.value, model=s.metrics.model_label or s.name))
            for s in specs
        }
        self._pods = {s.key: s.max_replicas for s in specs}
        self.notifications: queue.Queue[PagerNotification] = queue.Queue()
        self.agent_url = ""
        self.webhook_url = ""
        self.pod_lister = WorldPods(self)
        self.agent_lister = WorldAgents(self)
        self._runners: list[web.AppRunner] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> LiveWorld:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="demo-world", daemon=True)
        self._thread.start()
        self._call(self._serve(), timeout)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            self._call(self._shutdown(), timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
            loop.close()
            self._loop = None

    def __enter__(self) -> LiveWorld:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set(self, key: ServiceKey, load: ServedLoad, ready: int, utilisation: float) -> None:
        """Apply the world's step to a fleet (on the world's loop, where its pages are rendered)."""
        fleet = self.fleets[key]

        def apply() -> None:
            fleet.server.set_load(load)
            fleet.ready = max(0, min(ready, len(fleet.placeholder_ports) + 1))
            fleet.utilisation = utilisation

        if self._loop is not None:
            self._loop.call_soon_threadsafe(apply)

    # ---- servers ---------------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        if self._loop is None:
            raise RuntimeError("the demo world is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _serve(self) -> None:
        for key, fleet in self.fleets.items():
            fleet.handle = await start_server(fleet.server, HOST)
            fleet.placeholder_ports = await self._placeholders(self._pods[key] - 1)
        app = web.Application()
        app.router.add_get("/v1/gpus", self._gpus)
        app.router.add_post("/alerts", self._alert)
        port = await self._site(app)
        self.agent_url = f"http://{HOST}:{port}"
        self.webhook_url = f"http://{HOST}:{port}/alerts"

    async def _placeholders(self, count: int) -> list[int]:
        async def page(_: web.Request) -> web.Response:
            return web.Response(text="# a replica of the simulated fleet: its traffic is on the fleet's page\n")

        app = web.Application()
        app.router.add_get("/metrics", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        ports = []
        for _ in range(max(0, count)):
            site = web.TCPSite(runner, HOST, 0)
            await site.start()
            ports.append(_bound_port(site))
        return ports

    async def _site(self, app: web.Application) -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        return _bound_port(site)

    async def _shutdown(self) -> None:
        for fleet in self.fleets.values():
            if fleet.handle is not None:
                await fleet.handle.stop()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    async def _gpus(self, _: web.Request) -> web.Response:
        gpus: list[dict[str, Any]] = []
        for fleet in self.fleets.values():
            for i in range(fleet.ready):
                pod = f"{fleet.key.name}-{i}"
                gpus.append(
                    {
                        "index": len(gpus),
                        "uuid": f"GPU-demo-{fleet.key.namespace}-{pod}",
                        "name": "Simulated H100",
                        "available": True,
                        "utilization": fleet.utilisation,
                        "memory_used_bytes": int(GPU_MEMORY_BYTES * 0.9),
                        "memory_total_bytes": GPU_MEMORY_BYTES,
                        "pods": [{"namespace": fleet.key.namespace, "pod": pod, "service": fleet.key.name}],
                        "processes": [],
                        "error": None,
                    }
                )
        report = {"node": "demo-node", "at": time.time(), "available": True, "error": None, "gpus": gpus}
        return web.json_response(report)

    async def _alert(self, request: web.Request) -> web.Response:
        payload = await request.json()
        for alert in payload.get("alerts") or []:
            labels, annotations = alert.get("labels") or {}, alert.get("annotations") or {}
            self.notifications.put(
                PagerNotification(
                    status=str(alert.get("status", payload.get("status", "?"))),
                    alertname=str(labels.get("alertname", "?")),
                    severity=str(labels.get("severity", "?")),
                    service=f"{labels.get('namespace', '?')}/{labels.get('service', '?')}",
                    summary=str(annotations.get("summary") or annotations.get("description") or ""),
                    received_at=time.monotonic(),
                )
            )
        return web.Response(status=200)


def _bound_port(site: web.TCPSite) -> int:
    sockets = getattr(site._server, "sockets", None) or []
    if not sockets:
        raise RuntimeError("the demo world's server did not bind a port")
    return int(sockets[0].getsockname()[1])
