"""The receivers registry: load, no-op reload, rotation, bad config kept out, missing Secrets reported."""

from __future__ import annotations

import logging

import pytest

from governor.alerting import ReceiverRegistry
from governor.alerting.config import CONFIG_KEY
from tests.integration.alerting.helpers import CM, NS, ROUTING_KEY, SECRETS, reader

YAML = """
receivers:
  - name: pager
    kind: pagerduty
    namespaces: ["*"]
    routing_key: {secret: pd, key: routing-key}
  - name: hook
    kind: webhook
    namespaces: ["*"]
    url: http://127.0.0.1:9/hook
    hmac_key: {secret: hook, key: key}
"""


async def test_load_and_resolve_secrets() -> None:
    registry = ReceiverRegistry(reader(YAML), NS, CM)
    assert await registry.reload()
    pager = registry.receiver("pager")
    assert pager is not None and pager.routing_key is not None
    assert pager.routing_key.reveal() == ROUTING_KEY
    assert ROUTING_KEY not in repr(pager)
    assert registry.generation == 1 and registry.error is None


async def test_reload_without_change_is_a_no_op_and_rotation_is_picked_up() -> None:
    source = reader(YAML)
    registry = ReceiverRegistry(source, NS, CM)
    await registry.reload()
    assert not await registry.reload()
    source.secrets[(NS, "pd")] = {"routing-key": "rotated-key-value"}
    assert await registry.reload()
    pager = registry.receiver("pager")
    assert pager is not None and pager.routing_key is not None and pager.routing_key.reveal() == "rotated-key-value"
    assert registry.generation == 2


async def test_a_bad_configmap_keeps_the_last_good_one(caplog: pytest.LogCaptureFixture) -> None:
    source = reader(YAML)
    registry = ReceiverRegistry(source, NS, CM)
    await registry.reload()
    source.configmaps[(NS, CM)] = {CONFIG_KEY: "receivers: [{name: pager, kind: carrier-pigeon}]"}
    with caplog.at_level(logging.ERROR):
        assert not await registry.reload()
    assert registry.receiver("pager") is not None
    assert registry.error is not None and "receivers[0].kind" in registry.error
    assert "receivers[0].kind" in caplog.text


async def test_missing_secret_makes_the_receiver_unusable_and_says_which() -> None:
    source = reader(YAML)
    del source.secrets[(NS, "hook")]
    registry = ReceiverRegistry(source, NS, CM)
    await registry.reload()
    assert registry.receiver("hook") is None and registry.receiver("pager") is not None
    assert registry.error is not None and "secret hook/key" in registry.error
    assert not any(s in registry.error for s in SECRETS)


async def test_missing_configmap_means_no_receivers() -> None:
    registry = ReceiverRegistry(reader(YAML), NS, "absent")
    await registry.reload()
    assert registry.receiver("pager") is None
    assert registry.error is not None and "not found" in registry.error
