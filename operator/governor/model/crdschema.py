"""What the API server does with a CRD's ``openAPIV3Schema``, for places without an API server.

No kube-apiserver runs in Governor's tests or in ``governor validate``, so three of its jobs
are redone here on plain dicts: the *structural schema* rules a CRD must follow to be
accepted, *defaulting* of absent fields, and a translation of the OpenAPI v3.0 dialect
(``nullable``, boolean ``exclusiveMinimum``, ``x-kubernetes-*``) into JSON Schema 2020-12 so
the ``jsonschema`` package can validate objects the way the API server would, strict field
validation included. CEL rules are not evaluated here; ``governor.model.parse`` mirrors them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any, Final

PRESERVE: Final = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING: Final = "x-kubernetes-int-or-string"
EMBEDDED: Final = "x-kubernetes-embedded-resource"
LIST_TYPE: Final = "x-kubernetes-list-type"
LIST_KEYS: Final = "x-kubernetes-list-map-keys"
VALIDATIONS: Final = "x-kubernetes-validations"
# Keywords a structural schema may not use at all (apiextensions' validation rejects them).
FORBIDDEN: Final = ("$ref", "definitions", "id", "patternProperties", "dependencies", "additionalItems", "$schema")
# Keywords that only value validations inside anyOf/allOf/oneOf/not may not carry.
STRUCTURE_ONLY: Final = ("type", "description", "default", "additionalProperties", "nullable", PRESERVE, EMBEDDED)


def version_schema(crd: Mapping[str, Any], version: str | None = None) -> Mapping[str, Any]:
    """The ``openAPIV3Schema`` of ``version`` (default: the storage version) of a CRD document."""
    for entry in crd["spec"]["versions"]:
        if (version is None and entry.get("storage")) or entry["name"] == version:
            schema: Mapping[str, Any] = entry["schema"]["openAPIV3Schema"]
            return schema
    raise KeyError(f"no version {version or '(storage)'} in CRD {crd.get('metadata', {}).get('name')}")


def walk(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every schema node with its object path (``.spec.precision.variants[*].precision``)."""
    yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), Mapping):
        yield from walk(schema["items"], f"{path}[*]")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from walk(schema["additionalProperties"], f"{path}.*")


def structural_problems(schema: Mapping[str, Any]) -> list[str]:
    """Why ``schema`` is not a structural schema (empty when it is)."""
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append("<root>: the root must have type: object")
    for path, node in walk(schema):
        problems.extend(f"{path or '<root>'}: {p}" for p in _node_problems(node, path))
    return problems


def _node_problems(node: Mapping[str, Any], path: str) -> Iterator[str]:
    yield from (f"uses forbidden keyword {k}" for k in FORBIDDEN if k in node)
    if node.get(INT_OR_STRING):
        if "type" in node or node.get("anyOf") != [{"type": "integer"}, {"type": "string"}]:
            yield "x-kubernetes-int-or-string needs anyOf [{type: integer}, {type: string}] and no type"
    elif not node.get("type") and not node.get(PRESERVE):
        yield "has no type (only int-or-string and preserve-unknown-fields nodes may omit it)"
    if "properties" in node and "additionalProperties" in node:
        yield "properties and additionalProperties are mutually exclusive"
    if node.get("additionalProperties") is False:
        yield "additionalProperties: false is not allowed (unknown fields are pruned instead)"
    if node.get("uniqueItems"):
        yield "uniqueItems: true is not allowed (use x-kubernetes-list-type: set)"
    if node.get("type") == "array" and not isinstance(node.get("items"), Mapping):
        yield "an array needs a single items schema"
    if node.get(EMBEDDED) and node.get("type") != "object":
        yield "x-kubernetes-embedded-resource needs type: object"
    if path == ".metadata" and set(node) - {"type", "description", "properties"}:
        yield "metadata may only be restricted in name and generateName"
    for keyword in ("anyOf", "allOf", "oneOf"):
        for branch in node.get(keyword) or ():
            yield from _value_validation_problems(branch, keyword, node)
    if isinstance(node.get("not"), Mapping):
        yield from _value_validation_problems(node["not"], "not", node)
    yield from _list_type_problems(node)
    for rule in node.get(VALIDATIONS) or ():
        if not rule.get("rule") or not (rule.get("message") or rule.get("messageExpression")):
            yield "every x-kubernetes-validations entry needs a rule and a message"


def _value_validation_problems(branch: Mapping[str, Any], keyword: str, node: Mapping[str, Any]) -> Iterator[str]:
    int_or_string = node.get(INT_OR_STRING) and keyword == "anyOf"
    for key in STRUCTURE_ONLY:
        if key in branch and not (int_or_string and key == "type"):
            yield f"{keyword} may carry value validations only, not {key}"


def _list_type_problems(node: Mapping[str, Any]) -> Iterator[str]:
    kind = node.get(LIST_TYPE)
    if kind is None:
        if LIST_KEYS in node:
            yield f"{LIST_KEYS} needs {LIST_TYPE}: map"
        return
    if node.get("type") != "array":
        yield f"{LIST_TYPE} only applies to arrays"
        return
    items = node.get("items") or {}
    if kind == "set" and items.get("type") in ("object", "array"):
        yield "list-type set needs scalar items"
    if kind == "map":
        keys = node.get(LIST_KEYS) or []
        if not keys or items.get("type") != "object":
            yield "list-type map needs object items and x-kubernetes-list-map-keys"
        for key in keys:
            if key not in (items.get("required") or []) and "default" not in (items.get("properties") or {}).get(
                key, {}
            ):
                yield f"list-map key {key} must be required or defaulted"
    if kind not in ("atomic", "set", "map"):
        yield f"unknown list type {kind}"


def apply_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """A copy of ``value`` with the schema's defaults filled in, as the API server does on write."""
    value = copy.deepcopy(value)
    _default(schema, value)
    return value


def _default(schema: Mapping[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name, sub in properties.items():
            if value.get(name) is None and not (name in value and sub.get("nullable")):
                if "default" in sub:
                    value[name] = copy.deepcopy(sub["default"])
                elif name in value:
                    del value[name]  # a null the schema does not allow is pruned
        for name, item in value.items():
            sub = properties.get(name, schema.get("additionalProperties"))
            if isinstance(sub, Mapping):
                _default(sub, item)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            _default(schema["items"], item)


def to_json_schema(schema: Mapping[str, Any], root: bool = True) -> dict[str, Any]:
    """Translate an OpenAPI v3.0 structural schema into JSON Schema 2020-12 (strict on unknown fields).

    The root's ``metadata`` stays open: the API server checks ObjectMeta itself, and a CRD schema
    may only narrow ``name`` and ``generateName`` there.
    """
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "exclusiveMinimum", "exclusiveMaximum"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub, False) for name, sub in value.items()}
            if root and "metadata" in out[key]:
                out[key]["metadata"]["additionalProperties"] = True
        elif key in ("items", "additionalProperties", "not") and isinstance(value, Mapping):
            out[key] = to_json_schema(value, False)
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [to_json_schema(sub, False) for sub in value]
        else:
            out[key] = copy.deepcopy(value)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if schema.get(exclusive) is True and bound in out:
            out[exclusive] = out.pop(bound)
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out and not schema.get(PRESERVE) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get(LIST_TYPE) == "set":
        out["uniqueItems"] = True
    return out


def cel_rules(schema: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every ``x-kubernetes-validations`` entry with the object path of the node carrying it."""
    return [(path, rule) for path, node in walk(schema) for rule in node.get(VALIDATIONS) or ()]
