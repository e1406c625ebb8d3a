"""GPU series count only when the exporter the administrator named produced them.

DCGM series are selected by ``GOVERNOR_PROMETHEUS_DCGM_SELECTOR`` (default: the dcgm-exporter
chart's and the GPU Operator's job) and pods join services only through the
``kube_pod_labels`` of ``GOVERNOR_PROMETHEUS_POD_LABELS_SELECTOR`` (kube-state-metrics), in the
live queries and in the recording rules alike; a selector that is not a plain list of label
matchers is refused.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import promql_parser
import pytest

from governor.metrics.build import build_source
from governor.metrics.fallback import FallbackSource
from governor.metrics.prometheus import PrometheusSource
from governor.metrics.queries import DEFAULT_DCGM_SELECTOR, DEFAULT_POD_LABELS_SELECTOR, QueryBuilder
from governor.metrics.rules import rules_file
from governor.metrics.rules_entry import add_arguments, render
from governor.model import ServiceKey
from governor.model.promql import UnsafeQuery, walk
from governor.settings import PrometheusSettings, Settings, SettingsError

Matcher = tuple[str, str, str]  # (label, op, value)
OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


class NoPods:
    async def ready_pod_ips(self, key: ServiceKey) -> Sequence[str]:
        return ()


def selectors(expr: str) -> dict[str, list[set[Matcher]]]:
    """Every series selector of ``expr``: metric name → the matcher sets it is read with."""
    out: dict[str, list[set[Matcher]]] = {}
    for node in walk(promql_parser.parse(expr)):
        if isinstance(node, promql_parser.VectorSelector):
            matchers = {(m.name, OPS[str(m.op)], m.value) for m in node.matchers.matchers}
            out.setdefault(node.name, []).append(matchers)
    return out


def test_dcgm_series_and_pod_labels_come_from_their_exporters_only() -> None:
    found = selectors(QueryBuilder().gpu("dcgm") or "")
    assert set(found) == {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "kube_pod_labels"}
    exporter = ("job", "=~", "dcgm-exporter|nvidia-dcgm-exporter")
    assert all(exporter in matchers for name, sets in found.items() if name != "kube_pod_labels" for matchers in sets)
    assert all(("job", "=", "kube-state-metrics") in matchers for matchers in found["kube_pod_labels"])


def test_the_administrators_selectors_are_used_verbatim() -> None:
    builder = QueryBuilder(
        dcgm_selector='namespace="gpu-operator", container =~ "nvidia-dcgm-exporter|dcgm"',
        pod_labels_selector='job="ksm",namespace!="kube-system"',
    )
    found = selectors(builder.gpu("dcgm") or "")
    dcgm = {("namespace", "=", "gpu-operator"), ("container", "=~", "nvidia-dcgm-exporter|dcgm")}
    assert all(dcgm <= m for name, sets in found.items() if name.startswith("DCGM_") for m in sets)
    assert all({("job", "=", "ksm"), ("namespace", "!=", "kube-system")} <= m for m in found["kube_pod_labels"])


@pytest.mark.parametrize(
    "selector",
    [
        "",
        'job=""',  # matches every series
        "job",
        'job="x"} or vector(1) or up{a="b"',
        'job="x"} # the rest of the query is a comment',
        'job="x"}[5m',
        'job="x"} offset 1h',
        '__name__="up"',
        'job="a" or job="b"',
        'job="x", namespace="y"} + on() group_left {z="1"',
    ],
)
def test_a_selector_that_is_not_a_list_of_label_matchers_is_refused(selector: str) -> None:
    with pytest.raises(UnsafeQuery):
        QueryBuilder(dcgm_selector=selector)
    with pytest.raises(UnsafeQuery):
        QueryBuilder(pod_labels_selector=selector)


def test_recording_rules_select_the_same_series_as_the_live_query() -> None:
    builder = QueryBuilder(dcgm_selector='job="dcgm"', pod_labels_selector='job="ksm"')
    (group,) = [g for g in rules_file(builder)["groups"] if g["name"] == "governor-gpu-dcgm"]
    assert len(group["rules"]) == 4
    for rule in group["rules"]:
        found = selectors(rule["expr"])
        assert all(("job", "=", "dcgm") in m for name, sets in found.items() if name.startswith("DCGM_") for m in sets)
        assert all(("job", "=", "ksm") in m for m in found["kube_pod_labels"])


def test_settings_reach_the_queries_and_the_rules_command(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PrometheusSettings().dcgm_selector == DEFAULT_DCGM_SELECTOR
    assert PrometheusSettings().pod_labels_selector == DEFAULT_POD_LABELS_SELECTOR
    env = {"GOVERNOR_PROMETHEUS_DCGM_SELECTOR": 'job="gpu"', "GOVERNOR_PROMETHEUS_POD_LABELS_SELECTOR": 'job="k"'}
    settings = Settings.from_env({"GOVERNOR_PROMETHEUS_URL": "http://prometheus:9090", **env})
    source = build_source(settings, NoPods())
    assert isinstance(source, FallbackSource) and isinstance(source.primary, PrometheusSource)
    assert (source.primary.builder.dcgm_selector, source.primary.builder.pod_labels_selector) == (
        'job="gpu"',
        'job="k"',
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    rendered = render(parser.parse_args(["--format", "rules"]))
    assert 'DCGM_FI_DEV_GPU_UTIL{job=\\"gpu\\"}' in rendered or 'DCGM_FI_DEV_GPU_UTIL{job="gpu"}' in rendered
    assert 'job="k"' in rendered or 'job=\\"k\\"' in rendered


def test_a_bad_selector_stops_the_start_with_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"GOVERNOR_PROMETHEUS_URL": "http://prometheus:9090", "GOVERNOR_PROMETHEUS_DCGM_SELECTOR": 'job="x"} or up{'}
    with pytest.raises(SettingsError, match="GOVERNOR_PROMETHEUS_DCGM_SELECTOR"):
        build_source(Settings.from_env(env), NoPods())
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--pod-labels-selector", "job"])
    assert "--pod-labels-selector" in capsys.readouterr().err
