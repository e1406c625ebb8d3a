"""Every CRD in crds/ would be accepted by the API server: structural, well-formed, self-consistent."""

from __future__ import annotations

import copy
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from governor import data
from governor.model import crdschema
from governor.model.errors import InvalidSpec
from governor.model.parse import parse_service

from .conftest import CRD_FILES, ISVC_CRD, documents


def _crds() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{p.name}:{d['metadata']['name']}", d) for p in CRD_FILES for d in documents(p)]


@pytest.mark.parametrize(("name", "crd"), _crds(), ids=[n for n, _ in _crds()])
def test_crd_is_structural(name: str, crd: dict[str, Any]) -> None:
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1" and crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"
    versions = crd["spec"]["versions"]
    assert sum(1 for v in versions if v["storage"]) == 1
    for version in versions:
        schema = version["schema"]["openAPIV3Schema"]
        assert crdschema.structural_problems(schema) == []
        jsonschema.Draft202012Validator.check_schema(crdschema.to_json_schema(schema))


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object", "properties": {"a": {"description": "no type"}}}, ".a: has no type"),
        ({"type": "object", "properties": {"a": {"type": "object", "properties": {}, "additionalProperties": {}}}},
         ".a: properties and additionalProperties are mutually exclusive"),
        ({"type": "object", "properties": {"a": {"type": "array"}}}, ".a: an array needs a single items schema"),
        ({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}}},
         ".a: uniqueItems: true is not allowed"),
        ({"type": "object", "properties": {"a": {"x-kubernetes-int-or-string": True, "type": "string"}}},
         ".a: x-kubernetes-int-or-string needs anyOf"),
        ({"type": "object", "properties": {"a": {"type": "string", "anyOf": [{"type": "string", "default": "x"}]}}},
         ".a: anyOf may carry value validations only, not default"),
        ({"type": "object", "properties": {"a": {"type": "array", "x-kubernetes-list-type": "map",
                                                 "items": {"type": "object", "properties": {"k": {"type": "string"}}},
                                                 "x-kubernetes-list-map-keys": ["k"]}}},
         ".a: list-map key k must be required or defaulted"),
        ({"type": "object", "properties": {"metadata": {"type": "object", "x-kubernetes-embedded-resource": True}}},
         ".metadata: metadata may only be restricted"),
        ({"type": "object", "properties": {"a": {"$ref": "#/x", "type": "object"}}}, ".a: uses forbidden keyword $ref"),
        ({"type": "object", "x-kubernetes-validations": [{"rule": "true"}]}, "<root>: every x-kubernetes-validations"),
        ({"type": "string"}, "<root>: the root must have type: object"),
    ],
)  # fmt: skip
def test_structural_checker_catches(schema: dict[str, Any], problem: str) -> None:
    problems = crdschema.structural_problems(schema)
    assert any(p.startswith(problem) for p in problems), problems


def test_names_versions_and_subresources(isvc_schema: dict[str, Any]) -> None:
    crd = documents(Path(CRD_FILES[0]).parent / "inferenceservice.yaml")[0]
    names = crd["spec"]["names"]
    assert (crd["spec"]["group"], names["kind"], names["plural"]) == (
        "governor.dev",
        "InferenceService",
        "inferenceservices",
    )
    assert names["shortNames"] == ["gisvc"] and "governor" in names["categories"]
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    scale = version["subresources"]["scale"]
    assert version["subresources"]["status"] == {}
    # The scale subresource's paths exist with the types the autoscaling/v1 Scale needs.
    assert _node(isvc_schema, scale["specReplicasPath"])["type"] == "integer"
    assert _node(isvc_schema, scale["statusReplicasPath"])["type"] == "integer"
    assert _node(isvc_schema, scale["labelSelectorPath"])["type"] == "string"


