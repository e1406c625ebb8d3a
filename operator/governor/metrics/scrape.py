"""Direct pod scrape: the embedded metrics source when there is no Prometheus, and its fallback.

Each tick it reads the ready pods' own ``/metrics`` (Prometheus text format) concurrently,
keeps the previous snapshot of every pod and turns two snapshots into rates and latency
quantiles (``snapshot.py``). The first tick after start only has gauges; rates follow on the
next. A previous snapshot older than ``max_age_seconds`` (``GOVERNOR_METRICS_STALE_SECONDS``) starts
no rate: an average over a long gap is not what the pod does now, so the rate is missing instead.
GPU signals come from the NVML node agents' ``/v1/gpus`` when an agent lister is given.

A page is whatever a tenant's model server chose to send, so every scrape is bounded:

* size: at most ``max_bytes`` are read, streaming; a larger ``Content-Length`` is refused before
  the body, a longer body as soon as it passes the bound, and the connection is dropped rather
  than drained. Governor asks for ``identity`` encoding and never inflates a compressed page.
* time: ``timeout_seconds`` covers the whole request, body included, so a page dripping a byte
  at a time ends there; parsing has its own budget of the same length.
* the loop: decoding, parsing and picking the preset's series run in a small thread pool,
  never on the event loop.

A refused page (``too_large``, ``timeout``, ``malformed``) is logged with its service and
reported to ``on_rejected`` (the operator's ``governor_scrape_rejected_total{reason}``); the
service's other pods still count. Samples are attributed to the pod that was scraped: labels
inside a page (``namespace``, ``service``, ``pod``…) never move them to another service.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
from prometheus_client.parser import text_fd_to_metric_families

from governor.metrics import agents
from governor.metrics.presets import Preset, preset_for
from governor.metrics.snapshot import Interval, PodSnapshot, RawSample, extract, observation
from governor.metrics.source import AgentLister, PodLister
from governor.model import Observation, Sample, ServiceKey, ServiceSpec
from governor.model.errors import GovernorError
from governor.settings import PrometheusSettings

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = PrometheusSettings.scrape_max_bytes
DEFAULT_MAX_AGE_SECONDS = PrometheusSettings.stale_seconds
TOO_LARGE, TIMEOUT, MALFORMED = "too_large", "timeout", "malformed"  # reasons a page is refused
CHUNK_BYTES = 64 * 1024
IDENTITY = {"Accept-Encoding": "identity"}  # pages are never inflated: a compressed one is refused
PAGE_TYPE = "text/plain;version=0.0.4"  # the Prometheus text format, not OpenMetrics


class PageRejected(GovernorError):
    """A pod's page broke a bound or is no page; it counts for nothing this tick."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class _Lines(io.StringIO):
    """The page's lines for the parser, which stops with ``PageRejected`` once ``deadline`` passes."""

    def __init__(self, text: str, deadline: float) -> None:
        super().__init__(text)
        self.deadline = deadline
        self.count = 0

    def __next__(self) -> str:  # type: ignore[override]  # typeshed: IOBase yields bytes; StringIO str
        self.count += 1
        if self.count % 1024 == 0 and time.monotonic() > self.deadline:
            raise PageRejected(TIMEOUT, f"still parsing after {self.count} lines")
        return super().__next__()


def parse_text(text: str, deadline: float = math.inf) -> list[RawSample]:
    """Every sample of a Prometheus text exposition; raises ``ValueError`` on a malformed page."""
    return [
        RawSample(sample.name, sample.labels, float(sample.value))
        for family in text_fd_to_metric_families(_Lines(text, deadline))
        for sample in family.samples
    ]


def read_page(body: bytes, preset: Preset, at: float, model: str | None, budget_seconds: float) -> PodSnapshot:
    """One pod's snapshot from its raw page: decode, parse within the budget, pick the preset's series.

    CPU-bound (seconds for a page of a few MB), so it runs in a worker thread.
    """
    try:
        text = body.decode("utf-8")
        samples = parse_text(text, time.monotonic() + budget_seconds)
    except ValueError as exc:  # UnicodeDecodeError is one
        raise PageRejected(MALFORMED, str(exc) or "not Prometheus text") from None
    return extract(preset, samples, at, model)


