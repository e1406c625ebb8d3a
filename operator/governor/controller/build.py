"""``build_controller``: the one wiring of an operator from its settings, for ``governor run``, the demo and the tests.

Callers differ only in the parts they pass in. ``governor run`` passes none: pods, NVML agents and the
receivers ConfigMap are read through the API. The demo passes its world's pods and agent and a receivers
ConfigMap of its own; the tests pass stand-ins. Whatever is passed, the same wiring follows: the metrics
source from the settings (with the agents), the alert engine with its notifier on the operator's own
registry, the decision engine bounded by the one staleness setting, and everything the operator starts
is stopped with it (the notifier, the metrics source's connections).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import kopf

from governor.alerting import AlertEngine, ConfigReader
from governor.controller.app import Background, Controller, SourceCloser
from governor.controller.metrics import OperatorMetrics
from governor.controller.peering import ActiveGate, Peering
from governor.controller.pods import KubeAgentLister, KubePodLister
from governor.controller.receivers import KubeConfigReader, build_alerting
from governor.kube.client import KubeApi
from governor.metrics import AgentLister, PodLister, build_source
from governor.metrics.source import MetricsSource
from governor.policy import DEFAULT_CONFIG, Decide, PolicyConfig, deciding_with
from governor.settings import Settings


def settings_policy(settings: Settings, config: PolicyConfig | None = None) -> Decide:
    """``governor.policy.decide`` with ``config`` (the defaults when None), whose staleness bound is
    ``GOVERNOR_METRICS_STALE_SECONDS``: one setting for the metrics layer and the decision engine."""
    base = config if config is not None else DEFAULT_CONFIG
    return deciding_with(dataclasses.replace(base, max_signal_age_seconds=settings.prometheus.stale_seconds))


def build_controller(
    settings: Settings,
    api: KubeApi,
    *,
    metrics: OperatorMetrics | None = None,
    pods: PodLister | None = None,
    agents: AgentLister | None = None,
    receivers: ConfigReader | None = None,
    metrics_source: MetricsSource | None = None,
    alerts: AlertEngine | None = None,
    alerting: bool = True,
    decide: Decide | None = None,
    policy_config: PolicyConfig | None = None,
    background: tuple[Background, ...] = (),
    peering: Peering | None = None,
    gate: ActiveGate | None = None,
    connection: kopf.ConnectionInfo | None = None,
    clock: Callable[[], float] = time.time,
) -> Controller:
    """The controller for ``settings``; a part left out is built from the settings and the API.

    ``pods``, ``agents``, ``receivers``: where the direct scrape finds pods and NVML agents, and where the
    receivers are read (default: through ``api``). ``metrics_source``, ``alerts``, ``decide``: whole parts
    that replace what the settings would build (an ``alerts`` engine brings its own notifier: pass it in
    ``background``); ``alerting=False`` runs with no alert engine at all. ``policy_config``: the decision
    engine's knobs, bounded by the staleness setting.
    """
    metrics = metrics if metrics is not None else OperatorMetrics()
    if metrics_source is None:
        agents = agents if agents is not None else KubeAgentLister(api, settings.agent.namespace, settings.agent.port)
        pods = pods if pods is not None else KubePodLister(api)
        metrics_source = build_source(settings, pods, agents, on_scrape_rejected=metrics.count_scrape_rejected)
    parts = list(background)
    if alerts is None and alerting:
        reader = receivers if receivers is not None else KubeConfigReader(api)
        stale = settings.prometheus.stale_seconds
        alerts, notifier = build_alerting(reader, settings.alerting, metrics.registry, stale)
        parts.append(notifier)
    parts.append(SourceCloser(metrics_source))
    return Controller(
        api=api,
        settings=settings.operator,
        metrics_source=metrics_source,
        decide=decide if decide is not None else settings_policy(settings, policy_config),
        alerts=alerts,
        metrics=metrics,
        connection=connection,
        background=tuple(parts),
        peering=peering,
        gate=gate,
        clock=clock,
    )
