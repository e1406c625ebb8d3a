"""Every CEL rule of the CRD has a mirror in parse_service, with the same message at the same path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from governor.model import InvalidSpec, crdschema, rules
from governor.model.parse import parse_service

VALID: dict[str, Any] = {
    "metadata": {"name": "m"},
    "spec": {
        "scaleTargetRef": {"name": "m"},
        "precision": {"preferred": "bf16", "variants": [{"precision": "bf16"}, {"precision": "int8"}]},
    },
}


def _with(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is None:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


# CEL message → a body that breaks exactly that rule.
VIOLATIONS: dict[str, dict[str, Any]] = {
    rules.NAME_IS_DNS_LABEL: _with("metadata.name", "qwen2.5-7b"),
    rules.WORKLOAD_ONE_OF: _with("spec.scaleTargetRef", None),
    rules.MIN_LE_MAX: _with("spec.minReplicas", 11),
    rules.PREFERRED_IN_VARIANTS: _with("spec.precision.preferred", "fp16"),
    rules.PREFERRED_ABOVE_FLOOR: _with("spec.precision.variants.0", {"precision": "bf16", "relativeQuality": 0.5}),
    rules.IN_PLACE_NEEDS_VERSION: _with("spec.precision.variants.1", {"precision": "int8", "swapModes": ["InPlace"]}),
}
VIOLATIONS[rules.PREFERRED_ABOVE_FLOOR]["spec"]["precision"]["qualityFloor"] = 0.9


def _cel(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return crdschema.cel_rules(schema)


def test_cel_messages_are_exactly_the_mirrored_rules(isvc_schema: dict[str, Any]) -> None:
    assert sorted(r["message"] for _, r in _cel(isvc_schema)) == sorted(rules.CEL_MESSAGES)
    assert set(VIOLATIONS) == set(rules.CEL_MESSAGES)


def test_valid_body_breaks_no_rule() -> None:
    assert parse_service(VALID).precision.variant(parse_service(VALID).precision.preferred) is not None


@pytest.mark.parametrize("message", rules.CEL_MESSAGES)
def test_each_cel_rule_is_mirrored_at_its_path(message: str, isvc_schema: dict[str, Any]) -> None:
    ((node_path, rule),) = [(p, r) for p, r in _cel(isvc_schema) if r["message"] == message]
    expected = (node_path + rule.get("fieldPath", "")).strip(".")
    with pytest.raises(InvalidSpec) as caught:
        parse_service(VIOLATIONS[message])
    found = [(e.path, e.message) for e in caught.value.errors]
    matching = [p for p, m in found if m == message]
    assert len(matching) == 1, found
    # `[*]` in the CRD path stands for the index of the offending list item.
    prefix, _, suffix = expected.partition("[*]")
    assert matching[0].startswith(prefix) and matching[0].endswith(suffix), (matching[0], expected)
    assert len(found) == 1, f"the violation should break only its own rule: {found}"
