"""What an alert carries for an SRE: escaped Slack text, runbook and source links, the cluster label."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from governor.alerting import AlertEngine, ConfigError, parse_config
from governor.alerting.links import DEFAULT_RUNBOOK_URL, AlertLinks, template_problem
from governor.alerting.payloads import alertmanager_alerts, pagerduty_event, slack_message, webhook_v4
from governor.alerting.rules import RULES, AlertContext
from governor.alerting.types import Event, Notification, Severity, frozen_labels
from tests.unit.alerting.factories import CONFIG_YAML, RecordingSink, StaticCatalog, decision, observation, spec

NOW = 1_700_000_000.0
HOSTILE = (
    "<!channel>",
    "<!here|here>",
    "<@U024BE7LH>",
    "<https://evil.example|click>",
    "&lt;!channel&gt;",
    "a `b` <c> & d",
)
LINKS = """
cluster: prod-eu-1
generator_url: https://console.example/k8s/ns/{namespace}/governor.dev~v1alpha1~InferenceService/{service}?alert={alertname}
runbook_url: https://runbooks.example/governor/{rule}
"""


def note(labels: dict[str, str], summary: str, *, runbook: str = "", generator: str = "") -> Notification:
    annotations = {"summary": summary, **({"runbook_url": runbook} if runbook else {})}
    return Notification("r", "abcd", 1, 0, Event.FIRING, frozen_labels(labels), frozen_labels(annotations),
                        Severity.CRITICAL, NOW - 60, None, "g", generator)  # fmt: skip


def _links_and_mentions(text: str) -> list[str]:
    """Every ``<...>`` Slack would parse: a mention, a channel, a special command or a link."""
    return re.findall(r"<[^<>]*>", text)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_slack_text_never_turns_a_value_into_a_mention_or_a_link(hostile: str) -> None:
    labels = {"alertname": hostile, "namespace": hostile, "service": hostile, "cluster": hostile}
    msg = slack_message([note(labels, f"summary {hostile}", runbook="https://runbooks.example/r?a=1&b=2")])
    for text in [msg["text"], *(b["text"]["text"] for b in msg["blocks"])]:
        assert _links_and_mentions(text) == ["<https://runbooks.example/r?a=1&amp;b=2|runbook>"]
        assert "<!" not in text and "<@" not in text and "<https://evil" not in text
    assert msg["unfurl_links"] is False and msg["unfurl_media"] is False


def test_slack_escapes_exactly_the_three_control_characters() -> None:
    msg = slack_message([note({"alertname": "A", "namespace": "ml", "service": "chat"}, "p99 > 300 ms & <rising>")])
    assert "p99 &gt; 300 ms &amp; &lt;rising&gt;" in msg["text"]
    assert "`ml/chat`" in msg["text"]


def test_slack_code_span_cannot_be_closed_by_a_value() -> None:
    msg = slack_message([note({"alertname": "A", "namespace": "ml`*bold*`", "service": "chat"}, "s")])
    assert msg["text"].count("`") == 2


def test_slack_links_only_a_safe_runbook_url() -> None:
    msg = slack_message([note({"alertname": "A"}, "s", runbook="javascript:alert(1)|x>")])
    assert _links_and_mentions(msg["text"]) == []
    assert "javascript" not in msg["text"]


def test_alertmanager_alert_carries_its_generator_url_when_valid() -> None:
    good = note({"alertname": "A"}, "s", generator="https://console.example/ns/ml/svc/chat")
    bad = note({"alertname": "A"}, "s", generator="not a url")
    with_url, without = alertmanager_alerts([good, bad], NOW, ttl=300.0)
    assert with_url["generatorURL"] == "https://console.example/ns/ml/svc/chat"
    assert "generatorURL" not in without  # Alertmanager would refuse the whole request
    assert webhook_v4("hook", [good], ())["alerts"][0]["generatorURL"] == good.generator_url


def test_pagerduty_event_links_runbook_and_source() -> None:
    n = note({"alertname": "A"}, "s", runbook="https://rb.example/a", generator="https://console.example/a")
    assert pagerduty_event(n, "RK", NOW)["links"] == [
        {"href": "https://rb.example/a", "text": "Runbook"},
        {"href": "https://console.example/a", "text": "Source"},
    ]
    same = note({"alertname": "A"}, "s", runbook="https://rb.example/a", generator="https://rb.example/a")
    assert pagerduty_event(same, "RK", NOW)["links"] == [{"href": "https://rb.example/a", "text": "Runbook"}]


def test_links_default_to_the_rules_section_of_the_docs() -> None:
    links = parse_config("").links
    assert links == AlertLinks()
    labels = {"alertname": "SLOErrorBudgetBurn", "namespace": "ml", "service": "chat"}
    url = links.runbook("SLOBurnRatePage", labels)
    assert url == DEFAULT_RUNBOOK_URL.format(rule="sloburnratepage")
    assert links.generator("SLOBurnRatePage", labels) == url  # no generator_url: the runbook is the source link


def test_every_rule_has_a_runbook_section_in_the_docs() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "alerting.md").read_text(encoding="utf-8")
    headings = {line.removeprefix("### ").strip().lower() for line in docs.splitlines() if line.startswith("### ")}
    assert {rule.lower() for rule in RULES} <= headings


def test_templates_render_percent_encoded_values() -> None:
    links = parse_config(LINKS).links
    labels = {"alertname": "A B", "namespace": "ml", "service": "chat/../x", "cluster": "prod-eu-1"}
    url = links.generator("GPUSaturated", labels)
    assert url == "https://console.example/k8s/ns/ml/governor.dev~v1alpha1~InferenceService/chat%2F..%2Fx?alert=A%20B"
    assert links.runbook("GPUSaturated", labels) == "https://runbooks.example/governor/gpusaturated"
    assert urlsplit(url).netloc == "console.example"


@pytest.mark.parametrize(
    ("doc", "path", "fragment"),
    [
        ("cluster: 'prod eu'", "cluster", "label value"),
        ("cluster: 5", "cluster", "label value"),
        ("runbook_url: ftp://x/{rule}", "runbook_url", "http://"),
        ("runbook_url: https://x/{rul}", "runbook_url", "unsupported placeholder {rul}"),
        ("generator_url: https://x/{service!r}", "generator_url", "unsupported placeholder {service!r}"),
        ("generator_url: 'https://x/<b>'", "generator_url", "<>|"),
        ("generator_url: 'https://x/{'", "generator_url", "not a URL template"),
        ("generator_url: [https://x]", "generator_url", "a string"),
    ],
)
def test_bad_links_name_the_field(doc: str, path: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    assert any(e.path == path and fragment in e.message for e in info.value.errors), info.value


def test_a_template_without_placeholders_is_fine() -> None:
    assert template_problem("https://grafana.example/d/governor") is None


def test_engine_adds_cluster_label_runbook_and_source_to_every_alert() -> None:
    catalog = StaticCatalog(parse_config(CONFIG_YAML + LINKS))
    sink = RecordingSink()
    engine = AlertEngine(catalog, sink)
    failed = AlertContext(rollout_failed=True, rollout_message="<!channel> rolled back")
    result = engine.evaluate(spec(receivers=("slack",)), observation(NOW), decision(NOW), failed, now=NOW)
    (record,) = result.firing
    assert record.labels["cluster"] == "prod-eu-1"
    assert record.annotations["runbook_url"] == "https://runbooks.example/governor/rolloutfailed"
    (sent,) = sink.submitted
    assert sent.generator_url.startswith("https://console.example/k8s/ns/ml/")
    assert result.status[0]["labels"]["cluster"] == "prod-eu-1"
    assert "&lt;!channel&gt;" in slack_message([sent])["text"]


def test_without_cluster_no_cluster_label() -> None:
    engine = AlertEngine(StaticCatalog(), RecordingSink())
    failed = AlertContext(rollout_failed=True)
    result = engine.evaluate(spec(receivers=("slack",)), observation(NOW), decision(NOW), failed, now=NOW)
    assert all("cluster" not in r.labels and "runbook_url" in r.annotations for r in result.records)


def test_notifications_take_the_runbook_from_the_configuration_not_from_the_status() -> None:
    catalog = StaticCatalog(parse_config(CONFIG_YAML + LINKS))
    sink = RecordingSink()
    engine = AlertEngine(catalog, sink)
    s = spec(receivers=("slack",))
    failed = AlertContext(rollout_failed=True)
    status = engine.evaluate(s, observation(NOW), decision(NOW), failed, now=NOW).status
    sink.deliver_all(NOW)
    status[0]["annotations"]["runbook_url"] = "https://evil.example/phish"  # a tampered status
    engine.evaluate(s, observation(NOW + 10), decision(NOW + 10), AlertContext(), status, NOW + 10)
    (resolve,) = sink.submitted
    assert resolve.event == Event.RESOLVED
    assert resolve.annotations["runbook_url"] == "https://runbooks.example/governor/rolloutfailed"
