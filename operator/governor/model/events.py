"""The Kubernetes Events Governor posts about an InferenceService: their types and their one vocabulary of reasons.

A fixed set of reasons lets an SRE filter (``kubectl get events --field-selector reason=PrecisionSwapFailed``)
and alert on them; every layer that reports an Event names its reason here. ``docs/operator.md`` and
``docs/actuation.md`` say when each is posted.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class EventReason(StrEnum):
    # the service and its workload (the controller)
    CREATED = "Created"
    UPDATED = "Updated"
    INVALID = "Invalid"
    TARGET_NOT_FOUND = "TargetNotFound"
    TARGET_FOUND = "TargetFound"
    WORKLOAD_NOT_OWNED = "WorkloadNotOwned"
    ALERT_ROUTING = "AlertRoutingProblem"
    # replicas (the Actuator)
    SCALED_UP = "ScaledUp"
    SCALED_DOWN = "ScaledDown"
    MANUAL_SCALE = "ManualScale"
    MANUAL_SCALE_EXPIRED = "ManualScaleExpired"
    MANUAL_SCALE_RELEASED = "ManualScaleReleased"
    WOULD_SCALE = "WouldScale"
    WOULD_SWAP_PRECISION = "WouldSwapPrecision"
    # precision swaps (the Actuator)
    SWAP_STARTED = "PrecisionSwapStarted"
    SWAP_STRATEGY_CHANGED = "PrecisionSwapStrategyChanged"
    SWAP_REFUSED = "PrecisionSwapRefused"
    SWAP_CANCELLED = "PrecisionSwapCancelled"
    SWAP_FAILED = "PrecisionSwapFailed"
    SWAPPED = "PrecisionSwapped"
    ROLLED_BACK = "PrecisionRolledBack"
