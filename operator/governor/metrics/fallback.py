"""Prometheus first, direct scrape while it is down, and back once Prometheus has the data again.

Every tick tries the primary; if it raises ``MetricsUnavailable`` the fallback answers the
same tick. If the fallback fails too (or there is none) every service is reported
unavailable — all signals ``None`` — rather than zero.

A Prometheus that answers again is not yet a Prometheus with data: a restarted one scrapes
for the first time seconds after it starts, and its rates need a second scrape. So while
degraded, an answer of the primary is taken for a service only when it measures every
signal the fallback measured for it; the other services keep the fallback's observation,
and the source switches back once the primary covers them all — or after
``catch_up_seconds`` of answering, so a signal only the scrape can see does not keep the
fallback on for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import fields

from governor.metrics.source import MetricsSource, MetricsUnavailable, unavailable
from governor.model import Observation, ServiceKey, ServiceSpec

logger = logging.getLogger(__name__)

# Signals a metrics backend measures; ``ready_replicas`` comes from the pod lister either way.
MEASURED = tuple(f.name for f in fields(Observation) if f.name not in ("at", "source", "ready_replicas"))
Observations = Mapping[ServiceKey, Observation]


def lacking(primary: Observation, fallback: Observation | None) -> tuple[str, ...]:
    """Signals the fallback measured that the primary did not (empty: the primary covers it)."""
    if fallback is None:
        return ()
    return tuple(s for s in MEASURED if getattr(fallback, s) is not None and getattr(primary, s) is None)


def gaps(primary: Observations, fallback: Observations) -> dict[ServiceKey, tuple[str, ...]]:
    """Per service, what the primary lacks that the fallback had; services it covers are left out."""
    found = {key: lacking(obs, fallback.get(key)) for key, obs in primary.items()}
    return {key: missing for key, missing in found.items() if missing}


class FallbackSource:
    def __init__(
        self, primary: MetricsSource, fallback: MetricsSource | None, *, catch_up_seconds: float = 300.0
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.catch_up_seconds = catch_up_seconds
        self.degraded = False  # True while the primary is failing or has not caught up yet
        self._last_fallback: Observations = {}
        self._answering_since: float | None = None  # degraded, but the primary answers since then

    async def observe(self, specs: Sequence[ServiceSpec], now: float) -> Observations:
        try:
            result = await self.primary.observe(specs, now)
        except MetricsUnavailable as exc:
            if not self.degraded:
                logger.warning("primary metrics source unavailable, %s: %s", self._plan(), exc)
            self.degraded = True
            self._answering_since = None
            return await self._fallback(specs, now)
        if not self.degraded:
            return result
        return await self._catch_up(specs, result, now)

    def _plan(self) -> str:
        return "scraping pods directly" if self.fallback is not None else "no fallback configured"

    async def _fallback(self, specs: Sequence[ServiceSpec], now: float) -> Observations:
        if self.fallback is None:
            answer = {spec.key: unavailable(now) for spec in specs}
        else:
            try:
                answer = dict(await self.fallback.observe(specs, now))
            except MetricsUnavailable as exc:
                logger.warning("fallback metrics source unavailable too: %s", exc)
                answer = {spec.key: unavailable(now) for spec in specs}
        self._last_fallback = answer
        return answer

    async def _catch_up(self, specs: Sequence[ServiceSpec], result: Observations, now: float) -> Observations:
        """Degraded, and the primary answered: per service the better answer, and back when it covers all."""
        if self._answering_since is None:
            self._answering_since = now
        latest = self._last_fallback
        missing = gaps(result, latest)
        if missing:  # compare with a fresh scrape (the last one may predate a second sample)
            latest = await self._fallback(specs, now)
            missing = gaps(result, latest)
        waited = now - self._answering_since
        if not missing:
            logger.warning("primary metrics source is back with data for every service (after %.0fs)", waited)
        elif waited >= self.catch_up_seconds:
            logger.warning(
                "primary metrics source answers for %.0fs but still lacks %s; switching back to it anyway",
                waited,
                _describe(missing),
            )
        else:
            if waited == 0:
                logger.info("primary metrics source answers again but lacks %s; still scraping", _describe(missing))
            return {key: latest.get(key, obs) if key in missing else obs for key, obs in result.items()}
        self.degraded = False
        self._answering_since = None
        self._last_fallback = {}
        return result

    async def aclose(self) -> None:
        for source in (self.primary, self.fallback):
            closer = getattr(source, "aclose", None)
            if closer is not None:
                await closer()


def _describe(missing: Mapping[ServiceKey, Sequence[str]], limit: int = 3) -> str:
    shown = "; ".join(f"{key}: {', '.join(signals)}" for key, signals in list(missing.items())[:limit])
    more = f" and {len(missing) - limit} more service(s)" if len(missing) > limit else ""
    return shown + more
