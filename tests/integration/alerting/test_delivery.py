"""Delivery to local Slack / PagerDuty / webhook receivers with scripted answers and outages."""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time

import pytest
from prometheus_client import CollectorRegistry

from governor.alerting import Notifier, verify_signature
from governor.alerting.pacing import backoff_delay
from governor.alerting.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from governor.alerting.types import Event
from tests.integration.alerting.helpers import BEARER, HMAC_KEY, ROUTING_KEY, note, notifier, registry_for
from tests.support.receivers import Received, running_receiver

pytestmark = pytest.mark.timeout(60)


def config(slack: str = "http://127.0.0.1:9/", pd: str = "http://127.0.0.1:9/", hook: str = "http://127.0.0.1:9/",
           extra: str = "") -> str:  # fmt: skip
    return f"""
receivers:
  - name: slack
    kind: slack
    namespaces: ["*"]
    url: {{secret: slack, key: url}}
    group_wait: 0s
  - name: pager
    kind: pagerduty
    namespaces: ["*"]
    url: {pd}enqueue
    routing_key: {{secret: pd, key: routing-key}}
    {extra}
  - name: hook
    kind: webhook
    namespaces: ["*"]
    url: {hook}hook
    hmac_key: {{secret: hook, key: key}}
    bearer_token: {{secret: hook, key: token}}
    group_wait: 0s
    group_by: ['...']
    rate_limit: {{per_second: 100, burst: 20}}
"""


def counter(metrics: object, name: str, **labels: str) -> float:
    value = metrics.get_sample_value(name, labels)  # type: ignore[attr-defined]
    return 0.0 if value is None else float(value)


async def test_slack_message_delivered_and_400_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    with running_receiver("slack") as slack:
        registry = await registry_for(config(), slack_url=slack.url)
        sender, metrics = notifier(registry)
        await sender.start()
        try:
            sender.submit([note(registry, "slack", "chat")])
            (got,) = await slack.wait_for(lambda r: len(r) == 1)
            assert "RolloutFailed" in got.json["text"] and got.json["blocks"]
            slack.script(400)
            with caplog.at_level(logging.ERROR):
                sender.submit([note(registry, "slack", "other")])
                async with asyncio.timeout(10):
                    await sender.wait_idle()
            await asyncio.sleep(0.3)
            assert [r.status for r in slack.received()] == [200, 400]  # the 400 was not retried
            assert "rejected" in caplog.text
            assert counter(metrics, "governor_alert_notifications_total", receiver="slack", outcome="rejected") == 1
        finally:
            await sender.stop()


async def test_pagerduty_trigger_resolve_share_dedup_key_and_429_honours_retry_after() -> None:
    with running_receiver("pagerduty") as pd:
        registry = await registry_for(config(pd=pd.url))
        sender, _ = notifier(registry)
        await sender.start()
        try:
            pd.script((429, {"Retry-After": "1"}), 503)
            sender.submit([note(registry, "pager", "chat")])
            await pd.wait_for(lambda r: len(r) == 1)
            statuses = [r.status for r in pd.received()]
            assert statuses == [429, 503, 202]
            first, after_429 = pd.received()[0], pd.received()[1]
            assert after_429.at - first.at >= 0.9  # waited for Retry-After, not the 50 ms backoff
            sender.submit([note(registry, "pager", "chat", event=Event.RESOLVED, seq=2)])
            trigger, resolve = await pd.wait_for(lambda r: len(r) == 2)
            assert trigger.json["event_action"] == "trigger" and resolve.json["event_action"] == "resolve"
            assert trigger.json["dedup_key"] == resolve.json["dedup_key"]
            assert trigger.json["routing_key"] == ROUTING_KEY
            assert trigger.json["payload"]["severity"] == "critical"
        finally:
            await sender.stop()


async def test_webhook_is_signed_and_authorised() -> None:
    with running_receiver("webhook") as hook:
        registry = await registry_for(config(hook=hook.url))
        sender, _ = notifier(registry)
        await sender.start()
        try:
            sender.submit([note(registry, "hook", "chat")])
            (got,) = await hook.wait_for(lambda r: len(r) == 1)
            assert verify_signature(HMAC_KEY, got.headers[TIMESTAMP_HEADER], got.body, got.headers[SIGNATURE_HEADER],
                                    time.time())  # fmt: skip
            assert not verify_signature("wrong", got.headers[TIMESTAMP_HEADER], got.body,
                                        got.headers[SIGNATURE_HEADER], time.time())  # fmt: skip
            assert got.headers["Authorization"] == f"Bearer {BEARER}"
            assert got.json["version"] == "4" and got.json["alerts"][0]["labels"]["service"] == "chat"
        finally:
            await sender.stop()


def keys(requests: list[Received]) -> collections.Counter[tuple[str, str]]:
    """(fingerprint, status) of every alert in every webhook payload."""
    return collections.Counter((a["fingerprint"], a["status"]) for r in requests for a in r.json["alerts"])


