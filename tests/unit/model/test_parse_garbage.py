"""Whatever arrives as a body, parse_service answers with a ServiceSpec or InvalidSpec — never a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor.model import InvalidSpec, ServiceSpec
from governor.model.parse import parse_service

KEYS = [
    "template", "scaleTargetRef", "replicas", "minReplicas", "maxReplicas", "startupSeconds", "slo", "targets",
    "metrics", "precision", "behavior", "alerts", "observeOnly", "variants", "precision", "preferred", "mode",
    "qualityFloor", "relativeQuality", "relativeThroughput", "swapModes", "modelVersion", "env", "name", "value",
    "resources", "limits", "overrides", "requestRate", "scaleUp", "policies", "type", "periodSeconds", "receivers",
    "severityOverrides", "spec", "containers", "latencyQuantile", "gpuUtilization", "bf16", "InPlace",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**400), 10**400)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(KEYS)
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=30,
)


def _check(obj: Any) -> None:
    try:
        result = parse_service(obj)
    except InvalidSpec as error:
        assert error.errors, "InvalidSpec must list at least one problem"
        assert all(isinstance(e.path, str) and e.message for e in error.errors)
    else:
        assert isinstance(result, ServiceSpec)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_like)
def test_garbage_body(obj: Any) -> None:
    _check(obj)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=json_like)
def test_garbage_spec(spec: Any) -> None:
    _check({"metadata": {"name": "x"}, "spec": spec})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    section=st.sampled_from(["precision", "metrics", "behavior", "alerts", "slo", "targets", "template"]),
    value=json_like,
)
def test_garbage_section(section: str, value: Any) -> None:
    _check({"metadata": {"name": "x"}, "spec": {"scaleTargetRef": {"name": "t"}, section: value}})


@settings(max_examples=200, deadline=None)
@given(variants=st.lists(st.dictionaries(st.sampled_from(KEYS), json_like, max_size=6), max_size=6))
def test_garbage_variants(variants: list[dict[str, Any]]) -> None:
    _check({"metadata": {"name": "x"}, "spec": {"scaleTargetRef": {"name": "t"}, "precision": {"variants": variants}}})
