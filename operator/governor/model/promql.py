"""PromQL text: escaping of user-supplied values, and the per-service override templates and their scope.

Values that come from users (namespace, service, model names) are never spliced raw into a
query. Kubernetes names must be DNS-1123 labels or they are rejected; any other value is
escaped as the contents of a PromQL string literal. An override template may use a
placeholder only inside a double- or single-quoted string, where escaping makes any value a
plain literal (a backtick raw string cannot escape, so placeholders there are rejected).

An override is a tenant's query run with Governor's Prometheus identity, so ``scope_problems``
parses it (the full PromQL grammar, through ``promql_parser``; never a pattern match) and allows
it only when it reads its own namespace and stays cheap:

* every series selector carries the exact matcher ``namespace="<its namespace>"`` (no regex, no
  ``or`` alternatives), so no series of another namespace can be read;
* no range, subquery range or offset reaches further back than ``MAX_LOOKBACK`` and no ``@``
  pins an evaluation time, so a tick never scans days of history;
* a subquery's resolution is at least ``MIN_SUBQUERY_STEP``, and at most ``MAX_SELECTORS``
  selectors appear, so the cost of one query is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, Final

import promql_parser

from governor.model.errors import GovernorError

NAMESPACE_LABEL: Final = "namespace"
MAX_LOOKBACK: Final = timedelta(hours=1)
MIN_SUBQUERY_STEP: Final = timedelta(seconds=10)
MAX_SELECTORS: Final = 10
# Placeholder values used to check a template's scope before any tick fills it.
CHECK_VALUES: Final = {"window": "1m", "threshold_seconds": "0.3", "service_label": "service", "model": "model"}

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
KNOWN_PLACEHOLDERS = frozenset({"namespace", "service", "model", "window", "threshold_seconds", "service_label"})
_STRING_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": ""}
_REGEX_SPECIAL = re.compile(r"([.^$*+?()\[\]{}|\\])")


class UnsafeQuery(GovernorError):
    """A template or value would change the meaning of a PromQL query; nothing is sent."""


def escape_string(value: str, quote_char: str = '"') -> str:
    """``value`` as the contents of a PromQL string literal opened by ``quote_char``.

    PromQL allows escaping only the opening quote, the backslash and control characters.
    """
    escapes = {**_STRING_ESCAPES, quote_char: "\\" + quote_char}
    return "".join(escapes.get(ch, ch) for ch in value)


def quote(value: str) -> str:
    return '"' + escape_string(value) + '"'


def regex_literal(value: str) -> str:
    """A RE2 pattern matching exactly ``value`` (to be quoted afterwards)."""
    return _REGEX_SPECIAL.sub(r"\\\1", value)


def check_k8s_name(value: str, what: str) -> str:
    if not DNS1123_LABEL.fullmatch(value):
        raise UnsafeQuery(f"{what} {value!r} is not a valid Kubernetes name")
    return value


def check_label_name(value: str) -> str:
    if not LABEL_NAME.fullmatch(value):
        raise UnsafeQuery(f"{value!r} is not a valid Prometheus label name")
    return value


_MATCH_OPS: Final = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


def check_matchers(text: str) -> str:
    """``text`` as a canonical list of label matchers (``job="x",namespace=~"a|b"``), or ``UnsafeQuery``.

    For selectors an administrator configures (which exporter's series count). The text is parsed
    as the inside of one series selector and written anew from the parsed matchers, so nothing
    but matchers (no closing brace, comment, ``or``, range or offset) reaches a query; at least one
    matcher must not match the empty string (Prometheus' own rule), and ``__name__`` is Governor's.
    """
    try:
        node = promql_parser.parse("{" + text + "\n}")  # the newline ends a comment before the brace
    except (ValueError, RuntimeError) as exc:
        raise UnsafeQuery(f"{text!r} is not a list of label matchers: {str(exc).splitlines()[0]}") from None
    if not isinstance(node, promql_parser.VectorSelector) or node.offset is not None or node.at is not None:
        raise UnsafeQuery(f"{text!r} is not a list of label matchers")
    if node.matchers.or_matchers:
        raise UnsafeQuery(f"{text!r} uses 'or'; give one list of matchers")
    matchers = node.matchers.matchers
    if any(m.name == "__name__" for m in matchers):
        raise UnsafeQuery(f"{text!r} matches on __name__; Governor chooses the metric names")
    return ",".join(f"{check_label_name(m.name)}{_MATCH_OPS[str(m.op)]}{quote(m.value)}" for m in matchers)


def _quoted_spans(template: str) -> list[tuple[int, int, str]]:
    """(start, end, quote char) of every string literal in ``template``, honouring escapes."""
    spans: list[tuple[int, int, str]] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch in "\"'`":
            start = i
            i += 1
            while i < len(template) and template[i] != ch:
                i += 2 if template[i] == "\\" and ch != "`" else 1
            if i >= len(template):
                raise UnsafeQuery("unterminated string literal in template")
            spans.append((start, i, ch))
        i += 1
    return spans


TRUSTED_PLACEHOLDERS = frozenset({"window", "threshold_seconds", "service_label"})


def validate_template(template: str) -> dict[int, str]:
    """Reject templates whose placeholders are unknown or could be filled outside a string.

    Returns the enclosing quote character of each user-valued placeholder, by its offset.
    """
    spans = _quoted_spans(template)
    quotes: dict[int, str] = {}
    for match in PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name not in KNOWN_PLACEHOLDERS:
            raise UnsafeQuery(f"unknown placeholder {{{{{name}}}}}")
        if name in TRUSTED_PLACEHOLDERS:
            continue  # filled by Governor from validated settings and numbers, not from users
        inside = [s for s in spans if s[0] < match.start() and match.end() <= s[1]]
        if not inside or inside[0][2] == "`":
            raise UnsafeQuery(f"placeholder {{{{{name}}}}} must be inside a double- or single-quoted string")
        quotes[match.start()] = inside[0][2]
    return quotes


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill ``template``; string placeholders are escaped, trusted ones inserted as given."""
    quotes = validate_template(template)
    check_k8s_name(values.get("namespace", "default"), "namespace")
    check_k8s_name(values.get("service", "default"), "service")

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise UnsafeQuery(f"no value for placeholder {{{{{name}}}}}")
        if name in TRUSTED_PLACEHOLDERS:
            return values[name]
        return escape_string(values[name], quotes[match.start()])

    return PLACEHOLDER.sub(fill, template)


def scope_problems(template: str, namespace: str, service: str) -> list[str]:
    """Why the override ``template`` of ``namespace/service`` may not run (empty: it may)."""
    try:
        rendered = render(template, {**CHECK_VALUES, "namespace": namespace, "service": service})
    except UnsafeQuery as exc:
        return [str(exc)]
    try:
        tree = promql_parser.parse(rendered)
    except (ValueError, RuntimeError) as exc:
        return [f"is not valid PromQL: {str(exc).splitlines()[0]}"]
    problems: list[str] = []
    selectors = 0
    for node in walk(tree):
        if isinstance(node, promql_parser.VectorSelector):
            selectors += 1
            problems.extend(_selector_problems(node, namespace))
        elif isinstance(node, promql_parser.MatrixSelector) and node.range > MAX_LOOKBACK:
            problems.append(f"range [{_duration(node.range)}] reaches back further than {_duration(MAX_LOOKBACK)}")
        elif isinstance(node, promql_parser.SubqueryExpr):
            problems.extend(_subquery_problems(node))
    if selectors > MAX_SELECTORS:
        problems.append(f"reads {selectors} series selectors; at most {MAX_SELECTORS} are allowed")
    return list(dict.fromkeys(problems))


def _selector_problems(node: Any, namespace: str) -> Iterator[str]:
    name = node.name or str(node)
    if node.matchers.or_matchers:
        yield f"selector {name} uses 'or' matchers; write one selector per alternative"
    scoped = [m for m in node.matchers.matchers if m.name == NAMESPACE_LABEL and m.op == promql_parser.MatchOp.Equal]
    if not any(m.value == namespace for m in scoped):
        yield f'selector {name} must be limited to its own namespace with {NAMESPACE_LABEL}="{{{{namespace}}}}"'
    if node.at is not None:
        yield f"selector {name} uses '@': an override reads the present only"
    if node.offset is not None and abs(node.offset) > MAX_LOOKBACK:
        yield f"selector {name} has an offset beyond {_duration(MAX_LOOKBACK)}"


def _subquery_problems(node: Any) -> Iterator[str]:
    if node.range > MAX_LOOKBACK:
        yield f"subquery range [{_duration(node.range)}] reaches back further than {_duration(MAX_LOOKBACK)}"
    if node.step is not None and node.step < MIN_SUBQUERY_STEP:
        yield f"subquery resolution {_duration(node.step)} is finer than {_duration(MIN_SUBQUERY_STEP)}"
    if node.at is not None:
        yield "a subquery uses '@': an override reads the present only"
    if node.offset is not None and abs(node.offset) > MAX_LOOKBACK:
        yield f"a subquery has an offset beyond {_duration(MAX_LOOKBACK)}"


def walk(node: Any) -> Iterator[Any]:
    """Every node of a ``promql_parser`` tree, the root first."""
    yield node
    for attr in ("expr", "param", "lhs", "rhs", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, str | int | float):
            yield from walk(child)
    for arg in getattr(node, "args", None) or ():
        yield from walk(arg)


def _duration(value: timedelta) -> str:
    return str(promql_parser.display_duration(value))
