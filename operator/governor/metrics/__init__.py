"""Metrics layer: turns Prometheus series, pods' own ``/metrics`` and NVML agents into observations.

The controller depends only on ``MetricsSource``, ``PodLister`` and ``build_source``; everything
else is an implementation detail of one source.
"""

from governor.metrics.build import build_source
from governor.metrics.source import AgentLister, MetricsSource, MetricsUnavailable, NullSource, PodLister

__all__ = ["AgentLister", "MetricsSource", "MetricsUnavailable", "NullSource", "PodLister", "build_source"]
