"""parse_service: valid bodies become the right ServiceSpec; invalid ones name every bad field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from governor.model import (
    FieldError,
    InvalidSpec,
    MetricsPreset,
    Precision,
    PrecisionMode,
    ScaleTargetRef,
    SelectPolicy,
    ServiceSpec,
    SwapMode,
    rules,
)
from governor.model.parse import OVERRIDE_SIGNALS, parse_service

SCOPED = 'sum(rate(q{namespace="{{namespace}}"}[{{window}}]))'


def body(**spec: Any) -> dict[str, Any]:
    """A minimal valid target-mode body with ``spec`` fields replaced (None removes a field)."""
    base: dict[str, Any] = {"scaleTargetRef": {"name": "model"}}
    base.update(spec)
    return {
        "apiVersion": "governor.dev/v1alpha1",
        "kind": "InferenceService",
        "metadata": {"name": "chat", "namespace": "ml", "generation": 3, "uid": "u-1"},
        "spec": {k: v for k, v in base.items() if v is not None},
    }


def errors_of(obj: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSpec) as caught:
        parse_service(obj)
    return [(e.path, e.message) for e in caught.value.errors]


def test_minimal_body_gets_the_dataclass_defaults() -> None:
    spec = parse_service(body())
    expected = ServiceSpec(
        namespace="ml",
        name="chat",
        generation=3,
        uid="u-1",
        scale_target_ref=ScaleTargetRef("apps/v1", "Deployment", "model"),
    )
    assert spec == expected
    assert not spec.owned


VALID: list[tuple[str, dict[str, Any], str, Any]] = [
    ("min/max", {"minReplicas": 2, "maxReplicas": 2}, "max_replicas", 2),
    ("integral float", {"maxReplicas": 4.0}, "max_replicas", 4),
    ("replicas override", {"replicas": 0}, "replicas", 0),
    ("startup", {"startupSeconds": 30}, "startup_seconds", 30.0),
    ("observe only", {"observeOnly": True}, "observe_only", True),
    ("slo latency", {"slo": {"latencyMs": 250}}, "slo.latency_ms", 250.0),
    ("slo quantile", {"slo": {"latencyQuantile": 0.95}}, "slo.latency_quantile", 0.95),
    ("gpu target off", {"targets": {"gpuUtilization": None}}, "targets.gpu_utilization", None),
    ("cache floor", {"targets": {"cacheHitRatioFloor": 0.3}}, "targets.cache_hit_ratio_floor", 0.3),
    ("preset", {"metrics": {"preset": "triton"}}, "metrics.preset", MetricsPreset.TRITON),
    ("gpu source", {"metrics": {"gpuSource": "dcgm"}}, "metrics.gpu_source", "dcgm"),
    (
        "override key",
        {"metrics": {"overrides": {"latencyP99Ms": SCOPED}}},
        "metrics.overrides",
        {"latency_p99_ms": SCOPED},
    ),
    ("scrape port", {"metrics": {"scrapePort": 9100}}, "metrics.scrape_port", 9100),
    ("mode", {"precision": {"mode": "Auto"}}, "precision.mode", PrecisionMode.AUTO),
    (
        "variants",
        {"precision": {"preferred": "fp8", "variants": [{"precision": "fp8", "relativeThroughput": 1.5}]}},
        "precision.variants",
        None,  # checked separately below
    ),
    (
        "select policy",
        {"behavior": {"scaleDown": {"selectPolicy": "Disabled"}}},
        "behavior.scale_down.select_policy",
        SelectPolicy.DISABLED,
    ),
    (
        "window",
        {"behavior": {"scaleUp": {"stabilizationWindowSeconds": 60}}},
        "behavior.scale_up.stabilization_window_seconds",
        60,
    ),
    ("receivers", {"alerts": {"receivers": ["pager", "team.slack"]}}, "alerts.receivers", ("pager", "team.slack")),
    (
        "severity",
        {"alerts": {"severityOverrides": {"GPUSaturated": "info"}}},
        "alerts.severity_overrides",
        {"GPUSaturated": "info"},
    ),
]


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize(
    ("spec", "attr", "expected"),
    [v[1:] for v in VALID if v[3] is not None],
    ids=[v[0] for v in VALID if v[3] is not None],
)
def test_valid_field_is_parsed(spec: dict[str, Any], attr: str, expected: Any) -> None:
    value = _attr(parse_service(body(**spec)), attr)
    assert (dict(value) if hasattr(value, "keys") else value) == expected


def test_variants_and_owned_template() -> None:
    template = {"spec": {"containers": [{"name": "vllm", "image": "vllm:1"}]}}
    spec = parse_service(
        body(
            scaleTargetRef=None,
            template=template,
            precision={
                "mode": "Auto",
                "preferred": "bf16",
                "qualityFloor": 0.97,
                "variants": [
                    {"precision": "bf16", "env": [{"name": "A", "value": "1"}]},
                    {
                        "precision": "int4",
                        "relativeThroughput": 2,
                        "relativeQuality": 0.97,
                        "args": ["--q"],
                        "resources": {"limits": {"nvidia.com/gpu": 1, "memory": "32Gi"}},
                    },
                    {"precision": "fp8", "swapModes": ["InPlace"], "modelVersion": "2", "image": "img:fp8"},
                ],
            },
        )
    )
    assert spec.owned and dict(spec.template or {}) == template
    assert [v.precision for v in spec.precision.variants] == [Precision.BF16, Precision.INT4, Precision.FP8]
    int4 = spec.precision.variant(Precision.INT4)
    assert int4 is not None and int4.relative_throughput == 2.0 and int4.args == ("--q",)
    assert int4.resources is not None and dict(int4.resources["limits"]) == {"nvidia.com/gpu": 1, "memory": "32Gi"}
    fp8 = spec.precision.variant(Precision.FP8)
    assert fp8 is not None and fp8.swap_modes == (SwapMode.IN_PLACE,) and fp8.model_version == "2"
    assert [dict(e) for e in spec.precision.variants[0].env] == [{"name": "A", "value": "1"}]
    assert [v.precision for v in spec.precision.allowed] == [Precision.BF16, Precision.FP8, Precision.INT4]


def test_parsed_template_is_a_copy() -> None:
    obj = body(scaleTargetRef=None, template={"spec": {"containers": [{"name": "c"}]}})
    spec = parse_service(obj)
    obj["spec"]["template"]["spec"]["containers"][0]["name"] = "changed"
    assert spec.template is not None and spec.template["spec"]["containers"][0]["name"] == "c"


def test_override_signals_are_observation_fields() -> None:
    assert OVERRIDE_SIGNALS["latencyP99Ms"] == "latency_p99_ms"
    assert OVERRIDE_SIGNALS["gpuUtilizationMean"] == "gpu_utilization_mean"
    assert "at" not in OVERRIDE_SIGNALS.values() and "source" not in OVERRIDE_SIGNALS.values()


INVALID: list[tuple[str, dict[str, Any], tuple[str, str]]] = [
    ("neither workload", {"scaleTargetRef": None}, ("spec", rules.WORKLOAD_ONE_OF)),
    ("both workloads", {"template": {"spec": {"containers": [{"name": "c"}]}}}, ("spec", rules.WORKLOAD_ONE_OF)),
    ("min > max", {"minReplicas": 5, "maxReplicas": 2}, ("spec.minReplicas", rules.MIN_LE_MAX)),
    ("min zero", {"minReplicas": 0}, ("spec.minReplicas", "must be at least 1 and at most 10000")),
    ("max string", {"maxReplicas": "ten"}, ("spec.maxReplicas", "must be an integer, got string")),
    ("max fraction", {"maxReplicas": 2.5}, ("spec.maxReplicas", "must be an integer, got 2.5")),
    ("bool as int", {"minReplicas": True}, ("spec.minReplicas", "must be an integer, got boolean")),
    ("unknown field", {"maxReplica": 3}, ("spec.maxReplica", "unknown field")),
    (
        "quantile 1",
        {"slo": {"latencyQuantile": 1}},
        ("spec.slo.latencyQuantile", "must be greater than 0 and less than 1"),
    ),
    ("objective 0", {"slo": {"objective": 0}}, ("spec.slo.objective", "must be greater than 0 and less than 1")),
    (
        "latency negative",
        {"slo": {"latencyMs": -5}},
        ("spec.slo.latencyMs", "must be greater than 0 and at most 3600000"),
    ),
    ("slo list", {"slo": [1]}, ("spec.slo", "must be an object, got array")),
    (
        "gpu target 0",
        {"targets": {"gpuUtilization": 0}},
        ("spec.targets.gpuUtilization", "must be greater than 0 and at most 1"),
    ),
    (
        "preset",
        {"metrics": {"preset": "onnx"}},
        ("spec.metrics.preset", "must be one of vllm, sglang, triton, tgi, generic, got 'onnx'"),
    ),
    (
        "gpu source",
        {"metrics": {"gpuSource": "nvml"}},
        ("spec.metrics.gpuSource", "must be one of dcgm, agent, none, got 'nvml'"),
    ),
    ("port", {"metrics": {"scrapePort": 70000}}, ("spec.metrics.scrapePort", "must be at least 1 and at most 65535")),
    ("scrape path", {"metrics": {"scrapePath": "metrics"}}, ("spec.metrics.scrapePath", "'metrics' is not a URL path")),
    (
        "override empty",
        {"metrics": {"overrides": {"requestRate": " "}}},
        ("spec.metrics.overrides.requestRate", "must not be empty"),
    ),
    (
        "floor 0",
        {"precision": {"qualityFloor": 0}},
        ("spec.precision.qualityFloor", "must be greater than 0 and at most 1"),
    ),
    (
        "floor > 1",
        {"precision": {"qualityFloor": 1.5}},
        ("spec.precision.qualityFloor", "must be greater than 0 and at most 1"),
    ),
    ("mode", {"precision": {"mode": "auto"}}, ("spec.precision.mode", "must be one of Auto, Fixed, got 'auto'")),
    (
        "preferred absent",
        {"precision": {"preferred": "fp8"}},
        ("spec.precision.preferred", rules.PREFERRED_IN_VARIANTS),
    ),
    (
        "preferred below floor",
        {"precision": {"qualityFloor": 0.99, "variants": [{"precision": "bf16", "relativeQuality": 0.98}]}},
        ("spec.precision.qualityFloor", rules.PREFERRED_ABOVE_FLOOR),
    ),
    (
        "duplicate precision",
        {"precision": {"variants": [{"precision": "bf16"}, {"precision": "bf16"}]}},
        ("spec.precision.variants[1].precision", rules.DUPLICATE_PRECISION),
    ),
    ("no variants", {"precision": {"variants": []}}, ("spec.precision.variants", "must have at least 1 item")),
    (
        "throughput 0",
        {"precision": {"variants": [{"precision": "bf16", "relativeThroughput": 0}]}},
        ("spec.precision.variants[0].relativeThroughput", "must be greater than 0 and at most 100"),
    ),
    (
        "quality > 1",
        {"precision": {"variants": [{"precision": "bf16", "relativeQuality": 1.01}]}},
        ("spec.precision.variants[0].relativeQuality", "must be greater than 0 and at most 1"),
    ),
    (
        "precision missing",
        {"precision": {"variants": [{"relativeQuality": 1}]}},
        ("spec.precision.variants[0].precision", "is required"),
    ),
    (
        "in place without version",
        {"precision": {"variants": [{"precision": "bf16", "swapModes": ["InPlace"]}]}},
        ("spec.precision.variants[0].modelVersion", rules.IN_PLACE_NEEDS_VERSION),
    ),
    (
        "swap mode",
        {"precision": {"variants": [{"precision": "bf16", "swapModes": ["Hot"]}]}},
        ("spec.precision.variants[0].swapModes[0]", "must be one of Rolling, InPlace, got 'Hot'"),
    ),
    (
        "env name",
        {"precision": {"variants": [{"precision": "bf16", "env": [{"name": "1 bad"}]}]}},
        ("spec.precision.variants[0].env[0].name", "'1 bad' is not a valid environment variable name"),
    ),
    (
        "quantity",
        {"precision": {"variants": [{"precision": "bf16", "resources": {"limits": {"memory": "lots"}}}]}},
        ("spec.precision.variants[0].resources.limits.memory", "'lots' is not a resource quantity"),
    ),
    (
        "policy type",
        {"behavior": {"scaleUp": {"policies": [{"type": "Replicas", "value": 1, "periodSeconds": 15}]}}},
        ("spec.behavior.scaleUp.policies[0].type", "must be one of Pods, Percent, got 'Replicas'"),
    ),
    (
        "policy value",
        {"behavior": {"scaleDown": {"policies": [{"type": "Pods", "periodSeconds": 15}]}}},
        ("spec.behavior.scaleDown.policies[0].value", "is required"),
    ),
    ("tolerance", {"behavior": {"tolerance": 1}}, ("spec.behavior.tolerance", "must be at least 0 and less than 1")),
    (
        "receiver url",
        {"alerts": {"receivers": ["https://hooks.example.com/x"]}},
        (
            "spec.alerts.receivers[0]",
            "'https://hooks.example.com/x' is not a receiver name (a DNS-1123 name, never a URL)",
        ),
    ),
    ("duplicate receiver", {"alerts": {"receivers": ["a", "a"]}}, ("spec.alerts.receivers[1]", "duplicate value 'a'")),
    (
        "severity",
        {"alerts": {"severityOverrides": {"GPUSaturated": "page"}}},
        ("spec.alerts.severityOverrides.GPUSaturated", "must be one of critical, error, warning, info"),
    ),
    ("observe only", {"observeOnly": "yes"}, ("spec.observeOnly", "must be a boolean, got string")),
    ("target name", {"scaleTargetRef": {"kind": "Deployment"}}, ("spec.scaleTargetRef.name", "is required")),
]


@pytest.mark.parametrize(("spec", "expected"), [v[1:] for v in INVALID], ids=[v[0] for v in INVALID])
def test_invalid_field_is_reported_at_its_path(spec: dict[str, Any], expected: tuple[str, str]) -> None:
    assert expected in errors_of(body(**spec))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ({}, ("spec.template.spec", "is required")),
        ({"spec": {}}, ("spec.template.spec.containers", "is required")),
        ({"spec": {"containers": []}}, ("spec.template.spec.containers", "must have at least 1 item")),
        ({"spec": {"containers": [{"image": "x"}]}}, ("spec.template.spec.containers[0].name", "is required")),
        ("pod", ("spec.template", "must be an object, got string")),
    ],
)
def test_template_problems(template: Any, expected: tuple[str, str]) -> None:
    assert expected in errors_of(body(scaleTargetRef=None, template=template))


def test_every_problem_is_listed_not_just_the_first() -> None:
    found = errors_of(body(minReplicas="x", slo={"objective": 2}, precision={"mode": "Sometimes"}))
    assert [p for p, _ in found] == ["spec.minReplicas", "spec.slo.objective", "spec.precision.mode"]


def test_one_bad_field_causes_no_follow_up_errors() -> None:
    # maxReplicas is broken: the min ≤ max rule must not also fire against its default.
    found = errors_of(body(minReplicas=50, maxReplicas="many"))
    assert found == [("spec.maxReplicas", "must be an integer, got string")]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (None, ("object", "must be an object, got null")),
        ([], ("object", "must be an object, got array")),
        ({"metadata": {"name": "a"}}, ("spec", "is required")),
        ({"spec": {"scaleTargetRef": {"name": "a"}}}, ("metadata.name", "is required")),
        (
            {"metadata": {"name": "Bad_Name"}, "spec": {"scaleTargetRef": {"name": "a"}}},
            ("metadata.name", "'Bad_Name' is not a DNS-1123 subdomain"),
        ),
    ],
)
def test_broken_bodies(obj: Any, expected: tuple[str, str]) -> None:
    assert expected in errors_of(obj)


def test_invalid_spec_message_names_each_field() -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_service(body(minReplicas=0, observeOnly=1))
    assert (
        str(caught.value)
        == "spec.minReplicas: must be at least 1 and at most 10000; spec.observeOnly: must be a boolean, got number"
    )
    assert caught.value.errors[0] == FieldError("spec.minReplicas", "must be at least 1 and at most 10000")


def test_input_is_not_modified() -> None:
    obj = body(precision={"variants": [{"precision": "bf16"}]})
    before = copy.deepcopy(obj)
    parse_service(obj)
    assert obj == before