def _node(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = schema
    for part in dotted.strip(".").split("."):
        node = node["properties"][part.split("[")[0]]
    return node


# The columns `kubectl get gisvc` prints, in order; `-o wide` adds the priority-1 ones.
PRINTER_COLUMNS = {
    "Ready": '.status.conditions[?(@.type=="Ready")].status',
    "Min": ".spec.minReplicas",
    "Max": ".spec.maxReplicas",
    "Desired": ".status.desiredReplicas",
    "Replicas": ".status.replicas",
    "Ready-Replicas": ".status.readyReplicas",
    "Precision": ".status.precision",
    "P99(ms)": ".status.metrics.latencyP99Ms",
    "SLO(ms)": ".spec.slo.latencyMs",
    "TTFT(ms)": ".status.metrics.ttftMs",
    "ITL(ms)": ".status.metrics.itlMs",
    "Goodput": ".status.metrics.goodput",
    "Age": ".metadata.creationTimestamp",
}
WIDE_COLUMNS = {
    "GPU": ".status.metrics.gpuUtilization",
    "Cache-Hit": ".status.metrics.cacheHitRatio",
    "TTFT-SLO(ms)": ".spec.slo.ttft.ms",
    "ITL-SLO(ms)": ".spec.slo.itl.ms",
    "Prompt-Tok/s": ".status.metrics.promptTokensPerSecond",
    "Gen-Tok/s": ".status.metrics.generationTokensPerSecond",
}


def _columns() -> list[dict[str, Any]]:
    crd = documents(CRD_FILES[0].parent / "inferenceservice.yaml")[0]
    return list(crd["spec"]["versions"][0]["additionalPrinterColumns"])


def test_printer_columns(isvc_schema: dict[str, Any]) -> None:
    columns = _columns()
    assert [(c["name"], c["jsonPath"]) for c in columns if not c.get("priority")] == list(PRINTER_COLUMNS.items())
    assert {c["name"]: c["jsonPath"] for c in columns if c.get("priority") == 1} == WIDE_COLUMNS
    for column in columns:
        path = column["jsonPath"]
        if path.startswith(".metadata"):
            assert column["type"] == "date"
            continue
        node = _node(isvc_schema, path.partition("[?")[0])  # a filtered list: the list itself
        if "?" in path:
            item = node["items"]["properties"]
            field = path.rpartition(".")[2]
            assert node["type"] == "array" and field in item and "type" in item, path
            continue
        assert node["type"] == column["type"], (column["name"], node["type"])
        assert column.get("description"), f"column {column['name']} has no description"


def test_latency_columns_carry_their_unit() -> None:
    """A bare "P99" leaves the reader guessing seconds or milliseconds."""
    for column in _columns():
        if column["jsonPath"].endswith("Ms"):
            assert column["name"].endswith("(ms)"), column["name"]


# The apiserver publishes apiVersion, kind and metadata with the standard TypeMeta/ObjectMeta texts
# (tests/cluster/test_kubectl.py sees them in `kubectl explain`); a CRD may not describe metadata.
STANDARD_FIELDS = (".apiVersion", ".kind", ".metadata")


def _described_fields(schema: dict[str, Any]) -> list[tuple[str, bool]]:
    """Every named field of ``schema`` (not list items or map values) and whether it has a description."""
    return [
        (path, bool(str(node.get("description") or "").strip()))
        for path, node in crdschema.walk(schema)
        if path
        and not path.endswith(("[*]", ".*"))
        and not any(path == s or path.startswith(s + ".") for s in STANDARD_FIELDS)
    ]


def test_every_field_has_a_description(isvc_schema: dict[str, Any]) -> None:
    """`kubectl explain gisvc.spec --recursive` documents every field, spec and status, nested too."""
    fields = _described_fields(isvc_schema)
    missing = [path for path, described in fields if not described]
    assert missing == [], f"fields without a description (kubectl explain prints <no description>): {missing}"
    assert len(fields) >= 110
    assert isvc_schema.get("description")


def test_the_description_check_catches_a_missing_one() -> None:
    schema = {
        "type": "object",
        "properties": {
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "description": "d",
                "properties": {
                    "a": {"type": "array", "description": "d", "items": {"type": "object", "properties": {
                        "b": {"type": "string"}}}},
                    "m": {"type": "object", "description": "d", "additionalProperties": {"type": "string"}},
                    "c": {"type": "string", "description": " "},
                },
            },
        },
    }  # fmt: skip
    missing = [path for path, described in _described_fields(schema) if not described]
    assert missing == [".spec.a[*].b", ".spec.c"]


