"""One staleness setting: ``GOVERNOR_METRICS_STALE_SECONDS`` bounds the scrape's rates and the policy's signals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from governor.controller.app import Controller
from governor.controller.build import build_controller
from governor.kube.client import KubernetesApi
from governor.metrics.scrape import ScrapeSource
from governor.model import Observation, Precision, Sample, ServiceSpec
from governor.policy import PolicyState
from governor.settings import Settings

NOW = 10_000.0


@pytest.fixture
def api() -> Iterator[KubernetesApi]:
    api = KubernetesApi.for_url("http://127.0.0.1:9")
    try:
        yield api
    finally:
        api.close()


def _holds_for_missing_rate(controller: Controller, age: float) -> bool:
    """Whether the operator's decision engine counts a request rate ``age`` seconds old as missing."""
    spec = ServiceSpec(namespace="ml", name="chat", max_replicas=10)
    obs = Observation(at=NOW, source="test", request_rate=Sample(20.0, NOW - age), ready_replicas=Sample(3.0, NOW))
    state = PolicyState.initial(3, Precision.BF16)
    decision, _ = controller.decide(spec, obs, state, NOW)
    return any("request rate missing" in reason for reason in decision.reasons)


def test_the_setting_bounds_the_policy_and_the_scrape(api: KubernetesApi) -> None:
    strict = build_controller(Settings.from_env({"GOVERNOR_METRICS_STALE_SECONDS": "30"}), api)
    default = build_controller(Settings(), api)
    assert _holds_for_missing_rate(strict, age=45.0)
    assert not _holds_for_missing_rate(default, age=45.0)  # 60 s by default, as the policy was tuned
    assert _holds_for_missing_rate(default, age=75.0)
    assert isinstance(strict.metrics_source, ScrapeSource) and isinstance(default.metrics_source, ScrapeSource)
    assert (strict.metrics_source.max_age, default.metrics_source.max_age) == (30.0, 60.0)
