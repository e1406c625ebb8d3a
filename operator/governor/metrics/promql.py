"""PromQL text: escaping of user-supplied values and the per-service override templates.

Values that come from users (namespace, service, model names) are never spliced raw into a
query. Kubernetes names must be DNS-1123 labels or they are rejected; any other value is
escaped as the contents of a PromQL string literal. An override template may use a
placeholder only inside a double- or single-quoted string, where escaping makes any value a
plain literal (a backtick raw string cannot escape, so placeholders there are rejected).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from governor.model.errors import GovernorError

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
