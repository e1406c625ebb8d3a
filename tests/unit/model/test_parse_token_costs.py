"""spec.precision.variants[].tokenCosts: a variant's declared token costs, each checked."""

from __future__ import annotations

from typing import Any

import pytest

from governor.model import InvalidSpec
from governor.model.parse import parse_service
from governor.model.spec import ServiceSpec, TokenCosts


def service_with(costs: Any) -> ServiceSpec:
    variant: dict[str, Any] = {"precision": "bf16"}
    if costs is not None:
        variant["tokenCosts"] = costs
    spec = {"scaleTargetRef": {"name": "model"}, "precision": {"variants": [variant]}}
    return parse_service({"metadata": {"name": "chat", "namespace": "ml"}, "spec": spec})


def test_declared_costs_are_read_and_absent_ones_stay_unset() -> None:
    spec = service_with({"stepMs": 18, "prefillMicrosPerToken": 40, "kvTokens": 1_200_000})
    costs = spec.precision.variants[0].token_costs
    assert costs == TokenCosts(step_ms=18.0, prefill_us_per_token=40.0, kv_tokens=1_200_000.0)
    assert service_with(None).precision.variants[0].token_costs is None


@pytest.mark.parametrize(
    ("costs", "expected"),
    [
        ({"stepMs": 0}, "spec.precision.variants[0].tokenCosts.stepMs"),
        ({"decodeMicrosPerSequence": -1}, "spec.precision.variants[0].tokenCosts.decodeMicrosPerSequence"),
        ({"stepMs": "fast"}, "spec.precision.variants[0].tokenCosts.stepMs"),
        ({"stepSeconds": 1}, "spec.precision.variants[0].tokenCosts.stepSeconds: unknown field"),
        ("cheap", "spec.precision.variants[0].tokenCosts"),
    ],
)
def test_a_bad_cost_is_one_invalid_line_naming_its_field(costs: Any, expected: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        service_with(costs)
    assert any(str(e).startswith(expected) for e in caught.value.errors), caught.value.errors