async def test_outage_delays_but_every_alert_arrives_once_per_dedup_key() -> None:
    with running_receiver("webhook") as hook:
        registry = await registry_for(config(hook=hook.url))
        sender, metrics = notifier(registry)
        await sender.start()
        try:
            services = [f"svc-{i}" for i in range(20)]
            hook.go_down()
            for _ in range(3):  # the engine offers what is owed again on every tick
                sender.submit([note(registry, "hook", s) for s in services])
                await asyncio.sleep(0.3)
            sender.submit([note(registry, "hook", s, event=Event.RESOLVED, seq=2) for s in services[:5]])
            assert hook.accepted() == []
            assert counter(metrics, "governor_alert_notifications_total", receiver="hook", outcome="retry") >= 2
            hook.come_up()
            await hook.wait_for(lambda r: sum(keys(r).values()) >= 20, within=30)
            sender.submit([note(registry, "hook", s) for s in services])  # offered again after delivery: ignored
            sender.submit([note(registry, "hook", s, event=Event.RESOLVED, seq=2) for s in services[5:]])
            await hook.wait_for(lambda r: sum(keys(r).values()) >= 35, within=30)
            await asyncio.sleep(0.3)
            got = keys(hook.accepted())
            # While down, the resolve of the first five superseded their queued firing.
            assert all(n == 1 for n in got.values()), got
            assert sum(1 for _, status in got if status == "resolved") == 20
            assert sum(1 for _, status in got if status == "firing") == 15
        finally:
            await sender.stop()


RETRY_CAP = 5.0  # docs/alerting.md: at most 5 s between attempts while notifications wait


async def test_first_delivery_after_an_outage_comes_within_the_retry_cap() -> None:
    """A long outage: attempts back off exponentially up to the cap, and recovery is noticed within it."""
    with running_receiver("webhook") as hook:
        registry = await registry_for(config(hook=hook.url))
        metrics = CollectorRegistry()
        # The default cap; base 0.5 s, so that the former 300 s cap let the wait grow to 16 s within
        # this 17 s outage (first delivery 14.5 s after recovery); and the largest jitter draw, so
        # every wait is the longest the design allows.
        sender = Notifier(registry, registry=metrics, base_delay=0.5, draw=lambda: 1.0)
        hook.go_down()
        await sender.start()
        try:
            services = [f"svc-{i}" for i in range(3)]
            sender.submit([note(registry, "hook", s) for s in services])
            attempts: list[float] = []  # when each failed attempt was counted (polled every 20 ms)
            start = time.monotonic()
            while time.monotonic() - start < 17.0:
                failed = counter(metrics, "governor_alert_notifications_total", receiver="hook", outcome="retry")
                attempts += [time.monotonic()] * (int(failed) - len(attempts))  # one alert per request here
                await asyncio.sleep(0.02)
            hook.come_up()
            back = time.time()
            first, *_ = await hook.wait_for(lambda r: len(r) >= 1, within=40)
            waited = first.at - back
            gaps = [b - a for a, b in itertools.pairwise(attempts)]
            assert waited <= RETRY_CAP + 1.0, f"first delivery {waited:.1f}s after the receiver came back"
            # While down: never faster than the backoff, never slower than the cap.
            for attempt, gap in enumerate(gaps, start=1):
                assert gap >= backoff_delay(attempt, 0.5, RETRY_CAP, 1.0) - 0.1, gaps
            assert max(gaps) <= RETRY_CAP + 0.5, gaps
            assert len(attempts) <= 7, gaps  # 0, 0.5, 1.5, 3.5, 7.5, 12.5, (17.5)
            await hook.wait_for(lambda r: sum(keys(r).values()) >= 3)
            await asyncio.sleep(0.3)
            got = keys(hook.accepted())
            assert len(got) == 3 and all(n == 1 and status == "firing" for (_, status), n in got.items()), got
        finally:
            await sender.stop()


async def test_queue_bound_refuses_counts_and_logs_then_nothing_is_lost(caplog: pytest.LogCaptureFixture) -> None:
    with running_receiver("webhook") as hook:
        registry = await registry_for(config(hook=hook.url))
        sender, metrics = notifier(registry, queue_limit=5)
        await sender.start()
        try:
            hook.go_down()
            services = [f"svc-{i}" for i in range(10)]
            with caplog.at_level(logging.WARNING):
                accepted = sender.submit([note(registry, "hook", s) for s in services])
            assert accepted == 5 and sender.queued == 5
            assert counter(metrics, "governor_alert_queue_dropped_total", receiver="hook") == 5
            assert "queue full" in caplog.text
            hook.come_up()
            await hook.wait_for(lambda r: sum(keys(r).values()) >= 5, within=30)
            sender.submit([note(registry, "hook", s) for s in services])  # the next tick offers the rest
            await hook.wait_for(lambda r: sum(keys(r).values()) >= 10, within=30)
            await asyncio.sleep(0.2)
            assert all(n == 1 for n in keys(hook.accepted()).values())
        finally:
            await sender.stop()


async def test_per_receiver_rate_limit_paces_requests() -> None:
    with running_receiver("pagerduty") as pd:
        registry = await registry_for(config(pd=pd.url, extra="rate_limit: {per_second: 5, burst: 1}"))
        sender, _ = notifier(registry)
        await sender.start()
        try:
            sender.submit([note(registry, "pager", f"svc-{i}") for i in range(6)])
            got = await pd.wait_for(lambda r: len(r) == 6)
            assert got[-1].at - got[0].at >= 0.8  # 5 intervals at 5/s
        finally:
            await sender.stop()
