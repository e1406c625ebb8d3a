"""The Grafana dashboard and the operator-health rules against a real Prometheus fed by a real Governor.

Every target of every dashboard panel is run with its template variables set to values that exist
(each query variable resolved against the same Prometheus, all values selected, as Grafana's
"All" does) and must return data; every health rule must pass ``promtool check rules``, load into
Prometheus and evaluate without error, and name only metrics the operator exports.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.integration.observability.conftest import Governed
from tests.support.processes import require_binary
from tests.support.prometheus import query, reload

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "manifests" / "grafana" / "governor-dashboard.json"
RULES = ROOT / "manifests" / "prometheus-operator" / "operator-rules.yaml"
# What Grafana puts in for its built-in interval variables (a 1 s scrape here; 30 s in production).
BUILTINS = {"$__rate_interval": "30s", "$__range": "5m", "$__interval": "15s"}
LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")
METRIC = re.compile(r"\bgovernor_\w+")


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def _targets() -> Iterator[tuple[str, str, str]]:
    """(panel title, refId, expr) of every panel's every target, rows included."""
    for panel in _dashboard()["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []):
                yield inner["title"], target["refId"], target["expr"]


def _rule_groups() -> list[dict[str, Any]]:
    (rule,) = [d for d in yaml.safe_load_all(RULES.read_text()) if d]
    return list(rule["spec"]["groups"])


def _substitute(expr: str, values: Mapping[str, str]) -> str:
    for name in sorted(values, key=len, reverse=True):  # $service before $s…
        expr = expr.replace(name, values[name])
    return expr


def _label_values(base_url: str, selector: str | None, label: str) -> list[str]:
    params = {"match[]": selector} if selector else {}
    url = f"{base_url}/api/v1/label/{label}/values?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        return list(json.load(resp)["data"])


def _variables(base_url: str) -> dict[str, str]:
    """Each query variable resolved in order, as a regex of all its values (Grafana's multi-value format)."""
    values = dict(BUILTINS)
    for var in _dashboard()["templating"]["list"]:
        if var["type"] != "query":
            continue
        match = LABEL_VALUES.match(_substitute(var["query"]["query"], values))
        assert match, f"${var['name']}: not a label_values() query: {var['query']['query']}"
        found = _label_values(base_url, match["selector"], match["label"])
        assert found, f"${var['name']} has no values: {var['query']['query']}"
        values["$" + var["name"]] = "(" + "|".join(re.escape(v) for v in found) + ")"
    return values


def test_template_variables_resolve_to_the_governed_services(governed: Governed) -> None:
    values = _variables(governed.prometheus_url)
    assert values["$namespace"] == "(ml)" and values["$service"] == "(chat|search)"


def test_every_dashboard_panel_returns_data(governed: Governed) -> None:
    values = _variables(governed.prometheus_url)
    targets = [(title, ref, _substitute(expr, values)) for title, ref, expr in _targets()]
    assert len(targets) >= 20
    deadline = time.monotonic() + 20
    while True:
        empty = [(title, ref, expr) for title, ref, expr in targets if not query(governed.prometheus_url, expr)]
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not empty, "panels without data:\n" + "\n".join(f"  {t} [{r}]: {e}" for t, r, e in empty)


def test_promtool_accepts_the_health_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": _rule_groups()}))
    result = subprocess.run(
        [require_binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = sum(1 for g in _rule_groups() for r in g["rules"] if "alert" in r)
    assert f"SUCCESS: {alerts} rules found" in result.stdout


def test_every_health_rule_evaluates_on_the_operators_series(governed: Governed) -> None:
    exported = set(_label_values(governed.prometheus_url, None, "__name__"))
    for group in _rule_groups():
        for rule in group["rules"]:
            query(governed.prometheus_url, rule["expr"])  # HTTP 400 on a parse or evaluation error
            unknown = {m for m in METRIC.findall(rule["expr"]) if m not in exported}
            assert not unknown, f"{rule['alert']} names metrics the operator does not export: {unknown}"


def test_prometheus_loads_and_runs_the_health_rules(governed: Governed) -> None:
    path = governed.workdir / "operator-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{**g, "interval": "1s"} for g in _rule_groups()]}))
    config = governed.workdir / "prometheus.yml"
    loaded = yaml.safe_load(config.read_text())
    loaded["rule_files"] = [str(path)]
    config.write_text(yaml.safe_dump(loaded))
    reload(governed.prometheus_url)

    def evaluated() -> list[dict[str, Any]] | None:
        with urllib.request.urlopen(governed.prometheus_url + "/api/v1/rules", timeout=30) as resp:
            rules = [r for g in json.load(resp)["data"]["groups"] for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").startswith("2") for r in rules) else None

    deadline = time.monotonic() + 15
    while (rules := evaluated()) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert rules is not None, "the rules were not evaluated"
    names = {r["name"] for r in rules}
    assert names == {r["alert"] for g in _rule_groups() for r in g["rules"]}
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]
