"""The whole control tick, measured: Governor's real operator in a child process against many services.

``benchmarks/bench_operator.py`` and a fast integration test share this harness. The parent holds the
Kubernetes API (the KMock emulator in a thread, or a real kube-apiserver) and the services; the child
is the operator, built by ``build_controller`` as ``governor run`` builds it and run by Kopf with its
real control loop, so its memory and CPU are its own. Only the metrics source is a stand-in
(``SyntheticLoad``): fresh observations for every service on every tick, since a Prometheus holding
10,000 services is ``bench_collector.py``'s subject, not this one's.

The child reports after each tick, on one stdout line: the tick's wall and CPU time, how many services
it decided, the Kubernetes requests Governor sent during it (by kind) and its peak RSS. It then waits
for the parent's next command on stdin (``go``, ``change SHARE``, ``stop``), so the parent can count
what the API server itself saw between two ticks, and change the load on a given tick.

Child: ``python -m tests.support.tick_bench --url URL [--token T --ca FILE] [--noise 0.02]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
READY = "GOVERNOR-BENCH-TICK "  # prefix of the child's tick lines (anything else on stdout is ignored)


# ---- the services ----------------------------------------------------------------------------


def namespace_of(index: int, namespaces: int) -> str:
    return f"bench-{index % namespaces}"


def service_body(index: int, namespaces: int) -> dict[str, Any]:
    """An owned-mode vLLM service: the operator creates its Deployment and Service."""
    container = {"name": "server", "image": "vllm/vllm-openai:v0.6.0", "ports": [{"containerPort": 8000}]}
    return {
        "apiVersion": "governor.dev/v1alpha1",
        "kind": "InferenceService",
        "metadata": {"name": f"svc-{index:05d}", "namespace": namespace_of(index, namespaces)},
        "spec": {
            "template": {"spec": {"containers": [container]}},
            "minReplicas": 1,
            "maxReplicas": 8,
            "slo": {"latencyMs": 500, "latencyQuantile": 0.99, "objective": 0.99},
            "metrics": {"preset": "vllm"},
        },
    }


# ---- the child: the operator -------------------------------------------------------------------


class SyntheticLoad:
    """Metrics source stand-in: every service serves a steady load, measured afresh on each tick.

    ``noise`` is the relative jitter of the latency and GPU readings (a real p99 or utilisation moves by
    a few per cent from one tick to the next; 0 gives identical readings). The request rate and cache hit
    ratio stay exact: jitter on them, at the benchmark's sub-second ticks, would read as a steep trend to
    the forecast, which no 1 m rate window shows at a 10 s tick. ``change(share)`` triples the load of
    that share of the services (every ``1/share``-th one) from the next tick on."""

    def __init__(self, noise: float, seed: int = 7) -> None:
        self.noise = noise
        self.boosted: set[str] = set()
        self.changes = 0
        self._random = random.Random(seed)

    def change(self, share: float, specs: Sequence[Any]) -> int:
        step = max(1, round(1 / share)) if share > 0 else 0
        picked = {f"{s.namespace}/{s.name}" for i, s in enumerate(sorted(specs, key=str)) if step and i % step == 0}
        self.changes += 1
        self.boosted ^= picked
        return len(picked)

    def _jitter(self, value: float) -> float:
        return value * (1 + self._random.uniform(-self.noise, self.noise)) if self.noise else value

    async def observe(self, specs: Sequence[Any], now: float) -> Mapping[Any, Any]:
        from governor.model import Observation, Sample

        out = {}
        for spec in specs:
            factor = 3.0 if f"{spec.namespace}/{spec.name}" in self.boosted else 1.0
            rate = 4.0 * factor

            def s(value: float) -> Sample:
                return Sample(value, now)

            out[spec.key] = Observation(
                at=now,
                source="synthetic",
                request_rate=s(rate),
                error_rate=s(0.0),
                latency_p50_ms=s(self._jitter(120.0 * factor**0.5)),
                latency_p95_ms=s(self._jitter(200.0 * factor**0.5)),
                latency_p99_ms=s(self._jitter(260.0 * factor**0.5)),
                slo_attainment=s(0.999),
                queue_depth=s(0.0),
                running_requests=s(rate * 0.15),
                cache_hit_ratio=s(0.5),
                gpu_utilization_mean=s(min(1.0, self._jitter(0.35 * factor))),
                gpu_utilization_max=s(min(1.0, self._jitter(0.4 * factor))),
                ready_replicas=s(1.0),
            )
        return out


def request_kind(method: str, path: str) -> str:
    """``PATCH status``, ``PATCH deployments/scale``, ``POST events``, ``LIST deployments``: what a request touched."""
    parts = path.split("?")[0].strip("/").split("/")
    plural = next((p for p in parts if p in PLURALS), parts[-1] if parts else "")
    if plural == "inferenceservices" and parts[-1] == "status":
        return f"{method} status"
    if plural == "deployments" and parts[-1] == "scale":
        return f"{method} deployments/scale"
    return f"{method} {plural}"


PLURALS = ("inferenceservices", "deployments", "services", "events", "configmaps", "pods", "secrets")


@dataclass
class CountingApi:
    """The operator's ``KubeApi`` with a count of each request Governor sends, by verb and kind."""

    inner: Any
    counts: Counter[str] = field(default_factory=Counter)

    def take(self) -> dict[str, int]:
        taken, self.counts = dict(self.counts), Counter()
        return taken

    async def get(self, path: str) -> dict[str, Any]:
        self.counts[request_kind("GET", path)] += 1
        return dict(await self.inner.get(path))

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        self.counts[request_kind("LIST", path)] += 1
        return list(await self.inner.list(path, label_selector))

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        self.counts[request_kind("POST", path)] += 1
        return dict(await self.inner.create(path, body))

    async def patch(self, path: str, body: Any) -> dict[str, Any]:
        self.counts[request_kind("PATCH", path)] += 1
        return dict(await self.inner.patch(path, body))

    async def delete(self, path: str) -> None:
        self.counts[request_kind("DELETE", path)] += 1
        await self.inner.delete(path)


