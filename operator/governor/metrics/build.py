"""``build_source``: the metrics source the operator runs with, chosen from its settings."""

from __future__ import annotations

from collections.abc import Callable

from governor.metrics.client import HttpQueryClient
from governor.metrics.fallback import FallbackSource
from governor.metrics.prometheus import PrometheusSource
from governor.metrics.scrape import ScrapeSource
from governor.metrics.source import AgentLister, MetricsSource, PodLister
from governor.model.promql import UnsafeQuery, check_matchers
from governor.settings import PrometheusSettings, Settings, SettingsError


def build_source(
    settings: Settings,
    pod_lister: PodLister,
    agent_lister: AgentLister | None = None,
    on_scrape_rejected: Callable[[str], None] | None = None,
) -> MetricsSource:
    """Prometheus with the direct-scrape fallback, or direct scrape alone without a Prometheus URL.

    ``on_scrape_rejected`` is told the reason of every pod page the scrape refuses (the operator
    counts them). Every returned source has ``async aclose()``; call it at shutdown.
    """
    prom = settings.prometheus
    scrape = ScrapeSource(
        pod_lister,
        agent_lister=agent_lister,
        timeout_seconds=prom.timeout_seconds,
        max_bytes=prom.scrape_max_bytes,
        on_rejected=on_scrape_rejected,
        max_age_seconds=prom.stale_seconds,
    )
    if not prom.url:
        return scrape
    check_selectors(prom)
    primary = PrometheusSource(
        HttpQueryClient(prom),
        service_label=prom.service_label,
        window=prom.rate_window,
        pod_lister=pod_lister,
        recording_rules=prom.recording_rules,
        dcgm_selector=prom.dcgm_selector,
        pod_labels_selector=prom.pod_labels_selector,
    )
    return FallbackSource(primary, scrape if prom.scrape_fallback else None)


def check_selectors(prom: PrometheusSettings) -> None:
    """A GPU selector setting that is not a list of label matchers stops the start (``SettingsError``)."""
    for var, value in (
        ("GOVERNOR_PROMETHEUS_DCGM_SELECTOR", prom.dcgm_selector),
        ("GOVERNOR_PROMETHEUS_POD_LABELS_SELECTOR", prom.pod_labels_selector),
    ):
        try:
            check_matchers(value)
        except UnsafeQuery as exc:
            raise SettingsError(f"{var}={value!r} is invalid: {exc}") from None
