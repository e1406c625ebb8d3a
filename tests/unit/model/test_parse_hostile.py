"""Whatever a tenant writes in annotations and string or number fields, parse_service answers with a
ServiceSpec or an InvalidSpec whose every problem has a path and a reason — never anything else.

``test_parse_garbage`` throws random shapes at the body; these tests keep the body's shape valid and
vary what a tenant controls field by field: annotation maps (Governor's keys and any others, with
huge numbers, NaN, inf, negatives, unicode), and hostile values at every string and number field.
A spec that parses must be usable: what reaches actuation is within the documented bounds.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from governor.controller.app import entry_from_body
from governor.model import InPlaceProtocol, InvalidSpec, ServiceSpec
from governor.model.annotations import KNOWN, MAX_HOLD_SECONDS
from governor.model.names import MODEL_NAME, MODEL_VERSION
from governor.model.parse import parse_service

BASE: dict[str, Any] = {
    "apiVersion": "governor.dev/v1alpha1",
    "kind": "InferenceService",
    "metadata": {"name": "chat", "namespace": "ml"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "model"},
        "metrics": {"preset": "triton", "modelLabel": "llama"},
        "precision": {
            "modelName": "llama",
            "variants": [
                {"precision": "bf16", "swapModes": ["InPlace", "Rolling"], "modelVersion": "1"},
                {"precision": "fp8", "relativeQuality": 0.99, "swapModes": ["InPlace"], "modelVersion": "2"},
            ],
        },
    },
}

# Every string or number field a tenant sets (dotted; a number selects a list item).
FIELDS = [
    "metadata.name", "metadata.namespace", "metadata.uid", "metadata.generation",
    "spec.scaleTargetRef.apiVersion", "spec.scaleTargetRef.kind", "spec.scaleTargetRef.name",
    "spec.replicas", "spec.minReplicas", "spec.maxReplicas", "spec.startupSeconds",
    "spec.slo.latencyMs", "spec.slo.latencyQuantile", "spec.slo.objective", "spec.slo.periodDays",
    "spec.targets.gpuUtilization", "spec.targets.cacheHitRatioFloor", "spec.targets.concurrencyPerReplica",
    "spec.metrics.preset", "spec.metrics.gpuSource", "spec.metrics.scrapePort", "spec.metrics.scrapePath",
    "spec.metrics.modelLabel", "spec.metrics.overrides.requestRate",
    "spec.precision.mode", "spec.precision.preferred", "spec.precision.qualityFloor",
    "spec.precision.minDwellSeconds", "spec.precision.swapTimeoutSeconds", "spec.precision.inPlaceMaxUnavailable",
    "spec.precision.modelName", "spec.precision.variants.0.modelVersion", "spec.precision.variants.1.modelVersion",
    "spec.precision.variants.1.precision", "spec.precision.variants.1.relativeThroughput",
    "spec.precision.variants.1.relativeQuality", "spec.precision.variants.1.image",
    "spec.precision.variants.1.swapModes.0", "spec.precision.variants.1.args.0",
    "spec.precision.variants.1.env.0.name", "spec.precision.variants.1.env.0.value",
    "spec.precision.variants.1.resources.limits.memory",
    "spec.behavior.tolerance", "spec.behavior.scaleUp.selectPolicy",
    "spec.behavior.scaleUp.stabilizationWindowSeconds", "spec.behavior.scaleUp.policies.0.type",
    "spec.behavior.scaleUp.policies.0.value", "spec.behavior.scaleUp.policies.0.periodSeconds",
    "spec.alerts.receivers.0", "spec.alerts.disabled.0", "spec.alerts.severityOverrides.SLOBurn",
]  # fmt: skip

NUMBERS_AS_TEXT = st.sampled_from(
    ["1e12", "1e308", "1e309", "-1e309", "nan", "NaN", "inf", "-inf", "Infinity", "-5", "-0", "0", "0.0", "1_000",
     "0x50", " 80", "80 ", "٨٠", "８０", "65536", "99999999999999999999", "604800", "604800.001", "1.5", ".5", "5."]
)  # fmt: skip
TEXT = st.one_of(
    NUMBERS_AS_TEXT,
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=100, max_size=400),
    st.sampled_from(["triton", "http-hook", "gopher", "server", "../x", "a/b", "%2F", "?x=1", "", "\x00", "Ω"]),
)
NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2**53 + 1, -(2**63), 10**400, 0, -1, 65535, 65536, 1e-320]),
)
VALUES = st.one_of(TEXT, NUMBERS, st.booleans(), st.none())
GOVERNOR_KEYS = st.sampled_from([*KNOWN, "governor.dev/", "governor.dev/manual-hold-second", "governor.dev/x"])
KEYS = st.one_of(GOVERNOR_KEYS, st.text(max_size=30), st.sampled_from(["app", "kopf.zalando.org/x", "GOVERNOR.DEV/x"]))
ANNOTATIONS = st.dictionaries(KEYS, st.one_of(TEXT, VALUES), max_size=6)


LISTS = ("args", "env", "policies", "swapModes", "receivers", "disabled")


def _set(body: dict[str, Any], dotted: str, value: Any) -> None:
    node: Any = body
    *parents, last = dotted.split(".")
    for part in parents:
        if isinstance(node, list):
            node = node[int(part)] if int(part) < len(node) else node[-1]
        else:
            node = node.setdefault(part, [{}] if part in LISTS else {})
    if isinstance(node, list):
        node[min(int(last), len(node) - 1)] = value
    else:
        node[last] = value


def check(body: Any) -> ServiceSpec | None:
    """The property: a spec within the bounds actuation relies on, or InvalidSpec with paths and reasons."""
    try:
        spec = parse_service(body)
    except InvalidSpec as error:
        assert error.errors, "InvalidSpec must list at least one problem"
        for e in error.errors:
            assert isinstance(e.path, str) and e.path.strip(), e
            assert isinstance(e.message, str) and e.message.strip(), e
        return None
    assert isinstance(spec, ServiceSpec)
    hints = spec.hints
    assert 1 <= hints.in_place_port <= 65535
    assert hints.manual_hold_seconds is None or 0 <= hints.manual_hold_seconds <= MAX_HOLD_SECONDS
    assert isinstance(spec.in_place_protocol, InPlaceProtocol)
    assert MODEL_NAME.fullmatch(spec.in_place_model) or not any(
        "InPlace" in v.swap_modes for v in spec.precision.variants
    )
    for variant in spec.precision.variants:
        assert variant.model_version is None or MODEL_VERSION.fullmatch(variant.model_version)
        if spec.in_place_protocol == InPlaceProtocol.TRITON and variant.model_version is not None:
            assert variant.model_version.isdigit() and int(variant.model_version) > 0
    for number in (spec.startup_seconds, spec.slo.latency_ms, spec.precision.swap_timeout_seconds):
        assert math.isfinite(number)
    if spec.scale_target_ref is not None:
        assert (spec.scale_target_ref.api_version, spec.scale_target_ref.kind) in {
            ("apps/v1", "Deployment"),
            ("apps/v1", "StatefulSet"),
        }
    return spec


def with_annotations(annotations: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    body["metadata"]["annotations"] = annotations
    return body


@settings(max_examples=400)
@given(ANNOTATIONS)
@example({"governor.dev/in-place-protocol": "gopher", "governor.dev/manual-hold-seconds": "1e12"})
@example({"governor.dev/in-place-port": "٨٠"})
@example({"governor.dev/manual-hold-seconds": "nan"})
@example({"governor.dev/manual-hold-seconds": "1e309"})
@example({"governor.dev/model-container": 5})
@example({"governor.dev/in-place-protocol": "http-hook"})  # a hook's versions need not be integers
def test_any_annotation_map(annotations: dict[str, Any]) -> None:
    check(with_annotations(annotations))


@settings(max_examples=600)
@given(field=st.sampled_from(FIELDS), value=VALUES, annotations=st.one_of(st.none(), ANNOTATIONS))
@example(field="spec.scaleTargetRef.kind", value="ReplicaSet", annotations=None)
@example(field="spec.precision.modelName", value="../admin", annotations=None)
@example(field="spec.precision.variants.1.modelVersion", value="2/../../x", annotations=None)
@example(field="spec.metrics.modelLabel", value="a b", annotations=None)
@example(field="metadata.generation", value="abc", annotations=None)
def test_any_value_at_a_string_or_number_field(field: str, value: Any, annotations: Any) -> None:
    body = with_annotations(annotations)
    _set(body, field, value)
    check(body)
    entry = entry_from_body(body)  # what the controller registers: never raises either
    assert (entry.spec is None) == bool(entry.errors)
    assert isinstance(entry.generation, int) and entry.generation >= 1


@settings(max_examples=200)
@given(values=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6), annotations=ANNOTATIONS)
def test_many_hostile_fields_at_once(values: dict[str, Any], annotations: dict[str, Any]) -> None:
    body = with_annotations(annotations)
    for field, value in values.items():
        _set(body, field, value)
    check(body)
