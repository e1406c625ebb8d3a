"""Direct pod scrape: the embedded metrics source when there is no Prometheus, and its fallback.

Each tick it reads the ready pods' own ``/metrics`` (Prometheus text format) concurrently,
keeps the previous snapshot of every pod and turns two snapshots into rates and latency
quantiles (``snapshot.py``). The first tick after start only has gauges; rates follow on the
next. GPU signals come from the NVML node agents' ``/v1/gpus`` when an agent lister is given.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from governor.metrics import agents
from governor.metrics.presets import preset_for
from governor.metrics.snapshot import Interval, PodSnapshot, RawSample, extract, observation
from governor.metrics.source import AgentLister, PodLister
from governor.model import Observation, Sample, ServiceKey, ServiceSpec

log = logging.getLogger(__name__)


def parse_text(text: str) -> list[RawSample]:
    """Every sample of a Prometheus text exposition; raises ``ValueError`` on a malformed page."""
    return [
        RawSample(sample.name, sample.labels, float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


class ScrapeSource:
    def __init__(
        self,
        pod_lister: PodLister,
        *,
        agent_lister: AgentLister | None = None,
        timeout_seconds: float = 5.0,
        concurrency: int = 64,
        forget_after_seconds: float = 600.0,
    ) -> None:
        self.pod_lister = pod_lister
        self.agent_lister = agent_lister
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.forget_after = forget_after_seconds
        self._limit = asyncio.Semaphore(concurrency)
        self._previous: dict[tuple[ServiceKey, str], PodSnapshot] = {}
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

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
        pages = await asyncio.gather(*(self._scrape(ip, spec) for ip in ips))
        preset = preset_for(spec.metrics.preset)
        interval = Interval()
        current: list[PodSnapshot] = []
        for ip, page in zip(ips, pages, strict=True):
            if page is None:
                continue
            snap = extract(preset, page, time.monotonic(), spec.metrics.model_label)
            before = self._previous.get((spec.key, ip))
            if before is not None:
                interval.add(before, snap)
            self._previous[(spec.key, ip)] = snap
            current.append(snap)
        obs = observation(preset, spec.slo.latency_ms / 1000.0, interval, current, now)
        return _merge(obs, {"ready_replicas": Sample(float(len(ips)), now)})

    async def _scrape(self, ip: str, spec: ServiceSpec) -> list[RawSample] | None:
        url = f"http://{target(ip, spec.metrics.scrape_port)}{spec.metrics.scrape_path}"
        try:
            async with self._limit, self._client().get(url) as resp:
                resp.raise_for_status()
                text = await resp.text()
            return parse_text(text)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.info("%s: scrape of %s failed: %s", spec.key, url, exc)
            return None

    async def _gpus(self, now: float) -> dict[ServiceKey, dict[str, Sample]]:
        if self.agent_lister is None:
            return {}
        urls = list(await self.agent_lister.agent_urls())
        reports = await asyncio.gather(*(self._agent(url) for url in urls))
        return agents.by_service([r for r in reports if r is not None], now)

    async def _agent(self, base_url: str) -> Any:
        try:
            async with self._limit, self._client().get(base_url.rstrip("/") + "/v1/gpus") as resp:
                resp.raise_for_status()
                return await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.info("agent %s unreachable: %s", base_url, exc)
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
