"""A workload's label selector, as the API's ``labelSelector`` string and as a filter with the same meaning.

An in-place swap asks each pod of the target workload to load another model version, so the pods
must be exactly the workload's: reading only ``matchLabels`` of a selector written with
``matchExpressions`` gives an empty selector, and an empty selector lists every pod of the
namespace. Both parts are honoured here (``In``, ``NotIn``, ``Exists``, ``DoesNotExist``), and what
comes back from the API is filtered again with the same semantics (not every API filters: the
test emulator does not). A selector that cannot be written safely — empty, malformed, an unknown
operator, a key or value a label could not carry — raises ``UnsupportedSelector``: never "all pods".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from governor.kube.client import KubeObject
from governor.model import GovernorError

OPERATORS: Final = ("In", "NotIn", "Exists", "DoesNotExist")
_NAME: Final = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
_PREFIX: Final = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)"
LABEL_KEY: Final = re.compile(f"{_PREFIX}?{_NAME}")
LABEL_VALUE: Final = re.compile(f"{_NAME}?")


class UnsupportedSelector(GovernorError):
    """A selector Governor cannot express safely, with the reason."""


def label_selector(selector: object) -> str:
    """The ``labelSelector`` query for ``selector`` (a ``LabelSelector`` object)."""
    labels, expressions = _parts(selector)
    terms = [f"{k}={v}" for k, v in sorted(labels.items())]
    for key, operator, values in expressions:
        if operator == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif operator == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        else:
            terms.append(key if operator == "Exists" else f"!{key}")
    return ",".join(terms)


def selects(selector: object, labels: Mapping[str, str]) -> bool:
    """Whether an object with ``labels`` is selected, as the API server decides it."""
    wanted, expressions = _parts(selector)
    if any(labels.get(k) != v for k, v in wanted.items()):
        return False
    for key, operator, values in expressions:
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def pod_labels(obj: KubeObject) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}


Expression = tuple[str, str, tuple[str, ...]]


def _parts(selector: object) -> tuple[dict[str, str], list[Expression]]:
    if selector is None:
        raise UnsupportedSelector("the workload has no spec.selector")
    if not isinstance(selector, Mapping):
        raise UnsupportedSelector("spec.selector is not an object")
    labels = _match_labels(selector.get("matchLabels"))
    expressions = _expressions(selector.get("matchExpressions"))
    if not labels and not expressions:
        raise UnsupportedSelector("an empty selector selects every pod of the namespace")
    return labels, expressions


def _match_labels(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnsupportedSelector("spec.selector.matchLabels is not an object")
    for key, label in value.items():
        if not isinstance(key, str) or not LABEL_KEY.fullmatch(key):
            raise UnsupportedSelector(f"matchLabels: {str(key)[:64]!r} is not a label key")
        if not isinstance(label, str) or not LABEL_VALUE.fullmatch(label):
            raise UnsupportedSelector(f"matchLabels[{key!r}]: {label!r} is not a label value"[:160])
    return dict(value)


def _expressions(value: object) -> list[Expression]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise UnsupportedSelector("spec.selector.matchExpressions is not a list")
    return [_expression(item, f"matchExpressions[{index}]") for index, item in enumerate(value)]


def _expression(item: object, where: str) -> Expression:
    if not isinstance(item, Mapping):
        raise UnsupportedSelector(f"{where} is not an object")
    key, operator, values = item.get("key"), item.get("operator"), item.get("values")
    if not isinstance(key, str) or not LABEL_KEY.fullmatch(key):
        raise UnsupportedSelector(f"{where}: {str(key)[:64]!r} is not a label key")
    if operator not in OPERATORS:
        raise UnsupportedSelector(f"{where}: operator {str(operator)[:32]!r} is not one of {', '.join(OPERATORS)}")
    if values is not None and (isinstance(values, str) or not isinstance(values, Sequence)):
        raise UnsupportedSelector(f"{where}: values is not a list")
    listed = tuple(values or ())
    if operator in ("In", "NotIn") and not listed:
        raise UnsupportedSelector(f"{where}: {operator} needs at least one value")
    if operator in ("Exists", "DoesNotExist") and listed:
        raise UnsupportedSelector(f"{where}: {operator} takes no values")
    for label in listed:
        if not isinstance(label, str) or not LABEL_VALUE.fullmatch(label):
            raise UnsupportedSelector(f"{where}: {str(label)[:64]!r} is not a label value")
    return key, str(operator), listed
