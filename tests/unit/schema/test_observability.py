"""Governor's own dashboard and health alerts are complete: every alert says how long, how bad, what
and where its runbook is (a heading of docs/operator.md), and the dashboard has its rows, its
variables and no panel that ignores them. tests/integration/observability runs their queries."""

from __future__ import annotations

import json
import re
from typing import Any

from .conftest import ROOT, documents

DASHBOARD = ROOT / "manifests" / "grafana" / "governor-dashboard.json"
RULES = ROOT / "manifests" / "prometheus-operator" / "operator-rules.yaml"
PODMONITOR = ROOT / "manifests" / "prometheus-operator" / "podmonitor" / "operator-podmonitor.yaml"
SERVICEMONITOR = ROOT / "manifests" / "prometheus-operator" / "operator-servicemonitor.yaml"
DOCS = ROOT / "docs" / "operator.md"
DOCS_URL = "https://github.com/inference-governor/governor/blob/main/docs/operator.md#"
ROWS = ["Fleet overview", "SLO", "Scaling decisions", "Alerts", "Operator health", "Metrics collection"]


def _alerts() -> list[dict[str, Any]]:
    (rule,) = documents(RULES)
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def _anchors() -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    headings = re.findall(r"^#+ (.+)$", DOCS.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _panels() -> list[dict[str, Any]]:
    return list(json.loads(DASHBOARD.read_text())["panels"])


def test_every_alert_has_for_severity_summary_description_and_a_runbook_in_the_docs() -> None:
    anchors = _anchors()
    assert len(_alerts()) >= 10
    for alert in _alerts():
        name = alert["alert"]
        assert alert["for"] and alert["labels"]["severity"] in ("critical", "warning"), name
        assert alert["annotations"]["summary"] and alert["annotations"]["description"], name
        assert alert["annotations"]["runbook_url"] == DOCS_URL + name.lower(), name
        assert name.lower() in anchors, f"docs/operator.md has no heading for {name}"


def test_the_dashboard_has_one_row_per_concern_and_every_panel_its_query() -> None:
    assert [p["title"] for p in _panels() if p["type"] == "row"] == ROWS
    for panel in (p for p in _panels() if p["type"] != "row"):
        assert panel["datasource"]["uid"] == "${datasource}" and panel["description"], panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]


def test_per_service_queries_follow_the_namespace_and_service_variables() -> None:
    variables = {v["name"] for v in json.loads(DASHBOARD.read_text())["templating"]["list"]}
    assert {"datasource", "namespace", "service"} <= variables
    for panel in (p for p in _panels() if p["type"] != "row"):
        for target in panel["targets"]:
            if "governor_service_" in target["expr"]:
                assert 'namespace=~"$namespace", service=~"$service"' in target["expr"], panel["title"]


def test_both_monitors_keep_the_inferenceservice_labels() -> None:
    # Without honorLabels the target's own namespace/service labels rename governor_service_*'s to exported_*.
    (service_monitor,) = documents(SERVICEMONITOR)
    (pod_monitor,) = documents(PODMONITOR)
    assert all(e["honorLabels"] for e in service_monitor["spec"]["endpoints"])
    assert all(e["honorLabels"] for e in pod_monitor["spec"]["podMetricsEndpoints"])
    assert pod_monitor["spec"]["selector"] == service_monitor["spec"]["selector"]
