"""Round trips through a real Alertmanager: Governor pushes, Alertmanager notifies a local webhook."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from governor.alerting import AlertEngine
from governor.alerting.rules import AlertContext
from tests.integration.alerting.helpers import notifier, registry_for
from tests.support.alertmanager import RunningAlertmanager
from tests.unit.alerting.factories import decision, observation, spec

pytestmark = pytest.mark.timeout(90)
FAILED = AlertContext(rollout_failed=True, rollout_message="fp8 variant not ready in time: rolled back")


def payloads_for(am: RunningAlertmanager, service: str, status: str) -> list[dict[str, object]]:
    return [
        r.json
        for r in am.hook.accepted()
        if r.json["status"] == status and r.json["commonLabels"].get("service") == service
    ]


async def test_firing_and_resolved_round_trip(alertmanager: RunningAlertmanager) -> None:
    registry = await registry_for(
        f"receivers: [{{name: am, kind: alertmanager, url: '{alertmanager.url}', namespaces: ['*']}}]"
    )
    sender, _ = notifier(registry)
    engine = AlertEngine(registry, sender)
    service = f"am-{int(time.time() * 1000) % 100000}"
    s = spec(receivers=("am",), name=service)
    await sender.start()
    try:
        now = time.time()
        result = engine.evaluate(s, observation(now), decision(now), FAILED, prior_status=None, now=now)
        assert [r.rule for r in result.firing] == ["RolloutFailed"]
        await alertmanager.hook.wait_for(lambda _: bool(payloads_for(alertmanager, service, "firing")), within=20)
        (firing,) = payloads_for(alertmanager, service, "firing")
        assert firing["version"] == "4"
        (alert,) = firing["alerts"]  # type: ignore[misc]
        assert alert["labels"]["alertname"] == "RolloutFailed" and alert["labels"]["namespace"] == "ml"
        assert "rolled back" in alert["annotations"]["summary"]

        async with asyncio.timeout(10):
            await sender.wait_idle()
        now = time.time()
        status = engine.evaluate(s, observation(now), decision(now), FAILED, result.status, now).status
        assert status[0]["delivered"]["am"]["seq"] == 1  # acknowledged into the CR status
        now = time.time()
        result = engine.evaluate(s, observation(now), decision(now), AlertContext(), status, now)
        assert [t.event for t in result.transitions] == ["resolved"]
        await alertmanager.hook.wait_for(lambda _: bool(payloads_for(alertmanager, service, "resolved")), within=20)
        (resolved,) = payloads_for(alertmanager, service, "resolved")
        assert resolved["alerts"][0]["labels"]["alertname"] == "RolloutFailed"  # type: ignore[index]
    finally:
        await sender.stop()


async def test_alertmanager_receives_repeats_while_firing(alertmanager: RunningAlertmanager) -> None:
    yaml = (
        f"receivers: [{{name: am, kind: alertmanager, url: '{alertmanager.url}', repeat_interval: 1s, "
        "namespaces: ['*']}]"
    )
    registry = await registry_for(yaml)
    sender, metrics = notifier(registry)
    engine = AlertEngine(registry, sender)
    s = spec(receivers=("am",), name=f"rep-{int(time.time() * 1000) % 100000}")
    await sender.start()
    try:
        status = None
        for _ in range(4):
            now = time.time()
            status = engine.evaluate(s, observation(now), decision(now), FAILED, status, now).status
            await asyncio.sleep(0.6)
        async with asyncio.timeout(10):
            await sender.wait_idle()
        sent = metrics.get_sample_value(
            "governor_alert_notifications_total", {"receiver": "am", "outcome": "delivered"}
        )
        assert sent is not None and sent >= 2  # the alert was re-sent to keep it alive in Alertmanager
        alerts = await _am_alerts(alertmanager.url)
        assert any(a["labels"].get("service") == s.name and a["status"]["state"] == "active" for a in alerts)
    finally:
        await sender.stop()


async def _am_alerts(url: str) -> list[dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url + "/api/v2/alerts") as resp:
        assert resp.status == 200
        return list(await resp.json())


async def test_alert_in_alertmanager_carries_source_runbook_and_cluster(alertmanager: RunningAlertmanager) -> None:
    console = "https://console.example/k8s/ns/{namespace}/governor.dev~v1alpha1~InferenceService/{service}"
    yaml = (
        f"receivers: [{{name: am, kind: alertmanager, url: '{alertmanager.url}', namespaces: ['*']}}]\n"
        f"cluster: prod-eu-1\ngenerator_url: '{console}'\n"
    )
    registry = await registry_for(yaml)
    sender, _ = notifier(registry)
    engine = AlertEngine(registry, sender)
    s = spec(receivers=("am",), name=f"links-{int(time.time() * 1000) % 100000}")
    await sender.start()
    try:
        now = time.time()
        engine.evaluate(s, observation(now), decision(now), FAILED, prior_status=None, now=now)
        async with asyncio.timeout(10):
            await sender.wait_idle()
        alerts: list[dict[str, Any]] = await _am_alerts(alertmanager.url)
        (alert,) = [a for a in alerts if a["labels"].get("service") == s.name]
        assert (
            alert["generatorURL"]
            == f"https://console.example/k8s/ns/ml/governor.dev~v1alpha1~InferenceService/{s.name}"
        )
        assert alert["labels"]["cluster"] == "prod-eu-1"
        runbook = "https://github.com/inference-governor/governor/blob/main/docs/alerting.md#rolloutfailed"
        assert alert["annotations"]["runbook_url"] == runbook
        await alertmanager.hook.wait_for(lambda _: bool(payloads_for(alertmanager, s.name, "firing")), within=20)
        firing: dict[str, Any] = payloads_for(alertmanager, s.name, "firing")[0]
        (forwarded,) = firing["alerts"]
        assert forwarded["generatorURL"] == alert["generatorURL"]  # Alertmanager passes it on to its receivers
        assert forwarded["labels"]["cluster"] == "prod-eu-1"
    finally:
        await sender.stop()
