"""A table of invalid InferenceServices, each rejected with its own specific message.

Rules the schema can express are checked with jsonschema against the CRD's schema (what the
API server would answer); CEL rules, which jsonschema cannot evaluate, are checked through
parse_service (what the operator and ``governor validate`` answer). Every case is also
rejected by parse_service, so a cluster without the CRD's checks still refuses it.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from governor.model import InvalidSpec, rules
from governor.model.parse import parse_service

BASE: dict[str, Any] = {
    "apiVersion": "governor.dev/v1alpha1",
    "kind": "InferenceService",
    "metadata": {"name": "chat", "namespace": "ml"},
    "spec": {
        "template": {"spec": {"containers": [{"name": "server", "image": "srv:1"}]}},
        "precision": {"variants": [{"precision": "bf16"}, {"precision": "fp8", "relativeQuality": 0.99}]},
    },
}


def cr(**spec: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    for key, value in spec.items():
        if value is None:
            body["spec"].pop(key, None)
        else:
            body["spec"][key] = value
    return body


# (id, CR, where schema rejects it: (path, message fragment) or None for a CEL-only rule, parse (path, message))
CASES: list[tuple[str, dict[str, Any], tuple[str, str] | None, tuple[str, str]]] = [
    ("workload both", cr(scaleTargetRef={"name": "x"}), None, ("spec", rules.WORKLOAD_ONE_OF)),
    ("workload neither", cr(template=None), None, ("spec", rules.WORKLOAD_ONE_OF)),
    ("min above max", cr(minReplicas=8, maxReplicas=4), None, ("spec.minReplicas", rules.MIN_LE_MAX)),
    ("preferred missing", cr(precision={"preferred": "int4", "variants": [{"precision": "bf16"}]}), None,
     ("spec.precision.preferred", rules.PREFERRED_IN_VARIANTS)),
    ("preferred under floor", cr(precision={"preferred": "fp8", "qualityFloor": 0.995,
                                            "variants": [{"precision": "fp8", "relativeQuality": 0.99}]}), None,
     ("spec.precision.qualityFloor", rules.PREFERRED_ABOVE_FLOOR)),
    ("in place without version", cr(precision={"variants": [{"precision": "bf16", "swapModes": ["InPlace"]}]}), None,
     ("spec.precision.variants[0].modelVersion", rules.IN_PLACE_NEEDS_VERSION)),
    ("min zero", cr(minReplicas=0), ("spec.minReplicas", "less than the minimum of 1"),
     ("spec.minReplicas", "must be at least 1 and at most 10000")),
    ("max as string", cr(maxReplicas="8"), ("spec.maxReplicas", "is not of type 'integer'"),
     ("spec.maxReplicas", "must be an integer, got string")),
    ("quality floor zero", cr(precision={"qualityFloor": 0, "variants": [{"precision": "bf16"}]}),
     ("spec.precision.qualityFloor", "less than or equal to the minimum of 0"),
     ("spec.precision.qualityFloor", "must be greater than 0 and at most 1")),
    ("quality floor above one", cr(precision={"qualityFloor": 1.2, "variants": [{"precision": "bf16"}]}),
     ("spec.precision.qualityFloor", "greater than the maximum of 1"),
     ("spec.precision.qualityFloor", "must be greater than 0 and at most 1")),
    ("unknown precision", cr(precision={"variants": [{"precision": "fp4"}]}),
     ("spec.precision.variants[0].precision", "is not one of ['bf16', 'fp16', 'fp8', 'int8', 'int4']"),
     ("spec.precision.variants[0].precision", "must be one of bf16, fp16, fp8, int8, int4, got 'fp4'")),
    ("zero throughput", cr(precision={"variants": [{"precision": "bf16", "relativeThroughput": 0}]}),
     ("spec.precision.variants[0].relativeThroughput", "less than or equal to the minimum of 0"),
     ("spec.precision.variants[0].relativeThroughput", "must be greater than 0 and at most 100")),
    ("too many variants", cr(precision={"variants": [{"precision": p} for p in
                                                     ("bf16", "fp16", "fp8", "int8", "int4", "bf16")]}),
     ("spec.precision.variants", "is too long"), ("spec.precision.variants", "must have at most 5 items")),
    ("quantile one", cr(slo={"latencyQuantile": 1.0}),
     ("spec.slo.latencyQuantile", "greater than or equal to the maximum of 1"),
     ("spec.slo.latencyQuantile", "must be greater than 0 and less than 1")),
    ("objective zero", cr(slo={"objective": 0}), ("spec.slo.objective", "less than or equal to the minimum of 0"),
     ("spec.slo.objective", "must be greater than 0 and less than 1")),
    ("metrics preset", cr(metrics={"preset": "onnx"}),
     ("spec.metrics.preset", "is not one of ['vllm', 'sglang', 'triton', 'tgi', 'generic']"),
     ("spec.metrics.preset", "must be one of vllm, sglang, triton, tgi, generic, got 'onnx'")),
    ("ttft without ms", cr(slo={"ttft": {"quantile": 0.9}}), ("spec.slo.ttft", "'ms' is a required property"),
     ("spec.slo.ttft.ms", "is required")),
    ("ttft ms zero", cr(slo={"ttft": {"ms": 0}}), ("spec.slo.ttft.ms", "less than or equal to the minimum of 0"),
     ("spec.slo.ttft.ms", "must be greater than 0 and at most 3600000")),
    ("itl quantile one", cr(slo={"itl": {"ms": 50, "quantile": 1}}),
     ("spec.slo.itl.quantile", "greater than or equal to the maximum of 1"),
     ("spec.slo.itl.quantile", "must be greater than 0 and less than 1")),
    ("override unknown signal", cr(metrics={"overrides": {"tokensPerSecond": "sum(x)"}}),
     ("spec.metrics.overrides", "Additional properties are not allowed ('tokensPerSecond' was unexpected)"),
     ("spec.metrics.overrides.tokensPerSecond", "unknown signal; known signals: requestRate")),
    ("receiver is a url", cr(alerts={"receivers": ["https://hooks.slack.com/services/T0/B0/x"]}),
     ("spec.alerts.receivers[0]", "does not match"),
     ("spec.alerts.receivers[0]", "is not a receiver name (a DNS-1123 name, never a URL)")),
    ("duplicate receivers", cr(alerts={"receivers": ["pager", "pager"]}),
     ("spec.alerts.receivers", "has non-unique elements"),
     ("spec.alerts.receivers[1]", "duplicate value 'pager'")),
    ("policy kind", cr(behavior={"scaleUp": {"policies": [{"type": "Replicas", "value": 2, "periodSeconds": 15}]}}),
     ("spec.behavior.scaleUp.policies[0].type", "is not one of ['Pods', 'Percent']"),
     ("spec.behavior.scaleUp.policies[0].type", "must be one of Pods, Percent, got 'Replicas'")),
    ("select policy", cr(behavior={"scaleDown": {"selectPolicy": "Average"}}),
     ("spec.behavior.scaleDown.selectPolicy", "is not one of ['Max', 'Min', 'Disabled']"),
     ("spec.behavior.scaleDown.selectPolicy", "must be one of Max, Min, Disabled, got 'Average'")),
    ("typo field", cr(maxReplicaCount=4),
     ("spec", "Additional properties are not allowed ('maxReplicaCount' was unexpected)"),
     ("spec.maxReplicaCount", "unknown field")),
    ("target without name", cr(template=None, scaleTargetRef={"kind": "Deployment"}),
     ("spec.scaleTargetRef", "'name' is a required property"), ("spec.scaleTargetRef.name", "is required")),
    ("bad quantity", cr(precision={"variants": [{"precision": "bf16", "resources": {"limits": {"memory": "32 GB"}}}]}),
     ("spec.precision.variants[0].resources.limits.memory", "does not match"),
     ("spec.precision.variants[0].resources.limits.memory", "'32 GB' is not a resource quantity")),
    ("gpu target zero", cr(targets={"gpuUtilization": 0}),
     ("spec.targets.gpuUtilization", "less than or equal to the minimum of 0"),
     ("spec.targets.gpuUtilization", "must be greater than 0 and at most 1")),
    ("observe only string", cr(observeOnly="true"), ("spec.observeOnly", "is not of type 'boolean'"),
     ("spec.observeOnly", "must be a boolean, got string")),
    ("target kind", cr(template=None, scaleTargetRef={"kind": "ReplicaSet", "name": "x"}),
     ("spec.scaleTargetRef.kind", "'ReplicaSet' is not one of ['Deployment', 'StatefulSet']"),
     ("spec.scaleTargetRef.kind", "must be one of Deployment, StatefulSet, got 'ReplicaSet'")),
    ("target group", cr(template=None, scaleTargetRef={"apiVersion": "v1", "name": "x"}),
     ("spec.scaleTargetRef.apiVersion", "'v1' is not one of ['apps/v1']"),
     ("spec.scaleTargetRef.apiVersion", "must be one of apps/v1, got 'v1'")),
    ("model name path", cr(precision={"modelName": "../admin", "variants": [{"precision": "bf16"}]}),
     ("spec.precision.modelName", "does not match"),
     ("spec.precision.modelName", "'../admin' is not a model name")),
    ("model version path", cr(precision={"variants": [{"precision": "bf16", "modelVersion": "1/../../x"}]}),
     ("spec.precision.variants[0].modelVersion", "does not match"),
     ("spec.precision.variants[0].modelVersion", "'1/../../x' is not a model version")),
]  # fmt: skip


def _json_path(error: jsonschema.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def test_table_is_large_and_distinct() -> None:
    bodies = [repr(c[1]) for c in CASES]
    assert len(set(bodies)) == len(CASES) >= 15, "each case is a different CR"
    assert len({c[3] for c in CASES}) >= 15, "and at least 15 distinct messages"


@pytest.mark.parametrize(("cr_body", "schema_error", "parse_error"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_cr_is_rejected_with_its_message(
    cr_body: dict[str, Any],
    schema_error: tuple[str, str] | None,
    parse_error: tuple[str, str],
    isvc_validator: jsonschema.Draft202012Validator,
) -> None:
    found = [(_json_path(e), e.message) for e in isvc_validator.iter_errors(cr_body)]
    if schema_error is None:
        assert found == [], "a CEL-only case must pass the OpenAPI schema (its rule lives in CEL)"
    else:
        path, fragment = schema_error
        assert any(p == path and fragment in m for p, m in found), found
    with pytest.raises(InvalidSpec) as caught:
        parse_service(cr_body)
    path, message = parse_error
    assert any(e.path == path and message in e.message for e in caught.value.errors), caught.value.errors


def test_base_is_valid(isvc_validator: jsonschema.Draft202012Validator) -> None:
    assert list(isvc_validator.iter_errors(BASE)) == []
    assert parse_service(BASE).name == "chat"
