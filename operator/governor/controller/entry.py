"""``governor run``: the operator against the current kubeconfig or in-cluster service account.

Builds ``Settings`` from ``GOVERNOR_*`` (a bad value is a one-line error and exit code 2), sets up
logging, wires the controller with the metrics source for those settings, and hands over to Kopf:
cluster-wide or the listed namespaces, standalone or peering-based HA.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, cast

import kopf
import kubernetes

from governor.actuate.kube import KubernetesApi
from governor.controller.app import Controller
from governor.controller.handlers import build_registry
from governor.controller.metrics import OperatorMetrics
from governor.controller.peering import Peering
from governor.controller.pods import KubePodLister
from governor.controller.receivers import build_alerting
from governor.settings import OperatorSettings, Settings, reference

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "environment:\n" + "\n".join(f"  {var:<38} {doc} [{default}]" for var, default, doc in reference())


def configure_logging(settings: OperatorSettings) -> None:
    """Kopf's own formatter (plain or JSON, with per-object context) at the configured level."""
    log_format = kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL
    kopf.configure(verbose=settings.log_level == "DEBUG", log_format=log_format)
    logging.getLogger().setLevel(settings.log_level)


def build_controller(settings: Settings, api: KubernetesApi, peering: Peering | None = None) -> Controller:
    from governor.metrics.build import build_source

    metrics = OperatorMetrics()
    source = build_source(settings, KubePodLister(api), on_scrape_rejected=metrics.count_scrape_rejected)
    hook, notifier = build_alerting(api, settings.alerting)
    return Controller(
        api=api,
        settings=settings.operator,
        metrics_source=source,
        metrics=metrics,
        hook=hook,
        background=(notifier,),
        peering=peering,
    )


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    configure_logging(settings.operator)
    try:
        api = KubernetesApi.from_environment()
    except (kubernetes.config.ConfigException, OSError, ValueError) as exc:
        print(f"governor run: no Kubernetes credentials (in-cluster or kubeconfig): {exc}", file=sys.stderr)
        return 2
    op = settings.operator
    peering = Peering.from_settings(op)
    controller = build_controller(settings, api, peering)
    logger.info(
        "starting: namespaces=%s peering=%s tick=%ss",
        ",".join(op.namespaces) or "*",
        f"{peering.name} as {peering.identity} (priority {peering.priority})" if peering else None,
        op.tick_seconds,
    )
    try:
        kopf.run(
            registry=build_registry(controller),
            clusterwide=not op.namespaces,
            namespaces=op.namespaces,
            standalone=peering is None,
            peering_name=peering.name if peering else None,
            # kopf.run's ``Identity`` is a NewType of str that Kopf does not export.
            identity=cast(Any, peering.identity) if peering else None,
        )
    finally:
        api.close()
    return 0
