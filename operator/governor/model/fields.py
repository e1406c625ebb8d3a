"""A typed reader over an untrusted JSON document that collects every problem with its path.

The CR body reaching the operator may have slipped past the CRD schema (an older CRD, a
cluster without CEL, ``governor validate`` on a local file), so nothing about its shape is
assumed. Each getter checks type and bounds, records a ``FieldError`` on failure and returns
the default so parsing goes on and the user sees every problem at once. Cross-field rules
ask ``ok(path, ...)`` first, so one bad field does not produce a cascade of follow-up errors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from governor.model.errors import FieldError

E = TypeVar("E", bound=StrEnum)


def child(path: str, key: str | int) -> str:
    """``spec`` + ``minReplicas`` → ``spec.minReplicas``; ``spec.variants`` + 1 → ``spec.variants[1]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def bound_message(low: float | None, high: float | None, low_open: bool = False, high_open: bool = False) -> str:
    """Human wording of a range: ``must be greater than 0 and at most 1``."""
    parts = []
    if low is not None:
        parts.append(f"greater than {_num(low)}" if low_open else f"at least {_num(low)}")
    if high is not None:
        parts.append(f"less than {_num(high)}" if high_open else f"at most {_num(high)}")
    return "must be " + " and ".join(parts)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def kind_of(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, Sequence):
        return "array"
    return type(value).__name__


class FieldReader:
    """Collects ``FieldError``s while reading; ``bad`` holds every path that failed."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.bad: set[str] = set()

    def error(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))
        self.bad.add(path)

    def ok(self, *paths: str) -> bool:
        """True when none of ``paths`` (nor anything under them) failed."""
        return not any(b == p or b.startswith((p + ".", p + "[")) for p in paths for b in self.bad)

    # -- containers ---------------------------------------------------------------------------

    def mapping(self, value: Any, path: str) -> Mapping[str, Any] | None:
        """``value`` as an object; ``None`` (no error) when absent or null."""
        if value is None:
            return None
        if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            return value
        self.error(path, f"must be an object, got {kind_of(value)}")
        return None

    def item_mapping(self, value: Any, path: str) -> Mapping[str, Any] | None:
        """``value`` as an object where one is required (a list item): null is an error too."""
        if value is None:
            self.error(path, "must be an object, got null")
            return None
        return self.mapping(value, path)

    def sequence(self, value: Any, path: str, min_items: int = 0, max_items: int | None = None) -> list[Any] | None:
        if value is None:
            return None
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            self.error(path, f"must be a list, got {kind_of(value)}")
            return None
        if len(value) < min_items:
            self.error(path, f"must have at least {min_items} item{'s' if min_items > 1 else ''}")
        elif max_items is not None and len(value) > max_items:
            self.error(path, f"must have at most {max_items} items")
        return list(value)

    def unknown(self, obj: Mapping[str, Any], path: str, known: Collection[str]) -> None:
        for key in obj:
            if key not in known:
                self.error(child(path, key), "unknown field")

    # -- scalars ------------------------------------------------------------------------------

    def integer(
        self, obj: Mapping[str, Any], key: str, path: str, default: int, low: int | None = None, high: int | None = None
    ) -> int:
        value = obj.get(key)
        where = child(path, key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(where, f"must be an integer, got {kind_of(value)}")
            return default
        if isinstance(value, float) and not value.is_integer():
            self.error(where, f"must be an integer, got {value}")
            return default
        number = int(value)
        if (low is not None and number < low) or (high is not None and number > high):
            self.error(where, bound_message(low, high))
            return default
        return number

    def number(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        default: float,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
    ) -> float:
        value = obj.get(key)
        return (
            default
            if value is None
            else self.check_number(value, child(path, key), default, low, high, low_open, high_open)
        )

    def optional_number(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        default: float | None,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
    ) -> float | None:
        """Like ``number``, but an explicit ``null`` switches the setting off (returns ``None``)."""
        if key not in obj:
            return default
        value = obj[key]
        if value is None:
            return None
        checked: float | None = self.check_number(value, child(path, key), default, low, high, low_open, high_open)
        return checked

    def check_number(
        self,
        value: Any,
        where: str,
        default: Any,
        low: float | None,
        high: float | None,
        low_open: bool = False,
        high_open: bool = False,
    ) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(where, f"must be a number, got {kind_of(value)}")
            return default
        if isinstance(value, int) and abs(value) > 2**53:  # beyond every bound of the schema
            self.error(where, bound_message(low, high, low_open, high_open) if low or high else "is out of range")
            return default
        if not math.isfinite(value):
            self.error(where, f"must be a finite number, got {value}")
            return default
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            self.error(where, bound_message(low, high, low_open, high_open))
            return default
        return float(value)

    def boolean(self, obj: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(child(path, key), f"must be a boolean, got {kind_of(value)}")
            return default
        return value

    def string(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        default: str | None,
        max_length: int = 253,
        pattern: re.Pattern[str] | None = None,
        pattern_hint: str = "",
    ) -> str | None:
        value = obj.get(key)
        return (
            default
            if value is None
            else self.check_string(value, child(path, key), default, max_length, pattern, pattern_hint)
        )

    def check_string(
        self,
        value: Any,
        where: str,
        default: str | None,
        max_length: int = 253,
        pattern: re.Pattern[str] | None = None,
        pattern_hint: str = "",
    ) -> str | None:
        if not isinstance(value, str):
            self.error(where, f"must be a string, got {kind_of(value)}")
            return default
        if len(value) > max_length:
            self.error(where, f"must be at most {max_length} characters long")
            return default
        if pattern is not None and not pattern.fullmatch(value):
            self.error(where, f"{value[:64]!r} is not {pattern_hint or 'valid'}")
            return default
        return value

    def enum(self, obj: Mapping[str, Any], key: str, path: str, kind: type[E], default: E) -> E:
        value = obj.get(key)
        return default if value is None else self.check_enum(value, child(path, key), kind, default)

    def check_enum(self, value: Any, where: str, kind: type[E], default: E) -> E:
        allowed = [m.value for m in kind]
        if isinstance(value, str) and value in allowed:
            return kind(value)
        shown = repr(value)[:64] if isinstance(value, str) else kind_of(value)
        self.error(where, f"must be one of {', '.join(allowed)}, got {shown}")
        return default
