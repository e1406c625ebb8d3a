"""Kubernetes resource quantities parse to exact values, so every spelling of one amount compares equal."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governor.model.quantity import InvalidQuantity, parse_quantity, same_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", Fraction(1)),
        (1, Fraction(1)),
        (0.5, Fraction(1, 2)),
        (0.1, Fraction(1, 10)),  # the float's shortest decimal form, not its binary value
        ("500m", Fraction(1, 2)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("1.", Fraction(1)),
        ("+2", Fraction(2)),
        ("-250m", Fraction(-1, 4)),
        ("100n", Fraction(1, 10**7)),
        ("5u", Fraction(5, 10**6)),
        ("2k", Fraction(2000)),
        ("3M", Fraction(3 * 10**6)),
        ("1G", Fraction(10**9)),
        ("1T", Fraction(10**12)),
        ("1P", Fraction(10**15)),
        ("1E", Fraction(10**18)),  # E alone is exa ...
        ("1E3", Fraction(1000)),  # ... E with digits an exponent
        ("1e3", Fraction(1000)),
        ("15e-1", Fraction(3, 2)),
        ("2.5e+2", Fraction(250)),
        ("1Ki", Fraction(1024)),
        ("1024Mi", Fraction(1024**3)),
        ("1Gi", Fraction(1024**3)),
        ("1.5Gi", Fraction(3 * 1024**3, 2)),
        ("1Ti", Fraction(1024**4)),
        ("1Pi", Fraction(1024**5)),
        ("1Ei", Fraction(1024**6)),
        (" 2Gi ", Fraction(2 * 1024**3)),
    ],
)
def test_quantities_parse_to_exact_values(text: str | int | float, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "Gi", "1 Gi", "1K", "1gi", "1GB", "32 GB", "lots", "1e", "1e1.5", "1.2.3", "--1", "1e999", True, None, [1]],
)
def test_what_is_not_a_quantity_is_refused(text: object) -> None:
    with pytest.raises(InvalidQuantity):
        parse_quantity(text)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (1, "1", True),  # what the API server writes back for what was sent
        (0.5, "500m", True),
        ("1024Mi", "1Gi", True),
        ("2048Mi", "2Gi", True),
        ("1000m", 1, True),
        ("1k", "1000", True),
        ("1Ki", "1k", False),  # binary and decimal kilo differ
        ("1Gi", "1G", False),
        ("2", "1", False),
        ("1", None, False),  # a resource the container does not set
        ("lots", "lots", True),  # not quantities: compared as they are
        ("lots", "more", False),
    ],
)
def test_same_quantity_compares_amounts(a: object, b: object, same: bool) -> None:
    assert same_quantity(a, b) is same
    assert same_quantity(b, a) is same


SUFFIXES = st.sampled_from(["n", "u", "m", "", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"])


@given(st.integers(min_value=0, max_value=10**6), SUFFIXES, SUFFIXES)
def test_a_number_and_suffix_equals_the_same_amount_in_another_suffix(n: int, suffix: str, other: str) -> None:
    value = parse_quantity(f"{n}{suffix}")
    per_other = parse_quantity(f"1{other}")
    assert value == n * parse_quantity(f"1{suffix}")
    if (value / per_other).denominator == 1:  # expressible with the other suffix: the same amount
        assert same_quantity(f"{n}{suffix}", f"{value / per_other}{other}")
