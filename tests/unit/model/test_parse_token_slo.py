"""spec.slo.ttft / spec.slo.itl: any combination with the request-latency objective, each checked."""

from __future__ import annotations

from typing import Any

import pytest

from governor.model import InvalidSpec, SLOSpec, TokenLatencySLO
from governor.model.parse import parse_service


def slo_of(slo: Any) -> SLOSpec:
    spec: dict[str, Any] = {"scaleTargetRef": {"name": "model"}}
    if slo is not None:
        spec["slo"] = slo
    return parse_service({"metadata": {"name": "chat", "namespace": "ml"}, "spec": spec}).slo


def errors_of(slo: Any) -> list[str]:
    with pytest.raises(InvalidSpec) as caught:
        slo_of(slo)
    return [str(e) for e in caught.value.errors]


VALID = [
    # (id, spec.slo, latency_declared, ttft, itl, latency_ms)
    ("no slo: the old default", None, True, None, None, 1000.0),
    ("empty slo", {}, True, None, None, 1000.0),
    ("objective only", {"objective": 0.99}, True, None, None, 1000.0),
    ("latency only", {"latencyMs": 300}, True, None, None, 300.0),
    ("ttft only", {"ttft": {"ms": 200}}, False, TokenLatencySLO(200.0, 0.9), None, 1000.0),
    ("itl only", {"itl": {"ms": 40, "quantile": 0.99}}, False, None, TokenLatencySLO(40.0, 0.99), 1000.0),
    (
        "ttft and itl",
        {"ttft": {"ms": 500, "quantile": 0.95}, "itl": {"ms": 50}},
        False,
        TokenLatencySLO(500.0, 0.95),
        TokenLatencySLO(50.0, 0.9),
        1000.0,
    ),
    ("all three", {"latencyMs": 8000, "ttft": {"ms": 300}, "itl": {"ms": 30}}, True,
     TokenLatencySLO(300.0), TokenLatencySLO(30.0), 8000.0),
    ("latency null beside ttft", {"latencyMs": None, "ttft": {"ms": 300}}, False, TokenLatencySLO(300.0), None, 1000.0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("slo", "declared", "ttft", "itl", "latency_ms"), [v[1:] for v in VALID], ids=[v[0] for v in VALID]
)
def test_valid_combinations(
    slo: Any, declared: bool, ttft: TokenLatencySLO | None, itl: TokenLatencySLO | None, latency_ms: float
) -> None:
    parsed = slo_of(slo)
    assert (parsed.latency_declared, parsed.ttft, parsed.itl, parsed.latency_ms) == (declared, ttft, itl, latency_ms)
    assert parsed.token_objectives == (ttft is not None or itl is not None)


QUANTILE = "spec.slo.itl.quantile: must be greater than 0 and less than 1"
INVALID = [
    ("ttft ms zero", {"ttft": {"ms": 0}}, "spec.slo.ttft.ms: must be greater than 0 and at most 3600000"),
    ("ttft ms negative", {"ttft": {"ms": -5}}, "spec.slo.ttft.ms: must be greater than 0 and at most 3600000"),
    ("ttft ms missing", {"ttft": {"quantile": 0.9}}, "spec.slo.ttft.ms: is required"),
    ("ttft ms string", {"ttft": {"ms": "200"}}, "spec.slo.ttft.ms: must be a number, got string"),
    ("itl quantile 1", {"itl": {"ms": 50, "quantile": 1}}, QUANTILE),
    ("itl quantile 0", {"itl": {"ms": 50, "quantile": 0}}, QUANTILE),
    ("itl unknown key", {"itl": {"ms": 50, "p": 0.9}}, "spec.slo.itl.p: unknown field"),
    ("itl not an object", {"itl": 50}, "spec.slo.itl: must be an object, got number"),
    ("unknown objective", {"tpot": {"ms": 50}}, "spec.slo.tpot: unknown field"),
]  # fmt: skip


@pytest.mark.parametrize(("slo", "expected"), [v[1:] for v in INVALID], ids=[v[0] for v in INVALID])
def test_invalid_token_objective_is_named_in_one_line(slo: Any, expected: str) -> None:
    errors = errors_of(slo)
    assert expected in errors
    assert all("\n" not in e for e in errors)


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of({"ttft": {"ms": 0, "quantile": 2}, "itl": {}})
    assert set(errors) == {
        "spec.slo.ttft.ms: must be greater than 0 and at most 3600000",
        "spec.slo.ttft.quantile: must be greater than 0 and less than 1",
        "spec.slo.itl.ms: is required",
    }
