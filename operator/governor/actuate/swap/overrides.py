"""Turn a precision variant into the model container it runs as: pure functions on plain manifests.

A variant (``spec.precision.variants[]``) overrides parts of one container — the *model
container*: the one named by the ``governor.dev/model-container`` annotation on the
InferenceService, else the first container of the pod template. The overrides are:

* ``image`` replaces the image;
* ``args`` replaces the argument list;
* ``env`` is merged by name: a variable the variant names is set (or replaced), others are kept;
* ``resources`` is merged per section (``limits`` / ``requests``) and per resource name.

A swap never edits other containers, and the container list is always written whole (a JSON
merge patch replaces lists), so every write is computed from a fresh read of the workload.

Whether a container already carries a variant is asked of what the API server gives back, which
is not what was written: it adds defaults, and it rewrites resource quantities in canonical form
(``1`` → ``"1"``, ``0.5`` → ``"500m"``, ``1024Mi`` → ``"1Gi"``). ``container_matches`` therefore
accepts extra fields and compares ``resources.limits`` / ``resources.requests`` by value.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Final

from governor.kube.client import KubeObject
from governor.model import Variant
from governor.model.annotations import MODEL_CONTAINER_ANNOTATION
from governor.model.quantity import same_quantity

QUANTITY_SECTIONS: Final = frozenset({"limits", "requests"})  # of ``resources``: resource name → quantity


class ContainerNotFound(LookupError):
    """The pod template has no container of the configured name (or no container at all)."""


def model_container_index(template: KubeObject, name: str | None = None) -> int:
    """Index of the model container in ``template.spec.containers``."""
    containers: Sequence[KubeObject] = (template.get("spec") or {}).get("containers") or ()
    if not containers:
        raise ContainerNotFound("the pod template has no containers")
    if name is None:
        return 0
    for index, container in enumerate(containers):
        if container.get("name") == name:
            return index
    raise ContainerNotFound(f"the pod template has no container named {name!r} ({MODEL_CONTAINER_ANNOTATION})")


def model_container(template: KubeObject, name: str | None = None) -> KubeObject:
    containers = (template.get("spec") or {}).get("containers") or ()
    return copy.deepcopy(dict(containers[model_container_index(template, name)]))


def apply_variant(container: KubeObject, variant: Variant) -> KubeObject:
    """``container`` with ``variant``'s overrides applied; the input is not modified."""
    result = copy.deepcopy(dict(container))
    if variant.image is not None:
        result["image"] = variant.image
    if variant.args is not None:
        result["args"] = list(variant.args)
    if variant.env:
        result["env"] = merge_env(result.get("env") or (), variant.env)
    if variant.resources:
        result["resources"] = merge_resources(result.get("resources") or {}, variant.resources)
    return result


def merge_env(current: Sequence[KubeObject], overrides: Sequence[KubeObject]) -> list[KubeObject]:
    """Environment variables merged by name; order kept, new names appended in the variant's order."""
    by_name = {str(o.get("name")): copy.deepcopy(dict(o)) for o in overrides}
    merged: list[KubeObject] = []
    for entry in current:
        replacement = by_name.pop(str(entry.get("name")), None)
        merged.append(replacement if replacement is not None else copy.deepcopy(dict(entry)))
    merged.extend(by_name.values())
    return merged


def merge_resources(current: KubeObject, overrides: KubeObject) -> KubeObject:
    result = copy.deepcopy(dict(current))
    for section, values in overrides.items():
        if isinstance(values, Mapping):
            result[section] = {**dict(result.get(section) or {}), **copy.deepcopy(dict(values))}
        else:
            result[section] = copy.deepcopy(values)
    return result


def with_container(template: KubeObject, container: KubeObject, name: str | None = None) -> list[KubeObject]:
    """The whole container list of ``template`` with the model container replaced by ``container``."""
    containers = copy.deepcopy(list((template.get("spec") or {}).get("containers") or ()))
    containers[model_container_index(template, name)] = copy.deepcopy(dict(container))
    return containers


def container_matches(actual: KubeObject, wanted: KubeObject) -> bool:
    """Whether ``actual`` already carries everything ``wanted`` sets (an API server may add defaults, and
    writes resource quantities in canonical form: those compare as amounts, ``"500m"`` equals ``0.5``)."""
    plain = {k: v for k, v in wanted.items() if k != "resources"}
    if not _covers(actual, plain):
        return False
    return "resources" not in wanted or _resources_cover(actual.get("resources"), wanted["resources"])


def _resources_cover(actual: object, wanted: object) -> bool:
    if not isinstance(wanted, Mapping) or not isinstance(actual, Mapping):
        return _covers(actual, wanted)
    for section, values in wanted.items():
        have = actual.get(section)
        if section in QUANTITY_SECTIONS and isinstance(values, Mapping):
            if not isinstance(have, Mapping) or not all(same_quantity(have.get(n), q) for n, q in values.items()):
                return False
        elif not _covers(have, values):
            return False
    return True


def _covers(actual: object, wanted: object) -> bool:
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(_covers(actual.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(actual, list) and len(actual) == len(wanted) and all(map(_covers, actual, wanted))
    return bool(actual == wanted)
