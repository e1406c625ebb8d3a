"""Prometheus first, direct scrape while it is down, and back by itself once it answers.

Every tick tries the primary; if it raises ``MetricsUnavailable`` the fallback answers the
same tick. If the fallback fails too (or there is none) every service is reported
unavailable — all signals ``None`` — rather than zero.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from governor.metrics.source import MetricsSource, MetricsUnavailable, unavailable
from governor.model import Observation, ServiceKey, ServiceSpec

log = logging.getLogger(__name__)


class FallbackSource:
    def __init__(self, primary: MetricsSource, fallback: MetricsSource | None) -> None:
        self.primary = primary
        self.fallback = fallback
        self.degraded = False  # True while the primary is failing

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        try:
            result = await self.primary.observe(specs, now)
        except MetricsUnavailable as exc:
            if not self.degraded:
                log.warning("primary metrics source unavailable, %s: %s", self._plan(), exc)
            self.degraded = True
            return await self._fallback(specs, now)
        if self.degraded:
            log.warning("primary metrics source is back")
            self.degraded = False
        return result

    def _plan(self) -> str:
        return "scraping pods directly" if self.fallback is not None else "no fallback configured"

    async def _fallback(self, specs: Sequence[ServiceSpec], now: float) -> Mapping[ServiceKey, Observation]:
        if self.fallback is None:
            return {spec.key: unavailable(now) for spec in specs}
        try:
            return await self.fallback.observe(specs, now)
        except MetricsUnavailable as exc:
            log.warning("fallback metrics source unavailable too: %s", exc)
            return {spec.key: unavailable(now) for spec in specs}

    async def aclose(self) -> None:
        for source in (self.primary, self.fallback):
            closer = getattr(source, "aclose", None)
            if closer is not None:
                await closer()
