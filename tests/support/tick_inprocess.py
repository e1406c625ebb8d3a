"""The operator's tick with no API server: ``build_controller`` over ``MemoryApi``, in this process.

What ``benchmarks/bench_operator.py --in-process-sizes`` runs in a child process per size (so that each
size's peak RSS is its own). The services and Deployments are put straight into the in-memory API; a
first controller registers every service as Kopf's resume handler would and ticks until every service
is decided (so the objects carry a status), then a fresh controller resumes them from those objects —
the restart — and ticks on: steady ticks, one tick in which 1 % of the services triple their load, and
ticks whose readings jitter by 2 %. Kopf, HTTP and JSON are left out: what is measured is Governor's
own work per tick (collect + decide + act + status), which the emulator cannot show at 10,000.
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import sys
import time
from typing import Any

from governor.actuate.render import render_deployment
from governor.alerting import DictConfigReader
from governor.controller.app import Controller
from governor.controller.build import build_controller
from governor.kube.client import api_path
from governor.model.parse import parse_service
from governor.model.resource import API_VERSION, PLURAL
from governor.settings import Settings
from governor.testing.memory import MemoryApi
from tests.support.tick_bench import SyntheticLoad, peak_rss_mb, service_body

NAMESPACES, T0, TICK = 20, 1_800_000_000.0, 2.0  # simulated seconds per tick: no heartbeat falls due in the run


def _world(size: int) -> MemoryApi:
    api = MemoryApi()
    for index in range(size):
        body = service_body(index, NAMESPACES)
        body["metadata"].update(uid=f"uid-{index}", generation=1)
        spec = parse_service(body)
        api.objects[api_path(API_VERSION, PLURAL, spec.namespace, spec.name)] = body
        deployment = render_deployment(spec, 1)
        deployment["metadata"]["generation"] = 1
        deployment["status"] = {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1}
        api.objects[api_path("apps/v1", "deployments", spec.namespace, spec.name)] = deployment
    return api


def _controller(api: MemoryApi, load: SyntheticLoad, clock: list[float]) -> Controller:
    return build_controller(Settings(), api, metrics_source=load, receivers=DictConfigReader(), clock=lambda: clock[0])


async def _resume(controller: Controller, api: MemoryApi) -> None:
    """What Kopf's resume handler does for every object the operator finds when it starts."""
    for namespace in sorted({p.split("/")[5] for p in api.objects if f"/{PLURAL}/" in p}):
        for body in await api.list(api_path(API_VERSION, PLURAL, namespace)):
            await controller.service_changed(body)


async def _tick(controller: Controller, api: MemoryApi, clock: list[float]) -> tuple[float, int]:
    clock[0] += TICK
    writes, started = api.writes, time.perf_counter()
    await controller.loop.tick(clock[0])
    return time.perf_counter() - started, api.writes - writes


def rss_mb() -> float:
    """VmRSS of this process now, in MiB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


async def run(size: int, steady: int = 5) -> dict[str, Any]:
    api, clock = _world(size), [T0]
    world_mb = rss_mb()  # the interpreter, Governor's modules and the in-memory API's objects
    first = _controller(api, SyntheticLoad(0.0), clock)
    await _resume(first, api)
    for _ in range(2):
        await _tick(first, api, clock)
    del first  # the operator that stops: only the objects it wrote remain
    gc.collect()
    load = SyntheticLoad(0.0)
    restarted = _controller(api, load, clock)
    started, writes = time.perf_counter(), api.writes
    await _resume(restarted, api)
    first_tick, _ = await _tick(restarted, api, clock)
    resume_s, resume_writes = time.perf_counter() - started, api.writes - writes
    await _tick(restarted, api, clock)  # settle
    ticks = [await _tick(restarted, api, clock) for _ in range(steady)]
    changed = load.change(0.01, restarted.registry.specs())
    change = [await _tick(restarted, api, clock) for _ in range(2)]
    load.noise = 0.02
    jittered = [await _tick(restarted, api, clock) for _ in range(3)]
    walls = [wall for wall, _ in ticks]
    return {
        "size": size,
        "resume_s": resume_s,
        "resume_writes": resume_writes,
        "first_tick_s": first_tick,
        "tick_median_s": statistics.median(walls),
        "tick_max_s": max(walls),
        "steady_writes": max(w for _, w in ticks),
        "changed_services": changed,
        "change_writes": sum(w for _, w in change),
        "jitter_writes": int(statistics.median(w for _, w in jittered)),
        "rss_mb": peak_rss_mb(),
        "world_rss_mb": world_mb,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 5))))
