"""``build_source``: the metrics source the operator runs with, chosen from its settings."""

from __future__ import annotations

from governor.metrics.client import HttpQueryClient
from governor.metrics.fallback import FallbackSource
from governor.metrics.prometheus import PrometheusSource
from governor.metrics.scrape import ScrapeSource
from governor.metrics.source import AgentLister, MetricsSource, PodLister
from governor.settings import Settings


def build_source(settings: Settings, pod_lister: PodLister, agent_lister: AgentLister | None = None) -> MetricsSource:
    """Prometheus with the direct-scrape fallback, or direct scrape alone without a Prometheus URL.

    Every returned source has ``async aclose()``; call it at shutdown.
    """
    prom = settings.prometheus
    scrape = ScrapeSource(pod_lister, agent_lister=agent_lister, timeout_seconds=prom.timeout_seconds)
    if not prom.url:
        return scrape
    primary = PrometheusSource(
        HttpQueryClient(prom),
        service_label=prom.service_label,
        window=prom.rate_window,
        pod_lister=pod_lister,
        recording_rules=prom.recording_rules,
    )
    return FallbackSource(primary, scrape if prom.scrape_fallback else None)
