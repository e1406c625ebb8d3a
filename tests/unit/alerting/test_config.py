"""Receivers ConfigMap parsing: a full example, defaults, and every error reported with its path."""

from __future__ import annotations

import pytest

from governor.alerting import ConfigError, ReceiverKind, parse_config
from governor.alerting.config import PAGERDUTY_URL, SecretRef, parse_duration
from governor.alerting.types import Severity

FULL = """
receivers:
  - name: am
    kind: alertmanager
    namespaces: ["*"]
    url: http://alertmanager.monitoring:9093
  - name: oncall-pager
    kind: pagerduty
    namespaces: ["*"]
    routing_key: {secret: pagerduty, key: routing-key}
    match: {severities: [critical]}
  - name: team-slack
    kind: slack
    namespaces: ["*"]
    url: {secret: slack, key: webhook-url}
    match: {severities: [critical, warning], labels: {namespace: ml}}
    group_by: [namespace, service, alertname]
    group_wait: 30s
    repeat_interval: 4h
    rate_limit: {per_second: 1, burst: 3}
  - name: audit-hook
    kind: webhook
    namespaces: ["*"]
    url: https://audit.example/alerts
    hmac_key: {secret: hook, key: key}
    send_resolved: false
default_receivers: [am]
inhibit_rules:
  - source: {severities: [critical]}
    target: {severities: [warning]}
    equal: [namespace, service]
rules:
  gpu_saturation_threshold: 0.95
  gpu_saturation_for: 15m
  precision_degraded_for: 2h
"""


def test_full_example() -> None:
    cfg = parse_config(FULL)
    assert set(cfg.receivers) == {"am", "oncall-pager", "team-slack", "audit-hook"}
    am, pd, slack, hook = (cfg.receivers[n] for n in ("am", "oncall-pager", "team-slack", "audit-hook"))
    assert am.kind == ReceiverKind.ALERTMANAGER and am.repeat_interval == 60.0 and am.group_wait == 0.0
    assert pd.url == PAGERDUTY_URL and pd.routing_key == SecretRef("pagerduty", "routing-key")
    assert pd.match.severities == (Severity.CRITICAL,)
    assert slack.url is None and slack.url_secret == SecretRef("slack", "webhook-url")
    assert (slack.group_wait, slack.repeat_interval, slack.rate_limit.per_second) == (30.0, 14400.0, 1.0)
    assert slack.match.matches({"severity": "warning", "namespace": "ml"})
    assert not slack.match.matches({"severity": "warning", "namespace": "other"})
    assert hook.send_resolved is False and hook.hmac_key == SecretRef("hook", "key")
    assert cfg.default_receivers == ("am",)
    assert cfg.inhibit_rules[0].equal == ("namespace", "service")
    assert cfg.rules.gpu_saturation_threshold == 0.95 and cfg.rules.gpu_saturation_for == 900.0
    assert cfg.rules.precision_degraded_for == 7200.0


def test_empty_document_means_no_receivers() -> None:
    assert dict(parse_config("").receivers) == {} and dict(parse_config(None).receivers) == {}


@pytest.mark.parametrize(
    ("doc", "path", "fragment"),
    [
        ("receivers: [{name: x, kind: email, url: 'http://a'}]", "receivers[0].kind", "must be one of"),
        ("receivers: [{name: x, kind: slack, url: 'https://hooks.slack.com/T/B/X'}]", "receivers[0].url", "credential"),
        ("receivers: [{name: x, kind: pagerduty}]", "receivers[0].routing_key", "required"),
        ("receivers: [{name: x, kind: webhook, url: 'ftp://a'}]", "receivers[0].url", "http"),
        ("receivers: [{name: x, kind: webhook}]", "receivers[0].url", "required"),
        ("receivers: [{name: X_bad, kind: webhook, url: 'http://a'}]", "receivers[0].name", "DNS-1123"),
        (
            "receivers: [{name: x, kind: webhook, url: 'http://a', group_wait: soon}]",
            "receivers[0].group_wait",
            "duration",
        ),
        ("receivers: [{name: x, kind: webhook, url: 'http://a', colour: red}]", "receivers[0].colour", "unknown field"),
        (
            "receivers: [{name: x, kind: alertmanager, url: 'http://a', routing_key: {secret: s, key: k}}]",
            "receivers[0].routing_key",
            "not used",
        ),
        (
            "receivers: [{name: x, kind: webhook, url: 'http://a', match: {severities: [urgent]}}]",
            "receivers[0].match.severities[0]",
            "must be one of",
        ),
        ("default_receivers: [ghost]", "default_receivers[0]", "unknown receiver"),
        ("rules: {gpu_saturation_for: forever}", "rules.gpu_saturation_for", "duration"),
        ("rules: {coffee: 1}", "rules.coffee", "unknown field"),
        ("receivers: {a: 1}", "receivers", "must be a list"),
        ("receivers: [\n  - name: x\n   bad", "line", "not valid YAML"),
    ],
)
def test_errors_name_the_field(doc: str, path: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    assert any(e.path.startswith(path) and fragment in e.message for e in info.value.errors), info.value.errors


def test_all_errors_are_reported_together() -> None:
    doc = "receivers: [{name: a, kind: email}, {name: b, kind: pagerduty}, {name: a, kind: webhook, url: 'http://x'}]"
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    assert len(info.value.errors) >= 2
    assert "receivers[0].kind" in str(info.value) and "receivers[1].routing_key" in str(info.value)


def test_duplicate_names_are_refused() -> None:
    doc = "receivers: [{name: a, kind: webhook, url: 'http://x'}, {name: a, kind: webhook, url: 'http://y'}]"
    with pytest.raises(ConfigError, match="duplicate receiver name"):
        parse_config(doc)


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [(30, 30.0), (1.5, 1.5), ("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("1d", 86400.0), ("250ms", 0.25)],
)
def test_durations(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == pytest.approx(seconds)


@pytest.mark.parametrize("raw", ["", "5 minutes", "-1s", -3, True, "1x"])
def test_bad_durations(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(raw)
