"""Kubernetes resource quantities as exact numbers, so two spellings of one amount compare equal.

An API server stores a quantity in its canonical form, not as it was written: ``1`` comes back
as ``"1"``, ``0.5`` CPU as ``"500m"``, ``1024Mi`` as ``"1Gi"``. Whoever compares what they wrote
with what they read back must compare values, not strings. Values are ``Fraction``s, exact for
every suffix (``m`` is 1/1000 exactly, ``Ki`` is 1024), so equality never depends on rounding.

The grammar is Kubernetes' own (``k8s.io/apimachinery/pkg/api/resource``)::

    quantity  ::= sign? number suffix
    number    ::= digits | digits "." digits? | "." digits
    suffix    ::= "" | n | u | m | k | M | G | T | P | E       (decimal SI)
                | Ki | Mi | Gi | Ti | Pi | Ei                   (binary SI)
                | ("e" | "E") sign? digits                      (decimal exponent)

``E`` alone is exa; ``E`` followed by digits is an exponent (``1E3`` is 1000).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Final

from governor.model.errors import GovernorError

_DECIMAL_SI: Final = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_BINARY_SI: Final = {f"{p}i": Fraction(1024**power) for power, p in enumerate("KMGTPE", start=1)}
_MULTIPLIERS: Final = {**_DECIMAL_SI, **_BINARY_SI}
_QUANTITY: Final = re.compile(
    r"(?P<sign>[+-]?)(?P<number>\d+(?:\.\d*)?|\.\d+)"
    r"(?:[eE](?P<exponent>[+-]?\d+)|(?P<suffix>[numkMGTPE]|[KMGTPE]i)?)"
)
_MAX_EXPONENT: Final = 100  # far beyond any real quantity; keeps 10**exponent cheap


class InvalidQuantity(GovernorError, ValueError):
    """Not a Kubernetes resource quantity."""


def parse_quantity(value: object) -> Fraction:
    """The exact value of a quantity: ``"500m"`` → 1/2, ``"1Gi"`` → 1073741824, ``0.5`` → 1/2.

    Numbers (as a YAML or JSON body carries them) are read through their shortest decimal form,
    so ``0.1`` is one tenth, not the nearest binary fraction."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidQuantity(f"{value!r} is not a resource quantity")
    if isinstance(value, int):
        return Fraction(value)
    text = repr(value) if isinstance(value, float) else value.strip()
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise InvalidQuantity(f"{str(value)[:64]!r} is not a resource quantity")
    number = Fraction(match["number"])
    if match["exponent"] is not None:
        exponent = int(match["exponent"])
        if abs(exponent) > _MAX_EXPONENT:
            raise InvalidQuantity(f"{text[:64]!r}: exponent out of range")
        number *= Fraction(10) ** exponent
    else:
        number *= _MULTIPLIERS[match["suffix"] or ""]
    return -number if match["sign"] == "-" else number


def same_quantity(a: object, b: object) -> bool:
    """Whether ``a`` and ``b`` are the same amount; values that are not quantities compare as they are."""
    if a == b:
        return True
    try:
        return parse_quantity(a) == parse_quantity(b)
    except InvalidQuantity:
        return False
