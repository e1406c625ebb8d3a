"""Status conditions that follow the Kubernetes API conventions, as pure list-in/list-out functions.

The conventions (``metav1.Condition``): one entry per ``type``; ``status`` is ``"True"``,
``"False"`` or ``"Unknown"``; ``reason`` is a CamelCase word; ``lastTransitionTime`` changes
only when ``status`` flips, so a condition that keeps its status but changes its message
does not look like a new event to ``kubectl wait`` or to alerting built on it.
The controller builds the list here and writes it to status; nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

TRUE: Final = "True"
FALSE: Final = "False"
UNKNOWN: Final = "Unknown"
STATUSES: Final = (TRUE, FALSE, UNKNOWN)

# Condition types Governor writes on an InferenceService (see docs/crd.md).
READY: Final = "Ready"
METRICS_AVAILABLE: Final = "MetricsAvailable"
SLO_MET: Final = "SLOMet"
PRECISION_DEGRADED: Final = "PrecisionDegraded"
AT_CAPACITY: Final = "AtCapacity"
INVALID: Final = "Invalid"
ALERTS_ROUTED: Final = "AlertsRouted"  # False: some alerts have nowhere to go (unknown or closed receivers)
SWAPPING: Final = "Swapping"  # a precision swap is under way
SWAP_FAILED: Final = "SwapFailed"  # a variant is quarantined after its swap failed or was refused
CONDITION_TYPES: Final = (
    READY,
    METRICS_AVAILABLE,
    SLO_MET,
    PRECISION_DEGRADED,
    AT_CAPACITY,
    INVALID,
    ALERTS_ROUTED,
    SWAP_FAILED,
    SWAPPING,
)


@dataclass(frozen=True)
class ConditionUpdate:
    """One condition a layer reports for the controller to set (with ``set_condition``)."""

    type: str
    status: bool | str
    reason: str
    message: str


_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
MAX_MESSAGE = 32768  # metav1.Condition's message limit


def set_condition(
    conditions: Sequence[Mapping[str, Any]] | None,
    type: str,
    status: str | bool,
    reason: str,
    message: str,
    now_iso: str,
    observed_generation: int | None = None,
) -> list[dict[str, Any]]:
    """Return a new condition list with ``type`` set; the input is never modified.

    ``status`` may be a bool (``True`` → ``"True"``). ``lastTransitionTime`` is ``now_iso`` when
    the condition is new or its status flipped, else the previous value is kept.
    """
    return set_conditions(conditions, ((type, status, reason, message),), now_iso, observed_generation)


def set_conditions(
    conditions: Sequence[Mapping[str, Any]] | None,
    updates: Sequence[tuple[str, str | bool, str, str]],
    now_iso: str,
    observed_generation: int | None = None,
) -> list[dict[str, Any]]:
    """``set_condition`` for each ``(type, status, reason, message)`` in turn, in one pass over the list."""
    by_type: dict[str, Mapping[str, Any]] = {str(c.get("type")): c for c in conditions or ()}
    for kind, status, reason, message in updates:
        by_type[kind] = _entry(by_type.get(kind), kind, status, reason, message, now_iso, observed_generation)
    return sorted((dict(c) for c in by_type.values()), key=_order)


def _entry(
    previous: Mapping[str, Any] | None,
    type: str,
    status: str | bool,
    reason: str,
    message: str,
    now_iso: str,
    observed_generation: int | None,
) -> dict[str, Any]:
    status_text = _status_text(status)
    if not _REASON.match(reason):
        raise ValueError(f"condition reason must be a CamelCase word, got {reason!r}")
    transition = now_iso
    if previous is not None and previous.get("status") == status_text and previous.get("lastTransitionTime"):
        transition = str(previous["lastTransitionTime"])
    entry: dict[str, Any] = {
        "type": type,
        "status": status_text,
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "lastTransitionTime": transition,
    }
    if observed_generation is not None:
        entry["observedGeneration"] = observed_generation
    return entry


def find_condition(conditions: Sequence[Mapping[str, Any]] | None, type: str) -> Mapping[str, Any] | None:
    """The condition of ``type``, or ``None``."""
    return next((c for c in conditions or () if c.get("type") == type), None)


def is_true(conditions: Sequence[Mapping[str, Any]] | None, type: str) -> bool:
    condition = find_condition(conditions, type)
    return condition is not None and condition.get("status") == TRUE


def remove_condition(conditions: Sequence[Mapping[str, Any]] | None, type: str) -> list[dict[str, Any]]:
    return [dict(c) for c in conditions or () if c.get("type") != type]


def _status_text(status: str | bool) -> str:
    if isinstance(status, bool):
        return TRUE if status else FALSE
    if status not in STATUSES:
        raise ValueError(f"condition status must be one of {', '.join(STATUSES)}, got {status!r}")
    return status


def _order(condition: Mapping[str, Any]) -> tuple[int, str]:
    """Known types in a fixed order (stable diffs, predictable `kubectl describe`), others after."""
    kind = str(condition.get("type", ""))
    index = CONDITION_TYPES.index(kind) if kind in CONDITION_TYPES else len(CONDITION_TYPES)
    return index, kind
