"""A simulated model server speaking Triton's model-control endpoints and Governor's HTTP hook.

One aiohttp server in its own thread stands for every pod of a test: pod ``P`` lives under
``<url>/pods/P`` (``SimEndpoints`` maps a Pod object to that base URL, where a cluster would use
``http://<podIP>:<port>``). ``bind(P, host, port)`` also serves pod ``P`` at the root of
``http://<host>:<port>``, as a real pod's server listens on its pod IP (the cluster suite binds the
loopback IPs KWOK gives pods). Per pod it keeps the loaded model version, and it answers

* ``GET  /v2/models/{model}/config`` — the model's configuration (with its ``version_policy``);
* ``POST /v2/repository/models/{model}/load`` — ``{"parameters": {"config": "<json>"}}``; the
  version comes from the config's ``version_policy.specific.versions``;
* ``GET  /v2/models/{model}/versions/{v}/ready`` — 200 when version ``v`` is loaded, else 400;
* ``POST /governor/v1/precision`` and ``GET /governor/v1/ready`` — the generic hook.

Failures on demand: pods in ``fail_load`` answer the load with HTTP 500; pods in ``never_ready``
accept the load but never report the new version ready. ``loads`` records every load request.
A Triton load answers once the version is loaded, as Triton's does; ``load_seconds`` is how long
that takes, and ``most_loading`` the most pods that were loading at once.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.processes import free_port

POD: web.AppKey[str] = web.AppKey("pod", str)


@dataclass
class SimulatedModelServers:
    initial_version: str = "1"
    initial_precision: str = "bf16"
    fail_load: set[str] = field(default_factory=set)
    never_ready: set[str] = field(default_factory=set)
    versions: dict[str, str] = field(default_factory=dict)  # pod → loaded (Triton) version
    precisions: dict[str, tuple[str, str]] = field(default_factory=dict)  # pod → (precision, modelVersion) by hook
    loads: list[tuple[str, str, str]] = field(default_factory=list)  # (pod, protocol, version)
    load_seconds: float = 0.0  # a Triton load answers after this long, once the version is loaded
    loading: set[str] = field(default_factory=set)  # pods inside a Triton load now
    most_loading: int = 0  # the most pods inside a Triton load at once
    url: str = ""
    _bound: dict[str, web.AppRunner] = field(default_factory=dict, init=False)  # pod → its root-level server
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _stop: asyncio.Event | None = field(default=None, init=False)
    _ready: threading.Event = field(default_factory=threading.Event, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    # ---- handlers --------------------------------------------------------------------------

    def _app(self, pod: str | None = None) -> web.Application:
        """Every pod under ``/pods/{pod}``, or (``pod`` given) that one pod at the root."""
        app = web.Application()
        prefix = "" if pod is not None else "/pods/{pod}"
        if pod is not None:
            app[POD] = pod
        app.router.add_get(f"{prefix}/v2/models/{{model}}/config", self._config)
        app.router.add_post(f"{prefix}/v2/repository/models/{{model}}/load", self._load)
        app.router.add_get(f"{prefix}/v2/models/{{model}}/versions/{{version}}/ready", self._ready_triton)
        app.router.add_post(f"{prefix}/governor/v1/precision", self._hook)
        app.router.add_get(f"{prefix}/governor/v1/ready", self._ready_hook)
        return app

    @staticmethod
    def _pod(request: web.Request) -> str:
        return request.match_info.get("pod") or request.app[POD]

    async def _config(self, request: web.Request) -> web.Response:
        pod, model = self._pod(request), request.match_info["model"]
        version = int(self.versions.get(pod, self.initial_version))
        config = {
            "name": model,
            "backend": "python",
            "max_batch_size": 8,
            "version_policy": {"specific": {"versions": [version]}},
        }
        return web.json_response(config)

    async def _load(self, request: web.Request) -> web.Response:
        pod = self._pod(request)
        body = await request.json()
        config = json.loads(body["parameters"]["config"])
        version = str(config["version_policy"]["specific"]["versions"][0])
        with self._lock:
            self.loads.append((pod, "triton", version))
        if pod in self.fail_load:
            return web.json_response({"error": f"failed to load version {version}: out of memory"}, status=500)
        if self.load_seconds > 0:
            self.loading.add(pod)
            self.most_loading = max(self.most_loading, len(self.loading))
            try:
                await asyncio.sleep(self.load_seconds)
            finally:
                self.loading.discard(pod)
        if pod not in self.never_ready:
            self.versions[pod] = version
        return web.json_response({})

    async def _ready_triton(self, request: web.Request) -> web.Response:
        pod, version = self._pod(request), request.match_info["version"]
        loaded = self.versions.get(pod, self.initial_version)
        return web.Response(status=200 if loaded == version else 400)

    async def _hook(self, request: web.Request) -> web.Response:
        pod = self._pod(request)
        body = await request.json()
        with self._lock:
            self.loads.append((pod, "http-hook", str(body.get("modelVersion"))))
        if pod in self.fail_load:
            return web.json_response({"error": "cannot load"}, status=500)
        if pod not in self.never_ready:
            self.precisions[pod] = (str(body["precision"]), str(body.get("modelVersion")))
        return web.json_response({"accepted": True}, status=202)

    async def _ready_hook(self, request: web.Request) -> web.Response:
        pod = self._pod(request)
        wanted = (request.query.get("precision", ""), request.query.get("modelVersion", ""))
        current = self.precisions.get(pod, (self.initial_precision, self.initial_version))
        return web.Response(status=200 if current == wanted else 503)

    def version_of(self, pod: str) -> str:
        return self.versions.get(pod, self.initial_version)

    # ---- pods on their own addresses -------------------------------------------------------

    def bind(self, pod: str, host: str, port: int) -> None:
        """Serve ``pod`` at the root of ``http://<host>:<port>`` too (raises ``OSError`` when taken)."""
        self._call(self._bind(pod, host, port))

    def unbind(self, pod: str) -> None:
        """Stop serving ``pod`` on its own address (its state is kept)."""
        self._call(self._unbind(pod))

    @property
    def bound(self) -> set[str]:
        return set(self._bound)

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the simulated model servers are not running")
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _bind(self, pod: str, host: str, port: int) -> None:
        if pod in self._bound:
            return
        runner = web.AppRunner(self._app(pod), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._bound[pod] = runner

    async def _unbind(self, pod: str) -> None:
        runner = self._bound.pop(pod, None)
        if runner is not None:
            await runner.cleanup()

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> SimulatedModelServers:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._run, args=(port,), name="sim-model-servers", daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("simulated model servers did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> SimulatedModelServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, port: int) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve(port))
        finally:
            self._loop.close()

    async def _serve(self, port: int) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(self._app())
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for pod in list(self._bound):
                await self._unbind(pod)
            await runner.cleanup()


@dataclass(frozen=True)
class SimEndpoints:
    """``PodEndpoints`` for the simulated servers: pod ``P`` → ``<url>/pods/P``."""

    servers: SimulatedModelServers

    def base_url(self, pod: Mapping[str, Any], port: int) -> str | None:
        return f"{self.servers.url}/pods/{pod['metadata']['name']}"
