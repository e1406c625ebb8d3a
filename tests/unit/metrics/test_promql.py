"""User-supplied values never change a query's meaning: escaped, or the query is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governor.model.promql import UnsafeQuery, escape_string, render, validate_template

VALUES = {"namespace": "ml", "service": "chat", "window": "1m", "threshold_seconds": "0.3", "service_label": "service"}
HOSTILE = ['"} or vector(1) #', '\\"} or vector(1)', "x'\n} or vector(1)", "`) or vector(1)", "\\", "a\"b'c`d\\e\n\r\t"]


def unquote(text: str, start: int) -> tuple[str, int]:
    """Decode the PromQL string literal opening at ``text[start]``; returns (value, index after it)."""
    quote_char, out, i = text[start], [], start + 1
    escapes = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", quote_char: quote_char}
    while text[i] != quote_char:
        if text[i] == "\\":
            out.append(escapes[text[i + 1]])  # any other escape would be a PromQL syntax error
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out), i + 1


@pytest.mark.parametrize("quote_char", ['"', "'"])
@given(value=st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",))))
def test_any_value_stays_one_literal(quote_char: str, value: str) -> None:
    template = f"up{{model={quote_char}{{{{model}}}}{quote_char}}} or up"
    rendered = render(template, {**VALUES, "model": value})
    decoded, end = unquote(rendered, rendered.index(quote_char))
    assert decoded == value and rendered[end:] == "} or up"


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_escaped(value: str) -> None:
    rendered = render('sum(rate(x{model="{{model}}"}[{{window}}]))', {**VALUES, "model": value})
    decoded, end = unquote(rendered, rendered.index('"'))
    assert decoded == value.replace("\0", "") and rendered[end:] == "}[1m]))"


@pytest.mark.parametrize(
    "template",
    [
        "x{model={{model}}}",  # outside any string
        "x{model=`{{model}}`}",  # raw strings cannot escape
        'x{model="{{modle}}"}',  # unknown placeholder
        'x{model="{{model}}}',  # unterminated string
    ],
)
def test_unsafe_templates_are_refused(template: str) -> None:
    with pytest.raises(UnsafeQuery):
        render(template, {**VALUES, "model": "m"})


@pytest.mark.parametrize("name", ["Chat", 'chat"} or vector(1)', "a" * 64, "", "chat\n"])
def test_kubernetes_names_must_be_names(name: str) -> None:
    with pytest.raises(UnsafeQuery):
        render('x{service="{{service}}"}', {**VALUES, "service": name, "model": ""})


def test_escape_only_the_opening_quote() -> None:
    assert escape_string("a'b\"c", '"') == "a'b\\\"c"
    assert escape_string("a'b\"c", "'") == "a\\'b\"c"
    quotes = validate_template("x{a=\"{{model}}\", b='{{namespace}}'}[{{window}}]")
    assert list(quotes.values()) == ['"', "'"]
