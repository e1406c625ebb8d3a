"""``governor run``: the operator against the current kubeconfig or in-cluster service account.

Builds ``Settings`` from ``GOVERNOR_*`` (a bad value is a one-line error and exit code 2), sets up
logging, wires the controller with the metrics source for those settings, and hands over to Kopf:
cluster-wide or the listed namespaces, standalone or peering-based HA.

What can be checked before Kopf starts is checked first, each failure one log line (in the chosen
log format) and an exit code, never a traceback or a retry loop: the metrics port must be free
(exit 2, naming ``GOVERNOR_METRICS_PORT``), credentials must load (exit 2), and the API server must
answer ``/version`` (exit 1). A later failure of Kopf itself is one line and exit 1 too.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any, cast

import kopf

from governor import package_version
from governor.controller.build import build_controller
from governor.controller.handlers import build_registry
from governor.controller.logs import configure_logging
from governor.controller.metrics import OperatorMetrics
from governor.controller.peering import Peering
from governor.kube.client import ApiError, KubernetesApi, NoCredentials
from governor.settings import Settings, reference

logger = logging.getLogger(__name__)
PROBE_TIMEOUT_SECONDS = 15.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "environment (default in brackets):\n" + "\n".join(
        f"  {var:<38} {doc} [{default or 'unset'}]" for var, default, doc in reference()
    )


def fail(message: str, code: int) -> int:
    """One log line (plain or JSON, as configured) on stderr, and the exit code."""
    logger.critical("governor run: %s", message)
    return code


def unreachable(api: KubernetesApi) -> str | None:
    """Why the API server cannot be used (no answer, or credentials refused), or None when it answers."""
    server = api.client.configuration.host
    retries = logging.getLogger("urllib3.connectionpool")
    level = retries.level
    retries.setLevel(logging.ERROR)  # its three retry warnings would make the one error line four
    try:
        asyncio.run(asyncio.wait_for(api.get("/version"), PROBE_TIMEOUT_SECONDS))
    except TimeoutError:
        return f"no answer from the Kubernetes API server at {server} within {PROBE_TIMEOUT_SECONDS:g} s"
    except ApiError as exc:
        if exc.status == 0:
            return f"cannot reach the Kubernetes API server at {server}: {exc}"
        if exc.status == 401:
            return f"the Kubernetes API server at {server} refused the credentials: {exc}"
    finally:
        retries.setLevel(level)
    return None  # it answered (a 403 on /version still proves the connection; RBAC is checked later)


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    op = settings.operator
    configure_logging(op)
    metrics = OperatorMetrics()
    try:
        metrics.serve(op.metrics_port)
    except OSError as exc:
        message = f"cannot serve /metrics on port {op.metrics_port}: {exc.strerror or exc}"
        return fail(f"{message}; set GOVERNOR_METRICS_PORT to a free port (0 switches it off)", 2)
    try:
        return run(settings, metrics)
    finally:
        metrics.close()


def run(settings: Settings, metrics: OperatorMetrics) -> int:
    try:
        api = KubernetesApi.from_environment()
    except NoCredentials as exc:
        return fail(f"no Kubernetes credentials (in-cluster or kubeconfig): {exc}", 2)
    try:
        problem = unreachable(api)
        if problem is not None:
            return fail(f"{problem}; check KUBECONFIG / the in-cluster service account and the network", 1)
        return hand_over(settings, api, metrics)
    finally:
        api.close()


def hand_over(settings: Settings, api: KubernetesApi, metrics: OperatorMetrics) -> int:
    """Run Kopf with Governor's handlers until it stops."""
    op = settings.operator
    peering = Peering.from_settings(op)
    controller = build_controller(settings, api, metrics=metrics, peering=peering)
    logger.info(
        "starting governor %s: namespaces=%s peering=%s tick=%ss metrics=%s",
        package_version(),
        ",".join(op.namespaces) or "*",
        f"{peering.name} as {peering.identity} (priority {peering.priority})" if peering else None,
        op.tick_seconds,
        f":{op.metrics_port}" if op.metrics_port else "off",
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
    except Exception as exc:  # the outermost edge: one line and an exit code, not Kopf's traceback
        return fail(f"the operator stopped: {type(exc).__name__}: {exc}", 1)
    return 0