def peak_rss_mb() -> float:
    """VmHWM of this process (its peak resident set), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(argv: Sequence[str]) -> int:
    """The operator process: Kopf + the controller, reporting each tick and taking commands between ticks."""
    started = time.monotonic()
    parser = argparse.ArgumentParser(prog="tick_bench")
    parser.add_argument("--url", required=True)
    parser.add_argument("--token")
    parser.add_argument("--ca")
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--tick", type=float, default=0.2)
    parser.add_argument("--heartbeat", type=float, default=60.0)
    args = parser.parse_args(argv)

    import kopf

    from governor.controller.build import build_controller
    from governor.controller.logs import configure_logging
    from governor.kube.client import KubernetesApi
    from governor.settings import OperatorSettings, Settings
    from governor.testing.operator_thread import OperatorThread

    operator = OperatorSettings(tick_seconds=args.tick, status_heartbeat_seconds=args.heartbeat, metrics_port=0)
    configure_logging(operator)
    if args.token:
        connection = kopf.ConnectionInfo(server=args.url, ca_path=args.ca, token=args.token)
    else:
        connection = kopf.ConnectionInfo(server=args.url, insecure=True)
    inner = KubernetesApi.for_url(args.url, token=args.token, ca_file=args.ca)
    api = CountingApi(inner)
    load = SyntheticLoad(args.noise)
    controller = build_controller(Settings(operator=operator), api, metrics_source=load, connection=connection)
    stopping = threading.Event()
    real_tick = controller.loop.tick
    decisions = controller.metrics.decisions
    ticks = 0

    def decided() -> float:
        return sum(s.value for m in decisions.collect() for s in m.samples if s.name.endswith("_total"))

    async def measured_tick(now: float) -> None:
        nonlocal ticks
        services = len(controller.registry.entries())
        before, cpu, wall = decided(), time.process_time(), time.perf_counter()
        api.take()
        await real_tick(now)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        ticks += 1
        report = {
            "tick": ticks,
            "since_start": time.monotonic() - started,
            "wall": wall,
            "cpu": cpu,
            "services": services,
            "decided": int(decided() - before),
            "requests": api.take(),
            "rss_mb": peak_rss_mb(),
        }
        print(READY + json.dumps(report), flush=True)
        command = (await asyncio.to_thread(sys.stdin.readline)).split()
        if not command or command[0] == "stop":
            stopping.set()
            await asyncio.Event().wait()  # the operator is being stopped; this tick never ends
        elif command[0] == "change":
            specs = [e.spec for e in controller.registry.entries() if e.spec is not None]
            load.change(float(command[1]), specs)
        elif command[0] == "noise":
            load.noise = float(command[1])

    controller.loop.tick = measured_tick  # type: ignore[method-assign]
    thread = OperatorThread(controller)
    thread.start(timeout=120)
    stopping.wait()
    thread.stop(timeout=60)
    inner.close()
    print(READY + json.dumps({"stopped": True, "rss_mb": peak_rss_mb()}), flush=True)
    return 0


# ---- the parent: drives the child -----------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    number: int
    since_start: float  # child's seconds since its process started, at the tick's end
    wall: float
    cpu: float
    services: int
    decided: int
    requests: dict[str, int]
    rss_mb: float
    api_writes: int | None  # writes the API server saw from the previous report to this one

    @property
    def writes(self) -> int:
        """Governor's own writes in this tick (POST, PATCH, DELETE)."""
        return sum(n for k, n in self.requests.items() if k.split()[0] in ("POST", "PATCH", "DELETE"))

    @property
    def status_writes(self) -> int:
        return self.requests.get("PATCH status", 0)

    @property
    def reads(self) -> int:
        return sum(n for k, n in self.requests.items() if k.split()[0] in ("GET", "LIST"))