def test_descriptions_state_units_and_defaults(isvc_schema: dict[str, Any]) -> None:
    """A number with a unit in its name says the unit; a field with a default says the default."""
    for path, node in crdschema.walk(isvc_schema):
        text = str(node.get("description") or "")
        name = path.rpartition(".")[2]
        if node.get("type") in ("number", "integer") and name.endswith("Seconds"):
            assert "second" in text.lower() or " s" in text, path
        if node.get("type") == "number" and name.endswith("Ms"):
            assert "millisecond" in text, path
        if "default" in node and node["default"] not in ({}, None) and not path.endswith("[*]"):
            assert "default" in text.lower(), path


def test_every_default_is_valid_for_its_own_field(isvc_schema: dict[str, Any]) -> None:
    checked = 0
    for path, node in crdschema.walk(isvc_schema):
        if "default" in node:
            validator = jsonschema.Draft202012Validator(crdschema.to_json_schema(node))
            assert list(validator.iter_errors(node["default"])) == [], path
            checked += 1
    assert checked >= 30


def test_schema_defaults_equal_the_dataclass_defaults(isvc_schema: dict[str, Any]) -> None:
    for spec in ({"scaleTargetRef": {"name": "m"}}, {"template": {"spec": {"containers": [{"name": "c"}]}}}):
        body = {"metadata": {"name": "a", "namespace": "ns"}, "spec": spec}
        defaulted = crdschema.apply_defaults(isvc_schema, body)
        assert defaulted != body  # defaults were really filled in
        assert parse_service(defaulted) == parse_service(body)


def test_nested_defaults_fill_partial_objects(isvc_schema: dict[str, Any]) -> None:
    body = {
        "spec": {"behavior": {"scaleDown": {"selectPolicy": "Min"}}, "precision": {"variants": [{"precision": "fp8"}]}}
    }
    defaulted = crdschema.apply_defaults(isvc_schema, body)
    assert defaulted["spec"]["behavior"]["scaleDown"] == {
        "selectPolicy": "Min",
        "stabilizationWindowSeconds": 300,
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }
    assert defaulted["spec"]["precision"]["variants"][0]["swapModes"] == ["Rolling"]
    assert "gpuUtilization" in defaulted["spec"]["targets"]
    explicit_null = crdschema.apply_defaults(isvc_schema, {"spec": {"targets": {"gpuUtilization": None}}})
    assert explicit_null["spec"]["targets"]["gpuUtilization"] is None  # nullable: null switches it off


def _probe(path: str) -> Any:
    """A body whose only content sits at ``path`` (``.spec.a[*].b``), holding an object of the wrong type."""
    value: Any = {"__probe__": {"x": 1}}
    for part in reversed(path.strip(".").split(".")[1:]):
        name, _, rest = part.partition("[")
        for _ in range(rest.count("*")):
            value = [value]
        value = {name if name != "*" else "key": value}
    return {"metadata": {"name": "a"}, "spec": value}


def test_parser_knows_every_field_of_the_crd(isvc_schema: dict[str, Any]) -> None:
    spec_schema = isvc_schema["properties"]["spec"]
    probed = 0
    for path, _node in crdschema.walk(spec_schema, ".spec"):
        if path == ".spec" or ".template." in path or ".valueFrom." in path:
            continue
        with pytest.raises(InvalidSpec) as caught:
            parse_service(copy.deepcopy(_probe(path)))
        target = path.strip(".").replace("[*]", "[0]").replace(".*", ".key")
        unknown = [e for e in caught.value.errors if e.message == "unknown field" and e.path == target]
        assert unknown == [], f"the CRD declares {target} but parse_service does not know it"
        probed += 1
    assert probed >= 60


def test_the_package_ships_a_byte_equal_copy_of_the_crd() -> None:
    """governor validate and governor demo read the CRD as package data (governor/data/), never
    from the source tree; crds/ is the one source, and this copy must follow it."""
    shipped = files(data).joinpath(data.CRD_FILE).read_bytes()
    fix = f"cp {ISVC_CRD.relative_to(ISVC_CRD.parents[1])} operator/governor/data/{data.CRD_FILE}"
    assert shipped == ISVC_CRD.read_bytes(), f"governor/data/{data.CRD_FILE} is stale: {fix}"
    assert data.crd() == documents(ISVC_CRD)[0]
