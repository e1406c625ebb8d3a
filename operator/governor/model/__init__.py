"""Frozen data shared by every layer: the parsed InferenceService spec, observations and decisions.

Nothing here does I/O or imports kopf / kubernetes; the types are built from plain dicts
(the CR body) and compared by value.
"""

from governor.model.decision import Decision, ScaleDirection
from governor.model.errors import FieldError, GovernorError, InvalidSpec
from governor.model.observation import Observation, Sample
from governor.model.spec import (
    ActuationHints,
    AlertsSpec,
    Behavior,
    InPlaceProtocol,
    MetricsPreset,
    MetricsSpec,
    Precision,
    PrecisionMode,
    PrecisionSpec,
    ScaleTargetRef,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
    ServiceKey,
    ServiceSpec,
    SLOSpec,
    SwapMode,
    TargetsSpec,
    TokenLatencySLO,
    Variant,
)

__all__ = [
    "ActuationHints",
    "AlertsSpec",
    "Behavior",
    "Decision",
    "FieldError",
    "GovernorError",
    "InPlaceProtocol",
    "InvalidSpec",
    "MetricsPreset",
    "MetricsSpec",
    "Observation",
    "Precision",
    "PrecisionMode",
    "PrecisionSpec",
    "SLOSpec",
    "Sample",
    "ScaleDirection",
    "ScaleTargetRef",
    "ScalingPolicy",
    "ScalingRules",
    "SelectPolicy",
    "ServiceKey",
    "ServiceSpec",
    "SwapMode",
    "TargetsSpec",
    "TokenLatencySLO",
    "Variant",
]
