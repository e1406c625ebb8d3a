"""The contract between the metrics layer and the controller, and the trivial sources.

The controller asks one ``MetricsSource`` per tick for every registered service at once; a
source returns one ``Observation`` per service key. A signal that could not be measured is
``None`` in the observation, never ``0``: a zero means "measured, and it was zero".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from governor.model import Observation, Sample, ServiceKey, ServiceSpec
from governor.model.errors import GovernorError


class MetricsSource(Protocol):
    """Anything that turns the registered services into observations, once per tick."""

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]: ...


class PodLister(Protocol):
    """Supplied by the controller: the IPs of the ready pods of one service (``governor.dev/service``).

    An entry may also be ``ip:port`` (``[v6]:port``) to override the spec's scrape port.
    """

    async def ready_pod_ips(self, key: ServiceKey) -> Sequence[str]: ...


class AgentLister(Protocol):
    """Base URLs (``http://ip:port``) of the NVML node agents, read when Prometheus is down."""

    async def agent_urls(self) -> Sequence[str]: ...


class MetricsUnavailable(GovernorError):
    """The source as a whole cannot answer this tick (backend down, timed out, refused)."""


def unavailable(now: float) -> Observation:
    """An observation that says nothing was measured: every signal ``None``."""
    return Observation(at=now, source="none")


class NullSource:
    """Measures nothing; every service is reported unavailable (metrics switched off)."""

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        return {spec.key: unavailable(now) for spec in specs}


async def ready_replicas(lister: PodLister | None, key: ServiceKey, now: float) -> Sample | None:
    """Number of ready pods as a sample, or ``None`` when there is no lister."""
    if lister is None:
        return None
    return Sample(float(len(await lister.ready_pod_ips(key))), now)