class ChildFailed(RuntimeError):
    """The operator process exited or fell silent; the message ends with its log's tail."""


@dataclass
class OperatorProcess:
    """One operator child process, driven tick by tick. ``server_writes`` counts the API server's writes."""

    url: str
    log: Path
    server_writes: Any = None  # () -> int | None
    token: str | None = None
    ca: str | None = None
    noise: float = 0.0
    heartbeat: float = 60.0
    tick_seconds: float = 0.2
    started: float = 0.0
    _proc: subprocess.Popen[str] | None = None
    _last_writes: int | None = None

    def start(self) -> OperatorProcess:
        argv = [sys.executable, "-m", "tests.support.tick_bench", "--url", self.url, "--noise", str(self.noise)]
        argv += ["--heartbeat", str(self.heartbeat), "--tick", str(self.tick_seconds)]
        if self.token:
            argv += ["--token", self.token, "--ca", str(self.ca)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "operator"), str(REPO)]))
        self._last_writes = self._server_writes()
        self.started = time.monotonic()
        with open(self.log, "w") as log:
            self._proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=log, text=True, bufsize=1)  # fmt: skip
        return self

    def _server_writes(self) -> int | None:
        return None if self.server_writes is None else int(self.server_writes())

    def _line(self, timeout: float) -> dict[str, Any]:
        if self._proc is None or self._proc.stdout is None:
            raise ChildFailed("the operator process is not running")
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(_read_report(self._proc.stdout)), daemon=True)  # type: ignore[union-attr, arg-type]
        reader.start()
        reader.join(timeout)
        if not found or not found[0]:
            raise ChildFailed(f"no tick reported within {timeout:.0f} s; log tail:\n{self.log_tail()}")
        return dict(json.loads(found[0]))

    def next_tick(self, timeout: float = 300.0) -> Tick:
        report = self._line(timeout)
        writes = self._server_writes()
        seen = None if writes is None or self._last_writes is None else writes - self._last_writes
        self._last_writes = writes
        return Tick(
            number=report["tick"],
            since_start=report["since_start"],
            wall=report["wall"],
            cpu=report["cpu"],
            services=report["services"],
            decided=report["decided"],
            requests=report["requests"],
            rss_mb=report["rss_mb"],
            api_writes=seen,
        )

    def send(self, command: str) -> None:
        if self._proc is None or self._proc.stdin is None:
            raise ChildFailed("the operator process is not running")
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()

    def stop(self, timeout: float = 90.0) -> float:
        """Stop the operator; its peak RSS in MiB."""
        self.send("stop")
        final = self._line(timeout)
        if self._proc is not None:
            self._proc.wait(timeout)
        return float(final["rss_mb"])

    def kill(self) -> None:
        """Kill the process if it still runs, and close its pipes."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a broken pipe of a killed child
                    stream.close()

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _read_report(stream: IO[str]) -> str:
    for line in stream:
        if line.startswith(READY):
            return line[len(READY) :]
    return ""


@contextlib.contextmanager
def operator_process(**kwargs: Any) -> Iterator[OperatorProcess]:
    process = OperatorProcess(**kwargs).start()
    try:
        yield process
    finally:
        process.kill()


# ---- one run: start, reconcile everything, steady ticks, a change --------------------------------


@dataclass
class Run:
    """What one operator process did: the ticks until every service was decided, then the phases."""

    size: int
    reconciled_s: float | None = None  # process start → end of the first tick that decided every service
    warmup: list[Tick] = field(default_factory=list)
    steady: list[Tick] = field(default_factory=list)
    changed: list[Tick] = field(default_factory=list)
    changed_services: int = 0
    jittered: list[Tick] = field(default_factory=list)  # steady load, readings jittered by ``jitter``
    rss_mb: float = 0.0


def drive(
    process: OperatorProcess,
    size: int,
    *,
    settle: int = 2,
    steady: int = 5,
    change: float = 0.01,
    jitter: float = 0.02,
    jittered: int = 0,
    limit_s: float = 600.0,
    progress: Any = None,
) -> Run:
    """Tick until every service is decided once, then ``settle`` ticks, ``steady`` ticks with nothing
    changed, one tick in which ``change`` of the services changed load, and one after it."""
    run = Run(size)
    say = progress or (lambda message: None)
    tick = process.next_tick(timeout=limit_s)
    while True:  # each report read here is answered before the next one is read
        run.warmup.append(tick)
        if tick.services or tick.number % 50 == 0:
            say(f"tick {tick.number}: {tick.decided}/{size} decided in {tick.wall:.2f} s, {tick.writes} writes")
        if tick.decided >= size:
            run.reconciled_s = time.monotonic() - process.started
            break
        if time.monotonic() - process.started > limit_s:
            raise ChildFailed(f"{size} services not all decided within {limit_s:.0f} s")
        process.send("go")
        tick = process.next_tick(timeout=limit_s)
    for phase, count in ((run.warmup, settle), (run.steady, steady)):
        for _ in range(count):
            process.send("go")
            phase.append(process.next_tick())
    say(f"steady ticks: {[t.writes for t in run.steady]} writes, {[round(t.wall, 2) for t in run.steady]} s")
    process.send(f"change {change}")  # the next tick observes the changed load
    run.changed.append(process.next_tick())
    process.send("go")
    run.changed.append(process.next_tick())
    run.changed_services = max(1, round(size * change))
    if jittered:
        process.send(f"noise {jitter}")
        process.next_tick()  # the first jittered tick may still write the change's aftermath
        for _ in range(jittered):
            process.send("go")
            run.jittered.append(process.next_tick())
        say(f"jittered readings: {[t.writes for t in run.jittered]} writes per tick")
    run.rss_mb = process.stop()
    return run


# ---- the API servers' side ---------------------------------------------------------------------

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def counting_emulator() -> Any:
    """A ``GovernorEmulator`` that counts every write request it serves (``.writes``), whoever sent it."""
    import attrs

    from governor.testing.emulator import GovernorEmulator

    @attrs.define(kw_only=True)
    class CountingEmulator(GovernorEmulator):
        writes: Counter[str] = attrs.field(factory=Counter, init=False)

        async def _handle(self, request: Any) -> Any:
            method = str(getattr(request.method, "value", request.method))
            if method in WRITE_METHODS:
                self.writes[method] += 1
            return await super()._handle(request)

    return CountingEmulator()


async def create_services(api: Any, size: int, namespaces: int, parallel: int = 8) -> None:
    """The namespaces and ``size`` InferenceServices, ``parallel`` requests at a time."""
    from governor.kube.client import ApiError, api_path
    from governor.model.resource import API_VERSION, PLURAL

    for index in range(min(size, namespaces)):
        with contextlib.suppress(ApiError):  # already there
            await api.create("/api/v1/namespaces", {"metadata": {"name": namespace_of(index, namespaces)}})
    gate = asyncio.Semaphore(parallel)

    async def one(index: int) -> None:
        body = service_body(index, namespaces)
        async with gate:
            await api.create(api_path(API_VERSION, PLURAL, body["metadata"]["namespace"]), body)

    await asyncio.gather(*(one(i) for i in range(size)))


if __name__ == "__main__":
    sys.exit(child(sys.argv[1:]))