async def read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or ``PageRejected`` as soon as it is known to exceed ``limit`` bytes."""
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        raise PageRejected(MALFORMED, f"Content-Encoding {encoding!r}; identity was asked for")
    if resp.content_length is not None and resp.content_length > limit:
        raise PageRejected(TOO_LARGE, f"Content-Length {resp.content_length} > {limit} bytes")
    body = bytearray()
    async for chunk in resp.content.iter_chunked(CHUNK_BYTES):
        body += chunk
        if len(body) > limit:
            raise PageRejected(TOO_LARGE, f"more than {limit} bytes")
    return bytes(body)


class ScrapeSource:
    def __init__(
        self,
        pod_lister: PodLister,
        *,
        agent_lister: AgentLister | None = None,
        timeout_seconds: float = 5.0,
        concurrency: int = 64,
        forget_after_seconds: float = 600.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        on_rejected: Callable[[str], None] | None = None,
        parse_workers: int = 2,
        max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    ) -> None:
        self.pod_lister = pod_lister
        self.agent_lister = agent_lister
        self.timeout_seconds = timeout_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)  # the whole request, body included
        self.forget_after = forget_after_seconds
        self.max_age = max_age_seconds  # a pod's previous snapshot older than this starts no rate
        self.max_bytes = max_bytes
        self.on_rejected = on_rejected  # called with the reason of every refused page
        self._parse_workers = parse_workers
        self._limit = asyncio.Semaphore(concurrency)
        self._previous: dict[tuple[ServiceKey, str], PodSnapshot] = {}
        self._session: aiohttp.ClientSession | None = None
        self._pool: ThreadPoolExecutor | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, auto_decompress=False, headers=IDENTITY)
        return self._session

    def _parser(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._parse_workers, thread_name_prefix="scrape-parse")
        return self._pool

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        gpu_task = asyncio.ensure_future(self._gpus(now))
        observations = await asyncio.gather(*(self._service(spec, now) for spec in specs))
        gpus = await gpu_task
        self._forget_old()
        out: dict[ServiceKey, Observation] = {}
        for spec, obs in zip(specs, observations, strict=True):
            extra = gpus.get(spec.key, {}) if spec.metrics.gpu_source != "none" else {}
            out[spec.key] = _merge(obs, extra)
        return out

    async def _service(self, spec: ServiceSpec, now: float) -> Observation:
        ips = list(await self.pod_lister.ready_pod_ips(spec.key))
        preset = preset_for(spec.metrics.preset)
        snaps = await asyncio.gather(*(self._scrape(ip, spec, preset) for ip in ips))
        interval = Interval()
        current: list[PodSnapshot] = []
        for ip, snap in zip(ips, snaps, strict=True):
            if snap is None:
                continue
            before = self._previous.get((spec.key, ip))
            if before is not None and snap.at - before.at <= self.max_age:
                interval.add(before, snap)
            self._previous[(spec.key, ip)] = snap
            current.append(snap)
        obs = observation(preset, spec.slo.latency_ms / 1000.0, interval, current, now, spec.slo)
        return _merge(obs, {"ready_replicas": Sample(float(len(ips)), now)})

    async def _scrape(self, ip: str, spec: ServiceSpec, preset: Preset) -> PodSnapshot | None:
        """The pod's snapshot, or ``None`` when its page could not be read or was refused."""
        url = f"http://{target(ip, spec.metrics.scrape_port)}{spec.metrics.scrape_path}"
        try:
            async with self._limit:
                body = await self._fetch(url, PAGE_TYPE)
            at = time.monotonic()
            loop = asyncio.get_running_loop()
            args = (body, preset, at, spec.metrics.model_label, self.timeout_seconds)
            return await loop.run_in_executor(self._parser(), read_page, *args)
        except TimeoutError:
            self._refused(spec, url, PageRejected(TIMEOUT, f"no whole page within {self.timeout_seconds:g} s"))
        except PageRejected as exc:
            self._refused(spec, url, exc)
        except aiohttp.ClientError as exc:
            logger.info("%s: scrape of %s failed: %s", spec.key, url, exc)
        return None

    async def _fetch(self, url: str, accept: str) -> bytes:
        async with self._client().get(url, headers={"Accept": accept}) as resp:
            resp.raise_for_status()
            try:
                return await read_bounded(resp, self.max_bytes)
            except PageRejected:
                resp.close()  # drop the connection: never drain the rest of a hostile body
                raise

    def _refused(self, spec: ServiceSpec, url: str, exc: PageRejected) -> None:
        logger.warning("%s: page of pod %s refused (%s); the service's other pods still count", spec.key, url, exc)
        if self.on_rejected is not None:
            self.on_rejected(exc.reason)

    async def _gpus(self, now: float) -> dict[ServiceKey, dict[str, Sample]]:
        if self.agent_lister is None:
            return {}
        urls = list(await self.agent_lister.agent_urls())
        reports = await asyncio.gather(*(self._agent(url) for url in urls))
        return agents.by_service([r for r in reports if r is not None], now)

    async def _agent(self, base_url: str) -> Any:
        try:
            async with self._limit:
                return json.loads(await self._fetch(base_url.rstrip("/") + "/v1/gpus", "application/json"))
        except (aiohttp.ClientError, TimeoutError, ValueError, PageRejected) as exc:
            logger.info("agent %s unreachable: %s", base_url, exc)
            return None

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - self.forget_after
        for key in [k for k, snap in self._previous.items() if snap.at < cutoff]:
            del self._previous[key]


def target(entry: str, default_port: int) -> str:
    """``host:port`` for a pod entry: an IP (the spec's port is added) or already ``ip:port``."""
    if entry.startswith("["):
        return entry if "]:" in entry else f"{entry}:{default_port}"
    if entry.count(":") == 1:
        return entry
    return f"[{entry}]:{default_port}" if ":" in entry else f"{entry}:{default_port}"


def _merge(obs: Observation, extra: Mapping[str, Sample]) -> Observation:
    if not extra:
        return obs
    fields = {name: getattr(obs, name) for name in obs.__dataclass_fields__}
    fields.update(extra)
    return Observation(**fields)
