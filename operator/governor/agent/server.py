"""The node agent's HTTP face: ``/metrics`` (Prometheus text), ``/v1/gpus`` (JSON) and ``/healthz``.

A background task samples NVML in a thread every interval and keeps the latest ``NodeSample``;
the handlers only render it, so a slow or broken driver never blocks a scrape. Series carry
``namespace``/``pod``/``service`` of the pods running on each GPU (scrape the agent with
``honor_labels: true`` so Prometheus keeps them); a GPU without pods has them empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from governor.agent.nvml import GpuSample, NodeSample
from governor.agent.pods import PodRef

logger = logging.getLogger(__name__)
GPU_LABELS = ["node", "gpu", "uuid", "namespace", "pod", "service"]


class AgentState:
    """The latest sample and counters, shared by the sampling loop and the handlers."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.latest = NodeSample(at=0.0, available=False, error="no sample yet")
        self.samples = 0
        self.failures = 0


class GpuCollector(Collector):
    def __init__(self, state: AgentState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        s, node = self.state.latest, self.state.node
        nvml = GaugeMetricFamily("governor_nvml_available", "1 when NVML answers on this node.", labels=["node"])
        nvml.add_metric([node], 1.0 if s.available else 0.0)
        yield nvml
        up = GaugeMetricFamily("governor_gpu_available", "1 when the GPU answered.", labels=GPU_LABELS[:3])
        util = GaugeMetricFamily("governor_gpu_utilization_ratio", "GPU busy share (0..1).", labels=GPU_LABELS)
        used = GaugeMetricFamily("governor_gpu_memory_used_bytes", "Frame buffer in use.", labels=GPU_LABELS)
        total = GaugeMetricFamily("governor_gpu_memory_total_bytes", "Frame buffer size.", labels=GPU_LABELS)
        for gpu in s.gpus:
            up.add_metric([node, str(gpu.index), gpu.uuid], 1.0 if gpu.available else 0.0)
            if not gpu.available:
                continue  # no value rather than a zero
            pods: list[PodRef | None] = [*_pods(gpu)] or [None]
            for pod in pods:
                labels = [node, str(gpu.index), gpu.uuid, *(_pod_labels(pod))]
                util.add_metric(labels, gpu.utilization or 0.0)
                used.add_metric(labels, float(gpu.memory_used_bytes or 0))
                total.add_metric(labels, float(gpu.memory_total_bytes or 0))
        yield from (up, util, used, total)
        samples = CounterMetricFamily("governor_agent_samples", "NVML samples taken.", labels=["node"])
        samples.add_metric([node], float(self.state.samples))
        failures = CounterMetricFamily(
            "governor_agent_sample_failures", "Samples with NVML unavailable.", labels=["node"]
        )
        failures.add_metric([node], float(self.state.failures))
        duration = GaugeMetricFamily("governor_agent_sample_seconds", "Duration of the last sample.", labels=["node"])
        duration.add_metric([node], s.duration_seconds)
        yield from (samples, failures, duration)


def _pods(gpu: GpuSample) -> list[PodRef]:
    unique = {p.pod.uid: p.pod for p in gpu.processes if p.pod is not None}
    return list(unique.values())


def _pod_labels(pod: PodRef | None) -> list[str]:
    return [pod.namespace, pod.name, pod.service or ""] if pod else ["", "", ""]


def gpus_json(state: AgentState) -> dict[str, Any]:
    s = state.latest
    gpus = []
    for gpu in s.gpus:
        entry = {k: v for k, v in asdict(gpu).items() if k != "processes"}
        entry["pods"] = [{"namespace": p.namespace, "pod": p.name, "service": p.service} for p in _pods(gpu)]
        entry["processes"] = [
            {"pid": p.pid, "used_memory_bytes": p.used_memory_bytes, "pod": p.pod.name if p.pod else None}
            for p in gpu.processes
        ]
        gpus.append(entry)
    return {"node": state.node, "at": s.at, "available": s.available, "error": s.error,
            "driver_version": s.driver_version, "gpus": gpus}  # fmt: skip


def build_app(state: AgentState) -> web.Application:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GpuCollector(state))

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), content_type="text/plain", charset="utf-8")

    async def gpus(_: web.Request) -> web.Response:
        return web.json_response(gpus_json(state))

    async def healthz(_: web.Request) -> web.Response:
        # The agent is healthy while it serves; NVML trouble is reported, not fatal.
        return web.json_response({"ok": True, "nvml": state.latest.available, "error": state.latest.error})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/v1/gpus", gpus)
    app.router.add_get("/healthz", healthz)
    return app


async def sampling_loop(state: AgentState, sample: Callable[[], NodeSample], interval: float) -> None:
    """Sample forever (in a thread), every ``interval`` seconds; cancel to stop."""
    loop = asyncio.get_running_loop()
    while True:
        result = await loop.run_in_executor(None, sample)
        state.latest = result
        state.samples += 1
        state.failures += 0 if result.available else 1
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def serving(state: AgentState, sample: Callable[[], NodeSample], interval: float, host: str, port: int):  # type: ignore[no-untyped-def]
    """Serve and sample until the block exits; yields the bound port."""
    runner = web.AppRunner(build_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    task = asyncio.ensure_future(sampling_loop(state, sample, interval))
    try:
        yield bound
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner.cleanup()
