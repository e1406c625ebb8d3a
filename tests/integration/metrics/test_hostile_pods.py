"""Hostile model-server pods against the direct scrape: none stalls the loop or speaks for another.

Real HTTP servers on loopback play the pods: one serves a 32 MB page (with and without a
``Content-Length``), one drips a byte every 50 ms, one answers a gzip bomb, one a page that is
not Prometheus text, one a page whose labels name another namespace's service. Each test checks
the hostile pod is refused with its reason, counted and logged, while its service's other pod
still counts; and that a large page within the bound is parsed off the event loop.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from governor.controller.metrics import OperatorMetrics
from governor.metrics.build import build_source
from governor.metrics.scrape import ScrapeSource, parse_text
from governor.model import MetricsPreset, MetricsSpec, Observation, ServiceKey, ServiceSpec
from governor.settings import PrometheusSettings, Settings
from governor.testing.servers import ServedLoad, SimulatedModelServer
from tests.integration.metrics.conftest import StaticPods

MiB = 1024 * 1024
HUGE = 32 * MiB
QUEUE = 3.0  # the well-behaved pod's vllm:num_requests_waiting
CHUNK = b"vllm:num_requests_waiting 1\n" * 2048  # 56 KiB of valid samples, repeated


def _spec(namespace: str = "ml", name: str = "chat") -> ServiceSpec:
    return ServiceSpec(namespace=namespace, name=name, metrics=MetricsSpec(MetricsPreset.VLLM, "none"))


@dataclass
class Pods:
    """Pods on loopback, one port each: ``good``, the hostile kinds, or a fixed text from ``pages``."""

    sent: dict[str, int] = field(default_factory=dict)  # bytes each streaming pod got out before the hang-up
    pages: dict[str, str] = field(default_factory=dict)
    good: SimulatedModelServer = field(default_factory=lambda: SimulatedModelServer("vllm", ServedLoad(queue=QUEUE)))
    runners: list[web.AppRunner] = field(default_factory=list)

    async def start(self, kind: str) -> str:
        """Start a pod serving ``kind`` on ``/metrics``; returns its ``ip:port`` entry."""
        handler = getattr(self, f"_{kind}", None)

        async def metrics(request: web.Request) -> web.StreamResponse:
            if handler is None:
                return web.Response(text=self.pages[kind], content_type="text/plain")
            response: web.StreamResponse = await handler(request, kind)
            return response

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/v1/gpus", metrics)  # a node agent's report
        runner = web.AppRunner(app, shutdown_timeout=1)
        await runner.setup()
        self.runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"127.0.0.1:{runner.addresses[0][1]}"

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()

    async def _stream(
        self, request: web.Request, kind: str, *, declare: bool, pause: float, total: int, piece: bytes
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain; version=0.0.4"})
        if declare:
            resp.content_length = total
        await resp.prepare(request)
        self.sent[kind] = 0
        try:
            while self.sent[kind] < total:
                await resp.write(piece)
                self.sent[kind] += len(piece)
                await asyncio.sleep(pause)
        except (ConnectionError, asyncio.CancelledError):
            pass  # the scraper hung up: what was sent so far is the measure
        return resp

    async def _good(self, _: web.Request, kind: str) -> web.Response:
        return web.Response(text=self.good.render(), content_type="text/plain")

    async def _huge_chunked(self, request: web.Request, kind: str) -> web.StreamResponse:
        return await self._stream(request, kind, declare=False, pause=0, total=HUGE, piece=CHUNK)

    async def _huge_declared(self, request: web.Request, kind: str) -> web.StreamResponse:
        total = HUGE - HUGE % len(CHUNK)
        return await self._stream(request, kind, declare=True, pause=0.01, total=total, piece=CHUNK)

    async def _drip(self, request: web.Request, kind: str) -> web.StreamResponse:
        return await self._stream(request, kind, declare=False, pause=0.05, total=HUGE, piece=b"#")

    async def _bomb(self, _: web.Request, kind: str) -> web.Response:
        body = gzip.compress(b"vllm:num_requests_waiting 1\n" * (HUGE // 28), compresslevel=9)
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})

    async def _garbage(self, _: web.Request, kind: str) -> web.Response:
        return web.Response(text='vllm:num_requests_waiting{model_name="m" 1\n', content_type="text/plain")


@pytest.fixture
async def pods() -> AsyncIterator[Pods]:
    served = Pods()
    try:
        yield served
    finally:
        await served.stop()


async def _observe(source: ScrapeSource, specs: Sequence[ServiceSpec]) -> dict[ServiceKey, Observation]:
    try:
        return dict(await source.observe(specs, time.time()))
    finally:
        await source.aclose()


async def _source(
    pods: Pods, spec: ServiceSpec, kinds: Sequence[str], rejected: list[str], **kw: float
) -> ScrapeSource:
    entries = [await pods.start(kind) for kind in kinds]
    return ScrapeSource(StaticPods({spec.key: entries}), on_rejected=rejected.append, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("hostile", ["huge_chunked", "huge_declared"])
async def test_a_page_over_the_bound_is_refused_unread_and_the_other_pod_counts(
    pods: Pods, hostile: str, caplog: pytest.LogCaptureFixture
) -> None:
    spec, rejected = _spec(), []
    source = await _source(pods, spec, [hostile, "good"], rejected, max_bytes=MiB)
    hostile_pod = f"127.0.0.1:{pods.runners[0].addresses[0][1]}"
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="governor.metrics.scrape"):
        obs = (await _observe(source, [spec]))[spec.key]
    assert time.monotonic() - started < 3.0
    assert rejected == ["too_large"]
    assert obs.queue_depth is not None and obs.queue_depth.value == QUEUE  # the good pod alone
    assert obs.ready_replicas is not None and obs.ready_replicas.value == 2
    # The scraper hung up long before the end (loopback socket buffers hold a few MB at most).
    await asyncio.sleep(0.2)
    assert pods.sent[hostile] < HUGE // 4, pods.sent
    (line,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "ml/chat" in line and hostile_pod in line and "too_large" in line


async def test_a_slow_drip_is_cut_off_by_the_total_timeout(pods: Pods) -> None:
    spec, rejected = _spec(), []
    source = await _source(pods, spec, ["drip", "good"], rejected, timeout_seconds=1.0)
    started = time.monotonic()
    obs = (await _observe(source, [spec]))[spec.key]
    assert time.monotonic() - started < 2.5  # 1 s, however steadily the bytes trickle in
    assert rejected == ["timeout"]
    assert obs.queue_depth is not None and obs.queue_depth.value == QUEUE


@pytest.mark.parametrize("hostile", ["bomb", "garbage"])
async def test_a_compressed_or_broken_page_is_refused_as_malformed(pods: Pods, hostile: str) -> None:
    spec, rejected = _spec(), []
    source = await _source(pods, spec, [hostile, "good"], rejected, max_bytes=MiB)
    obs = (await _observe(source, [spec]))[spec.key]
    assert rejected == ["malformed"]  # Governor asks for identity encoding and never inflates a page
    assert obs.queue_depth is not None and obs.queue_depth.value == QUEUE


def _large_page(size: int) -> str:
    lines = ["# TYPE vllm:num_requests_waiting gauge"]
    for i in range(size // 48):
        lines.append(f'vllm:num_requests_waiting{{model_name="m",r="{i:08d}"}} 1')
    return "\n".join(lines) + "\n"


async def test_a_large_page_within_the_bound_is_parsed_off_the_event_loop(pods: Pods) -> None:
    page = _large_page(3 * MiB)
    started = time.perf_counter()
    parse_text(page)
    on_the_loop = time.perf_counter() - started  # what parsing it on the loop would stall it for
    pods.pages["large"] = page
    spec, rejected = _spec(), []
    source = await _source(pods, spec, ["large"], rejected, max_bytes=4 * MiB, timeout_seconds=30.0)
    worst, done = 0.0, asyncio.Event()

    async def heartbeat() -> None:
        nonlocal worst
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - before - 0.01)

    beat = asyncio.ensure_future(heartbeat())
    try:
        obs = (await _observe(source, [spec]))[spec.key]
    finally:
        done.set()
        await beat
    assert rejected == [] and obs.queue_depth is not None and obs.queue_depth.value == 3 * MiB // 48
    assert worst < on_the_loop / 3, (worst, on_the_loop)  # calibrated on this machine, under its load


async def test_a_pod_speaks_only_for_itself(pods: Pods) -> None:
    """Samples count for the service whose pod was scraped, whatever their labels say."""
    tenant, victim = _spec("team-a", "chat"), _spec("team-b", "llm")
    forged = {"namespace": "team-b", "service": "llm", "pod": "llm-0", "exported_namespace": "team-b"}
    labels = ",".join(f'{k}="{v}"' for k, v in {**forged, "model_name": "m"}.items())
    page = (
        f"vllm:num_requests_waiting{{{labels}}} 500\n"
        f"vllm:num_requests_running{{{labels}}} 400\n"
        f'governor_gpu_utilization_ratio{{{labels},gpu="0"}} 1\n'
        f'DCGM_FI_DEV_GPU_UTIL{{{labels},gpu="0",exported_pod="llm-0"}} 100\n'
    )
    pods.pages["tenant"] = page
    pods.pages["victim"] = "vllm:num_requests_waiting 2\nvllm:num_requests_running 1\n"
    entries = {tenant.key: [await pods.start("tenant")], victim.key: [await pods.start("victim")]}
    obs = await _observe(ScrapeSource(StaticPods(entries)), [tenant, victim])
    mine, theirs = obs[tenant.key], obs[victim.key]
    assert theirs.queue_depth is not None and theirs.queue_depth.value == 2  # only what its own pod said
    assert theirs.running_requests is not None and theirs.running_requests.value == 1
    assert theirs.gpu_utilization_mean is None and mine.gpu_utilization_mean is None  # pages carry no GPU signal
    assert mine.queue_depth is not None and mine.queue_depth.value == 500  # the forged labels count for the tenant


async def test_rejections_are_counted_in_the_operator_metrics(pods: Pods) -> None:
    metrics = OperatorMetrics()
    settings = Settings(prometheus=PrometheusSettings(scrape_max_bytes=MiB, timeout_seconds=1.0))
    spec = _spec()
    lister = StaticPods({spec.key: [await pods.start(kind) for kind in ("huge_chunked", "drip", "good")]})
    source = build_source(settings, lister, on_scrape_rejected=metrics.count_scrape_rejected)
    assert isinstance(source, ScrapeSource) and source.max_bytes == MiB
    obs = (await _observe(source, [spec]))[spec.key]
    assert obs.queue_depth is not None and obs.queue_depth.value == QUEUE
    for reason in ("too_large", "timeout"):
        assert metrics.registry.get_sample_value("governor_scrape_rejected_total", {"reason": reason}) == 1.0


@dataclass
class Agents:
    urls: list[str]

    async def agent_urls(self) -> Sequence[str]:
        return self.urls


async def test_agent_reports_are_read_within_the_same_bounds(pods: Pods) -> None:
    spec = ServiceSpec(namespace="ml", name="chat", metrics=MetricsSpec(MetricsPreset.VLLM, "agent"))
    gpu = {"available": True, "utilization": 0.4, "memory_used_bytes": 1, "memory_total_bytes": 4}
    report = {"available": True, "gpus": [{**gpu, "pods": [{"namespace": "ml", "pod": "chat-0", "service": "chat"}]}]}
    pods.pages["agent"] = json.dumps(report)
    agents = Agents([f"http://{await pods.start('agent')}", f"http://{await pods.start('huge_chunked')}"])
    source = ScrapeSource(StaticPods({spec.key: [await pods.start("good")]}), agent_lister=agents, max_bytes=MiB)
    obs = (await _observe(source, [spec]))[spec.key]
    assert obs.gpu_utilization_mean is not None and obs.gpu_utilization_mean.value == 0.4
    assert obs.gpu_memory_used_max is not None and obs.gpu_memory_used_max.value == 0.25
    assert pods.sent["huge_chunked"] < HUGE // 4  # an agent is bounded like a pod
