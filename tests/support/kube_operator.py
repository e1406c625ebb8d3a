"""Run Governor's real operator (Kopf + the controller) against an emulator URL with KopfRunner."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import kopf
from kopf.testing import KopfRunner

from governor.actuate.kube import KubernetesApi
from governor.controller.app import Controller
from governor.controller.handlers import build_registry
from governor.settings import OperatorSettings

TEST_SETTINGS = OperatorSettings(tick_seconds=0.5, status_heartbeat_seconds=60.0, metrics_port=0)


@contextlib.contextmanager
def run_operator(url: str, **overrides: Any) -> Iterator[tuple[KopfRunner, Controller]]:
    """``overrides``: OperatorSettings fields (tick_seconds, ...) and Controller fields (policy, hook, ...)."""
    setting_names = {f.name for f in dataclasses.fields(OperatorSettings)}
    settings = dataclasses.replace(TEST_SETTINGS, **{k: v for k, v in overrides.items() if k in setting_names})
    extra = {k: v for k, v in overrides.items() if k not in setting_names}
    api = KubernetesApi.for_url(url)
    controller = Controller(
        api=api, settings=settings, connection=kopf.ConnectionInfo(server=url, insecure=True), **extra
    )
    try:
        with KopfRunner(["run", "--standalone", "-A"], registry=build_registry(controller), timeout=30) as runner:
            yield runner, controller
    finally:
        api.close()
