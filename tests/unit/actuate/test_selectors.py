"""A workload's label selector, as the API's labelSelector string and as a filter with the same meaning."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governor.actuate.swap.selectors import UnsupportedSelector, label_selector, selects

APP = {"matchLabels": {"app": "chat"}}
EXPRESSIONS = {
    "matchExpressions": [
        {"key": "app", "operator": "In", "values": ["chat", "chat-canary"]},
        {"key": "tier", "operator": "NotIn", "values": ["batch"]},
        {"key": "gpu", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"},
    ]
}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (APP, "app=chat"),
        ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
        (EXPRESSIONS, "app in (chat,chat-canary),tier notin (batch),gpu,!legacy"),
        (
            {"matchLabels": {"governor.dev/service": "chat"}, "matchExpressions": [{"key": "x", "operator": "Exists"}]},
            "governor.dev/service=chat,x",
        ),
        ({"matchLabels": {"app": ""}}, "app="),
    ],
)
def test_selector_string(selector: dict[str, Any], expected: str) -> None:
    assert label_selector(selector) == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"app": "chat", "gpu": "h100"}, True),
        ({"app": "chat-canary", "gpu": "", "tier": "online"}, True),
        ({"app": "chat", "gpu": "h100", "tier": "batch"}, False),  # NotIn
        ({"app": "chat"}, False),  # Exists
        ({"app": "chat", "gpu": "a", "legacy": "true"}, False),  # DoesNotExist
        ({"app": "other", "gpu": "a"}, False),  # In
        ({"gpu": "a"}, False),  # In needs the key
    ],
)
def test_expressions_filter_like_kubernetes(labels: dict[str, str], expected: bool) -> None:
    assert selects(EXPRESSIONS, labels) is expected


@pytest.mark.parametrize(
    ("selector", "reason"),
    [
        (None, "the workload has no spec.selector"),
        ({}, "an empty selector selects every pod of the namespace"),
        ({"matchLabels": {}, "matchExpressions": []}, "an empty selector selects every pod of the namespace"),
        ("app=chat", "spec.selector is not an object"),
        ({"matchLabels": ["app"]}, "spec.selector.matchLabels is not an object"),
        ({"matchLabels": {"app": 1}}, "matchLabels['app']: 1 is not a label value"),
        ({"matchLabels": {"app,x": "chat"}}, "matchLabels: 'app,x' is not a label key"),
        ({"matchLabels": {"app": "a b"}}, "matchLabels['app']: 'a b' is not a label value"),
        ({"matchExpressions": {"key": "app"}}, "spec.selector.matchExpressions is not a list"),
        ({"matchExpressions": ["app"]}, "matchExpressions[0] is not an object"),
        ({"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]},
         "matchExpressions[0]: operator 'Gt' is not one of In, NotIn, Exists, DoesNotExist"),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": []}]},
         "matchExpressions[0]: In needs at least one value"),
        ({"matchExpressions": [{"key": "app", "operator": "In"}]}, "matchExpressions[0]: In needs at least one value"),
        ({"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]},
         "matchExpressions[0]: Exists takes no values"),
        ({"matchExpressions": [{"key": "a)b", "operator": "Exists"}]},
         "matchExpressions[0]: 'a)b' is not a label key"),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a,b"]}]},
         "matchExpressions[0]: 'a,b' is not a label value"),
    ],
)  # fmt: skip
def test_a_selector_that_cannot_be_expressed_safely_is_refused(selector: Any, reason: str) -> None:
    with pytest.raises(UnsupportedSelector) as caught:
        label_selector(selector)
    assert reason in str(caught.value)
    with pytest.raises(UnsupportedSelector):
        selects(selector, {"app": "chat"})


KEYS = st.sampled_from(["app", "tier", "gpu", "governor.dev/service"])
VALUES = st.sampled_from(["chat", "batch", "", "a"])
EXPRESSION = st.one_of(
    st.fixed_dictionaries(
        {"key": KEYS, "operator": st.sampled_from(["In", "NotIn"]), "values": st.lists(VALUES, min_size=1, max_size=3)}
    ),
    st.fixed_dictionaries({"key": KEYS, "operator": st.sampled_from(["Exists", "DoesNotExist"])}),
)


def _parse(selector: str) -> list[tuple[str, str, set[str]]]:
    """A tiny reader of the selector string the API server would get: (key, op, values) per requirement."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    out: list[tuple[str, str, set[str]]] = []
    for part in parts:
        if " notin (" in part or " in (" in part:
            key, op, rest = part.split(" ", 2)
            out.append((key, op, set(rest[1:-1].split(","))))
        elif "=" in part:
            key, value = part.split("=", 1)
            out.append((key, "=", {value}))
        elif part.startswith("!"):
            out.append((part[1:], "!", set()))
        else:
            out.append((part, "exists", set()))
    return out


def _string_selects(selector: str, labels: dict[str, str]) -> bool:
    checks = {
        "=": lambda k, v: labels.get(k) in v,
        "in": lambda k, v: k in labels and labels[k] in v,
        "notin": lambda k, v: k not in labels or labels[k] not in v,
        "exists": lambda k, v: k in labels,
        "!": lambda k, v: k not in labels,
    }
    return all(checks[op](key, values) for key, op, values in _parse(selector))


@given(
    match_labels=st.dictionaries(KEYS, VALUES, max_size=2),
    expressions=st.lists(EXPRESSION, max_size=4),
    labels=st.dictionaries(KEYS, VALUES, max_size=4),
)
def test_the_string_and_the_filter_agree(
    match_labels: dict[str, str], expressions: list[dict[str, Any]], labels: dict[str, str]
) -> None:
    selector = {"matchLabels": match_labels, "matchExpressions": expressions}
    if not match_labels and not expressions:
        return
    assert selects(selector, labels) == _string_selects(label_selector(selector), labels)
