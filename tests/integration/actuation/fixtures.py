"""Fixtures of the actuation tests: a rig per test, with every client closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from governor.actuate.actuator import Actuator
from governor.actuate.swap.inplace import HttpInPlaceClient
from governor.kube.client import KubernetesApi
from tests.integration.actuation.rig import NS, Rig
from tests.support.deployment_controller import DeploymentController
from tests.support.kube import KubeHarness


@pytest.fixture
async def rig(kube: KubeHarness) -> AsyncIterator[Rig]:
    api = KubernetesApi.for_url(kube.url)
    http = HttpInPlaceClient(timeout_seconds=10)
    controller = DeploymentController(kube.client, NS, startup_seconds=5, progress_deadline=40)
    try:
        yield Rig(kube, api, Actuator(api, http), controller)
    finally:
        await http.close()
        api.close()
