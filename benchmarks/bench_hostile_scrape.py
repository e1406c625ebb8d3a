"""Benchmark: how long one hostile pod holds the operator's event loop during direct-scrape ticks.

1,000 vLLM services with one pod each are scraped by ``ScrapeSource`` (the embedded metrics
source, and the fallback while Prometheus is down). Twice, each with a fresh source:

1. ``clean``: only the 1,000 well-behaved pods;
2. ``hostile``: the same, plus a second pod of service 0 that serves a 32 MB page (sent
   chunked, without a ``Content-Length``, so the scraper cannot refuse it by its header alone)
   and a second pod of service 1 that drips one byte every 100 ms and never ends.

The pods are served by a child process (one port for the good pods, one per hostile pod), so
the server's CPU does not count against the loop being measured. While the ticks run, a
heartbeat task asks to sleep 10 ms; the time past those 10 ms is the loop's lag (a stall).
Printed per run: ticks, median and slowest tick, the worst stall and the 99th percentile of
the lag, and the pages refused by reason. The first tick of a run is included (it has no
rates yet, but parses the same pages).

Run: .venv/bin/python benchmarks/bench_hostile_scrape.py [--services 1000] [--ticks 4] [--timeout 5]
(about a minute on 2 cores)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from governor.metrics.scrape import ScrapeSource
from governor.model import MetricsPreset, MetricsSpec, ServiceKey, ServiceSpec
from governor.testing.servers import ServedLoad, SimulatedModelServer

HUGE = 32 * 1024 * 1024
DRIP_SECONDS = 0.1


# The pods (child process) ------------------------------------------------------------------


async def serve() -> None:
    from aiohttp import web

    server = SimulatedModelServer("vllm", ServedLoad(rps=5.0, queue=2.0, running=8.0), model="m")
    page = {"text": server.render()}
    line = b"vllm:num_requests_waiting 1\n"
    chunk = line * (64 * 1024 // len(line))

    async def good(_: web.Request) -> web.Response:
        return web.Response(text=page["text"], content_type="text/plain")

    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        sent = 0
        while sent < HUGE:
            await resp.write(chunk)
            sent += len(chunk)
        await resp.write_eof()
        return resp

    async def drip(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        while True:
            await resp.write(b"#")
            await asyncio.sleep(DRIP_SECONDS)

    async def refresh() -> None:  # counters move, so the second tick has rates
        while True:
            await asyncio.sleep(1.0)
            page["text"] = server.render()

    ports = {}
    runners = []
    for name, handler in (("good", good), ("huge", huge), ("drip", drip)):
        app = web.Application()
        app.router.add_get("/metrics", handler)
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
        runners.append(runner)
        ports[name] = runner.addresses[0][1]
    print(json.dumps(ports), flush=True)
    task = asyncio.ensure_future(refresh())
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    task.cancel()
    for runner in runners:
        await runner.cleanup()


# The operator side (this process) ----------------------------------------------------------


class Pods:
    def __init__(self, entries: dict[ServiceKey, list[str]]) -> None:
        self.entries = entries

    async def ready_pod_ips(self, key: ServiceKey) -> Sequence[str]:
        return self.entries.get(key, [])


class Heartbeat:
    """Lag of 10 ms sleeps on the loop: how late the loop got back to a ready task."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - before - 0.01)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def run(name: str, specs: list[ServiceSpec], pods: Pods, ticks: int, limit_s: float) -> dict[str, object]:
    rejected: list[str] = []
    source = ScrapeSource(pods, timeout_seconds=limit_s, on_rejected=rejected.append)
    beat = Heartbeat()
    durations = []
    beat.start()
    try:
        for _ in range(ticks):
            started = time.perf_counter()
            observations = await source.observe(specs, time.time())
            durations.append(time.perf_counter() - started)
            await asyncio.sleep(0.5)
    finally:
        await beat.stop()
        await source.aclose()
    lags = sorted(beat.lags)
    measured = sum(o.queue_depth is not None for o in observations.values())
    return {
        "run": name,
        "ticks": ticks,
        "median tick s": statistics.median(durations),
        "slowest tick s": max(durations),
        "worst stall ms": 1000 * lags[-1],
        "p99 lag ms": 1000 * lags[int(0.99 * (len(lags) - 1))],
        "services measured": f"{measured}/{len(specs)}",
        "refused": ", ".join(f"{k} {v}" for k, v in sorted(Counter(rejected).items())) or "-",
    }


async def measure(args: argparse.Namespace, ports: dict[str, int]) -> list[dict[str, object]]:
    specs = [
        ServiceSpec(namespace="ml", name=f"s{i}", metrics=MetricsSpec(MetricsPreset.VLLM, "none"))
        for i in range(args.services)
    ]
    good = f"127.0.0.1:{ports['good']}"
    clean = {spec.key: [good] for spec in specs}
    hostile = {key: list(entries) for key, entries in clean.items()}
    hostile[specs[0].key].append(f"127.0.0.1:{ports['huge']}")
    hostile[specs[1].key].append(f"127.0.0.1:{ports['drip']}")
    return [
        await run("clean", specs, Pods(clean), args.ticks, args.timeout),
        await run("hostile", specs, Pods(hostile), args.ticks, args.timeout),
    ]


def main(args: argparse.Namespace) -> None:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        ports = json.loads(child.stdout.readline() if child.stdout is not None else "{}")
        rows = asyncio.run(measure(args, ports))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(10)
    print(f"{args.services} services, 1 pod each; hostile: +1 pod with a 32 MB page, +1 slow-drip pod")
    print(f"scrape timeout {args.timeout:g} s; heartbeat every 10 ms")
    print(" | ".join(rows[0]))
    for row in rows:
        print(" | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=4)
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="scrape timeout (GOVERNOR_PROMETHEUS_TIMEOUT_SECONDS)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        asyncio.run(serve())
    else:
        main(arguments)
