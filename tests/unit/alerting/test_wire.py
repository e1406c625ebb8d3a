"""Pure wire details: payload shapes, signatures, answer classification, backoff and rate limits."""

from __future__ import annotations

import email.utils
import json

import pytest

from governor.alerting.loader import ResolvedReceiver
from governor.alerting.pacing import TokenBucket, backoff_delay
from governor.alerting.payloads import alertmanager_alerts, pagerduty_event, slack_message, webhook_v4
from governor.alerting.secrets import Secret, scrub
from governor.alerting.senders import DeliveryOutcome, build_request, classify, parse_retry_after
from governor.alerting.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify_signature
from governor.alerting.types import Event, Notification, Severity, frozen_labels, parse_rfc3339, rfc3339
from tests.unit.alerting.factories import config

NOW = 1_700_000_000.0


def note(event: Event = Event.FIRING, severity: Severity = Severity.CRITICAL, seq: int = 1) -> Notification:
    labels = {"alertname": "GPUSaturated", "namespace": "ml", "service": "chat", "severity": severity.value}
    return Notification("r", "abcd", seq, 0, event, frozen_labels(labels), frozen_labels({"summary": "hot"}),
                        severity, NOW - 60, NOW if event == Event.RESOLVED else None, "g")  # fmt: skip


def test_rfc3339_round_trip() -> None:
    assert parse_rfc3339(rfc3339(NOW + 0.123)) == pytest.approx(NOW + 0.123, abs=1e-3)
    assert rfc3339(0.0) == "1970-01-01T00:00:00.000Z"


def test_alertmanager_alert_ends_in_the_future_while_firing_and_at_resolve_after() -> None:
    firing, resolved = alertmanager_alerts([note(), note(Event.RESOLVED, seq=2)], NOW, ttl=240.0)
    assert parse_rfc3339(firing["endsAt"]) == pytest.approx(NOW + 240.0)
    assert parse_rfc3339(resolved["endsAt"]) == pytest.approx(NOW)
    assert firing["labels"]["alertname"] == "GPUSaturated"


def test_webhook_payload_is_alertmanager_version_4() -> None:
    body = webhook_v4("hook", [note(), note(Event.RESOLVED)], ("namespace", "service"))
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "hook"
    assert body["groupLabels"] == {"namespace": "ml", "service": "chat"}
    assert body["commonLabels"]["alertname"] == "GPUSaturated"
    assert [a["status"] for a in body["alerts"]] == ["firing", "resolved"]
    assert webhook_v4("hook", [note(Event.RESOLVED)], ())["status"] == "resolved"


def test_slack_message_has_text_and_blocks() -> None:
    msg = slack_message([note(), note(Event.RESOLVED)])
    assert "GPUSaturated" in msg["text"] and "RESOLVED" in msg["text"]
    assert len(msg["blocks"]) == 2 and msg["blocks"][0]["type"] == "section"


@pytest.mark.parametrize("severity", list(Severity))
def test_pagerduty_trigger_and_resolve_share_a_dedup_key(severity: Severity) -> None:
    trigger = pagerduty_event(note(severity=severity), "RK", NOW)
    resolve = pagerduty_event(note(Event.RESOLVED, severity=severity, seq=2), "RK", NOW)
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"] == "governor-abcd"
    assert trigger["payload"]["severity"] == severity.value
    assert trigger["routing_key"] == "RK" and "payload" not in resolve


def test_signature_verifies_and_rejects_tampering_and_replay() -> None:
    body = b'{"a":1}'
    ts = str(int(NOW))
    sig = sign("key", ts, body)
    assert sig.startswith("sha256=")
    assert verify_signature("key", ts, body, sig, NOW + 10)
    assert not verify_signature("key", ts, body + b" ", sig, NOW)
    assert not verify_signature("other", ts, body, sig, NOW)
    assert not verify_signature("key", ts, body, sig, NOW + 301)
    assert not verify_signature("key", None, body, sig, NOW)
    assert not verify_signature("key", "abc", body, sig, NOW)


def test_webhook_request_is_signed_over_its_exact_body() -> None:
    cfg = config()
    hook = ResolvedReceiver(cfg.receivers["hook"], Secret("http://127.0.0.1:1/hook"), hmac_key=Secret("s3cret-key"))
    url, body, headers = build_request(hook, [note()], NOW)
    assert url == "http://127.0.0.1:1/hook"
    assert verify_signature("s3cret-key", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], NOW)
    assert json.loads(body)["version"] == "4"


@pytest.mark.parametrize(
    ("status", "retry_after", "outcome", "delay"),
    [
        (200, None, DeliveryOutcome.DELIVERED, None),
        (202, None, DeliveryOutcome.DELIVERED, None),
        (400, None, DeliveryOutcome.REJECTED, None),
        (403, None, DeliveryOutcome.REJECTED, None),
        (404, None, DeliveryOutcome.REJECTED, None),
        (408, None, DeliveryOutcome.RETRY, None),
        (429, "7", DeliveryOutcome.RETRY, 7.0),
        (429, None, DeliveryOutcome.RETRY, None),
        (500, None, DeliveryOutcome.RETRY, None),
        (503, "2", DeliveryOutcome.RETRY, 2.0),
    ],
)
def test_classify(status: int, retry_after: str | None, outcome: DeliveryOutcome, delay: float | None) -> None:
    result = classify(status, retry_after, NOW)
    assert result.outcome == outcome and result.retry_after == delay


def test_retry_after_as_http_date_and_garbage() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after(date, NOW) == pytest.approx(30.0, abs=1.0)
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("999999", NOW) == 3600.0


@pytest.mark.parametrize(
    ("attempt", "draw", "expected"),
    [(1, 0.0, 0.5), (1, 1.0, 1.0), (2, 0.0, 1.0), (3, 0.5, 3.0), (4, 1.0, 8.0), (20, 0.0, 30.0), (20, 1.0, 60.0)],
)
def test_backoff_grows_exponentially_with_bounded_jitter(attempt: int, draw: float, expected: float) -> None:
    assert backoff_delay(attempt, base=1.0, cap=60.0, draw=draw) == pytest.approx(expected)


def test_token_bucket_allows_a_burst_then_paces() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    for _ in range(3):
        assert bucket.wait_time(0.0) == 0.0
        bucket.take(0.0)
    assert bucket.wait_time(0.0) == pytest.approx(0.5)
    assert bucket.wait_time(0.5) == 0.0


def test_secret_never_prints() -> None:
    s = Secret("hunter2-routing-key")
    assert "hunter2" not in f"{s} {s!r} {[s]} {s:>30}"
    assert s.reveal() == "hunter2-routing-key"
    assert scrub("POST https://x/hunter2-routing-key failed", [s]) == "POST https://x/*** failed"
