"""Suite-wide pytest configuration.

Tests are grouped by kind: ``tests/unit`` (no loop, no cluster, no processes),
``tests/integration`` (real Prometheus / Alertmanager, the KMock emulator, a fake NVML library),
``tests/e2e`` (a real cluster; opt-in with ``GOVERNOR_E2E=1``).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# Property tests: no per-example deadline (CI runs on 2 busy cores) and, under CI, a fixed
# example sequence so a run is reproducible; developers get fresh random examples locally.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("GOVERNOR_E2E") == "1":
        return
    skip = pytest.mark.skip(reason="e2e needs a real cluster: set GOVERNOR_E2E=1 with a reachable kubeconfig")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)
