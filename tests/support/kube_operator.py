"""Run Governor's real operator (Kopf + the controller) against an emulator URL with KopfRunner.

The controller is built by ``governor.controller.build.build_controller``, as ``governor run`` and the demo
build theirs; a test only chooses the parts. By default it observes nothing (``NullSource``: the
decision engine holds) and runs no alert engine, so a test sees only what it set up.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import kopf
from kopf.testing import KopfRunner

from governor.controller.app import Controller
from governor.controller.build import build_controller
from governor.controller.handlers import build_registry
from governor.kube.client import KubernetesApi
from governor.metrics.source import NullSource
from governor.settings import OperatorSettings, Settings

TEST_SETTINGS = OperatorSettings(tick_seconds=0.5, status_heartbeat_seconds=60.0, metrics_port=0)


@contextlib.contextmanager
def run_operator(url: str, **overrides: Any) -> Iterator[tuple[KopfRunner, Controller]]:
    """``overrides``: OperatorSettings fields (tick_seconds, ...), build_controller's parts (decide, alerts,
    receivers, ...) and ``wrap_api``, a function that wraps the operator's API client (to watch its calls)."""
    setting_names = {f.name for f in dataclasses.fields(OperatorSettings)}
    operator = dataclasses.replace(TEST_SETTINGS, **{k: v for k, v in overrides.items() if k in setting_names})
    parts: dict[str, Any] = {"metrics_source": NullSource()}
    parts["alerting"] = "receivers" in overrides or "alerts" in overrides  # alerting only where a test set it up
    parts.update({k: v for k, v in overrides.items() if k not in setting_names})
    wrap = parts.pop("wrap_api", None)  # a test's view of every API call the operator makes
    api = KubernetesApi.for_url(url)
    controller = build_controller(
        Settings(operator=operator),
        wrap(api) if wrap is not None else api,
        connection=kopf.ConnectionInfo(server=url, insecure=True),
        **parts,
    )
    try:
        with KopfRunner(["run", "--standalone", "-A"], registry=build_registry(controller), timeout=30) as runner:
            yield runner, controller
    finally:
        api.close()
