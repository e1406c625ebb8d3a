"""What a tenant writes outside the typed spec fields: ``governor.dev/*`` annotations, the target
reference and the names an in-place swap puts into a model server's URL — each parsed, with a
precise path and reason when it cannot be served."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from governor.model import ActuationHints, InPlaceProtocol, InvalidSpec, ServiceSpec
from governor.model.annotations import (
    HOLD_ANNOTATION,
    MAX_HOLD_SECONDS,
    MODEL_CONTAINER_ANNOTATION,
    PORT_ANNOTATION,
    PROTOCOL_ANNOTATION,
    annotation_path,
)
from governor.model.parse import parse_service

IN_PLACE = {
    "modelName": "llama",
    "variants": [
        {"precision": "bf16", "swapModes": ["InPlace", "Rolling"], "modelVersion": "1"},
        {"precision": "fp8", "relativeQuality": 0.99, "swapModes": ["InPlace"], "modelVersion": "2"},
    ],
}


def body(annotations: Any = None, owned: bool = False, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = (
        {"template": {"spec": {"containers": [{"name": "server"}, {"name": "sidecar"}]}}}
        if owned
        else {"scaleTargetRef": {"name": "model"}}
    )
    base.update(spec)
    meta: dict[str, Any] = {"name": "chat", "namespace": "ml"}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": {k: v for k, v in base.items() if v is not None}}


def errors_of(obj: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSpec) as caught:
        parse_service(obj)
    return [(e.path, e.message) for e in caught.value.errors]


def hints(annotations: dict[str, Any], **spec: Any) -> ActuationHints:
    return parse_service(body(annotations, **spec)).hints


# ---- annotations ----------------------------------------------------------------------------


def test_no_annotations_give_the_defaults() -> None:
    spec = parse_service(body())
    assert spec.hints == ActuationHints()
    assert spec.hints.in_place_port == 8000 and spec.hints.manual_hold_seconds is None
    assert spec.in_place_protocol == InPlaceProtocol.HOOK
    assert parse_service(body(metrics={"preset": "triton"})).in_place_protocol == InPlaceProtocol.TRITON


@pytest.mark.parametrize(
    ("annotations", "attr", "expected"),
    [
        ({PROTOCOL_ANNOTATION: "triton"}, "in_place_protocol", InPlaceProtocol.TRITON),
        ({PROTOCOL_ANNOTATION: "http-hook"}, "in_place_protocol", InPlaceProtocol.HOOK),
        ({PORT_ANNOTATION: "1"}, "in_place_port", 1),
        ({PORT_ANNOTATION: "65535"}, "in_place_port", 65535),
        ({HOLD_ANNOTATION: "0"}, "manual_hold_seconds", 0.0),
        ({HOLD_ANNOTATION: "60"}, "manual_hold_seconds", 60.0),
        ({HOLD_ANNOTATION: "90.5"}, "manual_hold_seconds", 90.5),
        ({HOLD_ANNOTATION: str(MAX_HOLD_SECONDS)}, "manual_hold_seconds", 604800.0),
        ({MODEL_CONTAINER_ANNOTATION: "server"}, "model_container", "server"),
    ],
)
def test_valid_annotation_is_parsed(annotations: dict[str, str], attr: str, expected: Any) -> None:
    assert getattr(hints(annotations), attr) == expected


def test_other_annotations_are_ignored() -> None:
    annotations = {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "search", "sim.governor.dev/x": ""}
    assert hints(annotations) == ActuationHints()


def test_the_protocol_annotation_overrides_the_preset_default() -> None:
    spec = parse_service(body({PROTOCOL_ANNOTATION: "http-hook"}, metrics={"preset": "triton"}))
    assert spec.in_place_protocol == InPlaceProtocol.HOOK


ONE_OF = "must be one of triton, http-hook, got"
PORT = "must be a port number from 1 to 65535, got"
HOLD = "must be a number of seconds from 0 to 604800 (7 days), got"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (PROTOCOL_ANNOTATION, "gopher", f"{ONE_OF} 'gopher'"),
        (PROTOCOL_ANNOTATION, "Triton", f"{ONE_OF} 'Triton'"),
        (PROTOCOL_ANNOTATION, "", f"{ONE_OF} ''"),
        (PORT_ANNOTATION, "0", f"{PORT} '0'"),
        (PORT_ANNOTATION, "65536", f"{PORT} '65536'"),
        (PORT_ANNOTATION, "-1", f"{PORT} '-1'"),
        (PORT_ANNOTATION, "80.0", f"{PORT} '80.0'"),
        (PORT_ANNOTATION, " 80", f"{PORT} ' 80'"),
        (PORT_ANNOTATION, "٨٠", f"{PORT} '٨٠'"),  # Arabic-Indic digits: int() would take them
        (PORT_ANNOTATION, "9" * 400, f"{PORT} '{'9' * 61}...'"),
        (HOLD_ANNOTATION, "1e12", f"{HOLD} '1e12'"),
        (HOLD_ANNOTATION, "604801", f"{HOLD} '604801'"),
        (HOLD_ANNOTATION, "-5", f"{HOLD} '-5'"),
        (HOLD_ANNOTATION, "nan", f"{HOLD} 'nan'"),
        (HOLD_ANNOTATION, "inf", f"{HOLD} 'inf'"),
        (HOLD_ANNOTATION, "1_000", f"{HOLD} '1_000'"),
        (HOLD_ANNOTATION, "soon", f"{HOLD} 'soon'"),
        (HOLD_ANNOTATION, "", f"{HOLD} ''"),
        (MODEL_CONTAINER_ANNOTATION, "Server", "'Server' is not a DNS-1123 label (a container name)"),
        (MODEL_CONTAINER_ANNOTATION, "a/../b", "'a/../b' is not a DNS-1123 label (a container name)"),
        (MODEL_CONTAINER_ANNOTATION, "x" * 64, "must be at most 63 characters long"),
    ],
)
def test_invalid_annotation_is_reported_at_its_key(key: str, value: str, message: str) -> None:
    assert errors_of(body({key: value})) == [(f'metadata.annotations["{key}"]', message)]
    assert annotation_path(key) == f'metadata.annotations["{key}"]'


def test_an_unknown_governor_annotation_is_a_typo_not_silence() -> None:
    ((path, message),) = errors_of(body({"governor.dev/manual-hold-second": "60"}))
    assert path == 'metadata.annotations["governor.dev/manual-hold-second"]'
    assert message.startswith("unknown Governor annotation; known: ") and HOLD_ANNOTATION in message


@pytest.mark.parametrize(
    ("annotations", "path", "message"),
    [
        ("x", "metadata.annotations", "must be an object, got string"),
        ([PORT_ANNOTATION], "metadata.annotations", "must be an object, got array"),
        ({PORT_ANNOTATION: 8000}, f'metadata.annotations["{PORT_ANNOTATION}"]', "must be a string, got number"),
        ({HOLD_ANNOTATION: None}, f'metadata.annotations["{HOLD_ANNOTATION}"]', "must be a string, got null"),
    ],
)
def test_annotations_of_the_wrong_shape(annotations: Any, path: str, message: str) -> None:
    assert errors_of(body(annotations)) == [(path, message)]


def test_every_bad_annotation_is_reported_at_once() -> None:
    found = errors_of(body({PROTOCOL_ANNOTATION: "gopher", HOLD_ANNOTATION: "1e12", PORT_ANNOTATION: "0"}))
    assert sorted(path for path, _ in found) == sorted(
        annotation_path(k) for k in (PROTOCOL_ANNOTATION, HOLD_ANNOTATION, PORT_ANNOTATION)
    )


def test_model_container_must_name_a_container_of_an_owned_template() -> None:
    assert hints({MODEL_CONTAINER_ANNOTATION: "sidecar"}, owned=True).model_container == "sidecar"
    assert errors_of(body({MODEL_CONTAINER_ANNOTATION: "gpu"}, owned=True)) == [
        (
            annotation_path(MODEL_CONTAINER_ANNOTATION),
            "names no container of spec.template.spec.containers (server, sidecar)",
        )
    ]


# ---- scaleTargetRef -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_target_ref_accepts_the_apps_v1_workloads(kind: str) -> None:
    spec = parse_service(body(scaleTargetRef={"apiVersion": "apps/v1", "kind": kind, "name": "model"}))
    assert spec.scale_target_ref is not None and spec.scale_target_ref.kind == kind


KINDS = "must be one of Deployment, StatefulSet, got"


@pytest.mark.parametrize(
    ("ref", "path", "message"),
    [
        ({"kind": "ReplicaSet"}, "spec.scaleTargetRef.kind", f"{KINDS} 'ReplicaSet'"),
        ({"kind": "deployment"}, "spec.scaleTargetRef.kind", f"{KINDS} 'deployment'"),
        ({"kind": "Pod"}, "spec.scaleTargetRef.kind", f"{KINDS} 'Pod'"),
        ({"apiVersion": "v1"}, "spec.scaleTargetRef.apiVersion", "must be one of apps/v1, got 'v1'"),
        (
            {"apiVersion": "apps/v1beta1"},
            "spec.scaleTargetRef.apiVersion",
            "must be one of apps/v1, got 'apps/v1beta1'",
        ),
        ({"apiVersion": 1}, "spec.scaleTargetRef.apiVersion", "must be one of apps/v1, got number"),
    ],
)
def test_target_ref_refuses_other_kinds_and_groups(ref: dict[str, Any], path: str, message: str) -> None:
    assert errors_of(body(scaleTargetRef={"name": "model", **ref})) == [(path, message)]


# ---- names that reach a model server's URL --------------------------------------------------


def in_place(precision: dict[str, Any] | None = None, annotations: Any = None, **spec: Any) -> dict[str, Any]:
    merged = copy.deepcopy(IN_PLACE)
    merged.update(precision or {})
    return body(annotations, precision=merged, **spec)


@pytest.mark.parametrize("name", ["llama", "llama-3.1_8B", "_x", "a" * 128, "ranker.v2"])
def test_model_name_accepts_triton_names(name: str) -> None:
    assert parse_service(in_place({"modelName": name})).precision.model_name == name


@pytest.mark.parametrize("name", [".hidden", "..", "a/b", "a b", "llama?x=1", "ünï", "%2e%2e", "a" * 129, ""])
def test_model_name_refuses_what_would_change_a_url(name: str) -> None:
    ((path, message),) = errors_of(in_place({"modelName": name}))
    assert path == "spec.precision.modelName"
    assert message == (
        "must be at most 128 characters long"
        if len(name) > 128
        else f"{name!r} is not a model name (1 to 128 letters, digits, '_', '-' or '.', not starting with '.')"
    )


@pytest.mark.parametrize("version", ["a/b", "../1", "1 2", "v1?x", ".1", "", "ß"])
def test_model_version_refuses_what_would_change_a_url(version: str) -> None:
    variants = [{"precision": "bf16", "swapModes": ["InPlace"], "modelVersion": version}]
    ((path, message),) = errors_of(in_place({"variants": variants}))
    assert path == "spec.precision.variants[0].modelVersion"
    assert message == (
        f"{version!r} is not a model version (1 to 128 letters, digits, '_', '-' or '.', not starting with '.' or '-')"
    )


def test_the_hook_protocol_takes_any_safe_version_but_triton_wants_positive_integers() -> None:
    variants = [{"precision": "bf16", "swapModes": ["InPlace"], "modelVersion": "v2-fp8"}]
    assert parse_service(in_place({"variants": variants})).precision.variants[0].model_version == "v2-fp8"
    for triton in ({"annotations": {PROTOCOL_ANNOTATION: "triton"}}, {"metrics": {"preset": "triton"}}):
        assert errors_of(in_place({"variants": variants}, **triton)) == [
            (
                "spec.precision.variants[0].modelVersion",
                "must be a positive integer: the in-place protocol is triton, got 'v2-fp8'",
            )
        ]
    zero = [{"precision": "bf16", "swapModes": ["InPlace"], "modelVersion": "0"}]
    assert errors_of(in_place({"variants": zero}, annotations={PROTOCOL_ANNOTATION: "triton"}))[0][1].endswith("'0'")


def test_without_model_name_the_model_label_is_the_in_place_name_and_must_be_one() -> None:
    unset = {"modelName": None}
    spec = parse_service(in_place(unset, metrics={"modelLabel": "llama-3"}))
    assert spec.in_place_model == "llama-3"
    assert parse_service(in_place(unset)).in_place_model == "chat"
    assert errors_of(in_place(unset, metrics={"modelLabel": "meta/llama 3"})) == [
        (
            "spec.metrics.modelLabel",
            "'meta/llama 3' is not a model name (1 to 128 letters, digits, '_', '-' or '.', not starting with '.'),"
            " and it names the model for in-place swaps while spec.precision.modelName is unset",
        )
    ]
    rolling_only = body(metrics={"modelLabel": "meta/llama 3"})
    assert isinstance(parse_service(rolling_only), ServiceSpec)  # a PromQL label value only: any text will do
