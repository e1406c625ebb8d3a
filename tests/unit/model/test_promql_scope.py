"""A tenant's override PromQL may read only its own namespace, and only cheaply; parsed, never pattern-matched."""

from __future__ import annotations

import pytest

from governor.model import InvalidSpec
from governor.model.parse import parse_service
from governor.model.promql import MAX_SELECTORS, scope_problems

OWN = 'namespace="{{namespace}}"'


@pytest.mark.parametrize(
    "template",
    [
        f'sum(rate(vllm:request_success_total{{{OWN}, service="{{{{service}}}}"}}[{{{{window}}}}]))',
        f"histogram_quantile(0.99, sum by (le) (rate(x_bucket{{{OWN}}}[5m])))",
        f"sum(x{{{OWN}}}) / sum(y{{{OWN}}} offset 30m)",
        f"max_over_time(x{{{OWN}}}[1h:30s])",
        f'topk(1, x{{{OWN}, model="{{{{model}}}}"}}) or vector(0)',
        'x{namespace="ml"}',  # the namespace written out is the same as the placeholder
        "vector(1)",  # no series at all
    ],
)
def test_scoped_cheap_queries_are_allowed(template: str) -> None:
    assert scope_problems(template, "ml", "chat") == []


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("sum(rate(x[5m]))", "must be limited to its own namespace"),
        ('sum(rate(x{namespace="payments"}[5m]))', "must be limited to its own namespace"),
        ('x{namespace=~"ml|payments"}', "must be limited to its own namespace"),
        ('x{namespace!="ml"}', "must be limited to its own namespace"),
        (f'x{{{OWN}}} / on() group_left y{{service="chat"}}', "selector y must be limited"),
        (f'x{{{OWN} or namespace="payments"}}', "'or' matchers"),
        (f"sum(rate(x{{{OWN}}}[30d]))", "reaches back further than 1h"),
        (f"x{{{OWN}}} offset 2h", "offset beyond 1h"),
        (f"x{{{OWN}}} @ 1700000000", "uses '@'"),
        (f"max_over_time(x{{{OWN}}}[2h:1m])", "subquery range [2h]"),
        (f"max_over_time(x{{{OWN}}}[10m:1s])", "resolution 1s is finer than 10s"),
        (" + ".join([f"x{{{OWN}}}"] * (MAX_SELECTORS + 1)), f"at most {MAX_SELECTORS}"),
        ('sum(rate(x{namespace="{{namespace}}"}[5m]', "is not valid PromQL"),
        ("x{namespace={{namespace}}}", "must be inside a double- or single-quoted string"),
    ],
)
def test_unscoped_or_costly_queries_are_refused(template: str, fragment: str) -> None:
    problems = scope_problems(template, "ml", "chat")
    assert any(fragment in p for p in problems), problems


def test_the_parser_reports_the_problem_at_the_override() -> None:
    body = {
        "metadata": {"name": "chat", "namespace": "ml"},
        "spec": {
            "scaleTargetRef": {"name": "chat"},
            "metrics": {"overrides": {"requestRate": 'sum(rate(http_requests_total{namespace="payments"}[30d]))'}},
        },
    }
    with pytest.raises(InvalidSpec) as caught:
        parse_service(body)
    found = {(e.path, e.message) for e in caught.value.errors}
    assert ("spec.metrics.overrides.requestRate", "range [30d] reaches back further than 1h") in found
    assert any(p == "spec.metrics.overrides.requestRate" and "own namespace" in m for p, m in found), found
