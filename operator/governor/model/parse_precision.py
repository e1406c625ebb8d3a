"""Parsing of ``spec.precision``: the precision ladder a service may be swapped along.

Split from ``parse`` because variants carry container overrides (image, args, env,
resources) whose shape needs its own checks; the rules that tie variants to ``preferred``
and ``qualityFloor`` are the CEL rules of the CRD (see ``governor.model.rules``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from governor.model import rules
from governor.model.annotations import PROTOCOL_ANNOTATION, annotation_path
from governor.model.fields import FieldReader, child
from governor.model.names import MODEL_NAME, MODEL_NAME_HINT, MODEL_VERSION, MODEL_VERSION_HINT, TRITON_VERSION
from governor.model.spec import (
    InPlaceProtocol,
    Precision,
    PrecisionMode,
    PrecisionSpec,
    ServiceSpec,
    SwapMode,
    TokenCosts,
    Variant,
)

MAX_VARIANTS = len(Precision)
MAX_ARGS = 64
MAX_ENV = 64
ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
QUANTITY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?")
_PRECISION_FIELDS = (
    "mode",
    "preferred",
    "qualityFloor",
    "minDwellSeconds",
    "swapTimeoutSeconds",
    "inPlaceMaxUnavailable",
    "modelName",
    "variants",
)
_VARIANT_FIELDS = (
    "precision",
    "relativeThroughput",
    "relativeQuality",
    "image",
    "args",
    "env",
    "resources",
    "swapModes",
    "modelVersion",
    "tokenCosts",
)
# variants[].tokenCosts: CRD key → (TokenCosts field, upper bound)
_TOKEN_COSTS = {
    "stepMs": ("step_ms", 10_000.0),
    "prefillMicrosPerToken": ("prefill_us_per_token", 1_000_000.0),
    "decodeMicrosPerSequence": ("decode_us_per_sequence", 1_000_000.0),
    "attentionNanosPerKvToken": ("attention_ns_per_kv_token", 1_000_000.0),
    "ttftBaseMs": ("ttft_base_ms", 600_000.0),
    "ttftMicrosPerToken": ("ttft_us_per_token", 1_000_000.0),
    "kvTokens": ("kv_tokens", 1e12),
}


def parse_precision(r: FieldReader, value: Any, path: str) -> PrecisionSpec:
    """``spec.precision`` → ``PrecisionSpec`` (defaults for everything absent)."""
    d = PrecisionSpec()
    obj = r.mapping(value, path)
    if obj is None:
        return d
    r.unknown(obj, path, _PRECISION_FIELDS)
    spec = PrecisionSpec(
        mode=r.enum(obj, "mode", path, PrecisionMode, d.mode),
        preferred=r.enum(obj, "preferred", path, Precision, d.preferred),
        quality_floor=r.number(obj, "qualityFloor", path, d.quality_floor, 0, 1, low_open=True),
        variants=_variants(r, obj.get("variants"), child(path, "variants")) or d.variants,
        min_dwell_seconds=r.number(obj, "minDwellSeconds", path, d.min_dwell_seconds, 0, 86400),
        swap_timeout_seconds=r.number(obj, "swapTimeoutSeconds", path, d.swap_timeout_seconds, 0, 86400, low_open=True),
        in_place_max_unavailable=r.number(
            obj, "inPlaceMaxUnavailable", path, d.in_place_max_unavailable, 0, 1, low_open=True
        ),
        model_name=r.string(obj, "modelName", path, None, 128, MODEL_NAME, MODEL_NAME_HINT),
    )
    _check_preferred(r, spec, path)
    return spec


def _check_preferred(r: FieldReader, spec: PrecisionSpec, path: str) -> None:
    preferred_path, floor_path, variants_path = (child(path, k) for k in ("preferred", "qualityFloor", "variants"))
    if not r.ok(preferred_path, variants_path):
        return
    variant = spec.variant(spec.preferred)
    if variant is None:
        r.error(preferred_path, rules.PREFERRED_IN_VARIANTS)
    elif r.ok(floor_path) and variant.relative_quality < spec.quality_floor:
        r.error(floor_path, rules.PREFERRED_ABOVE_FLOOR)


def check_in_place(r: FieldReader, service: ServiceSpec) -> None:
    """What an in-place swap puts into a model server's URL must be a name that server takes there:
    Triton's versions are positive integers; the model name falls back to ``spec.metrics.modelLabel``."""
    variants_path = "spec.precision.variants"
    protocol_known = r.ok(annotation_path(PROTOCOL_ANNOTATION), "spec.metrics.preset")
    if service.in_place_protocol == InPlaceProtocol.TRITON and protocol_known and r.ok(variants_path):
        for index, variant in enumerate(service.precision.variants):
            version = variant.model_version
            if version is not None and not TRITON_VERSION.fullmatch(version):
                r.error(
                    child(child(variants_path, index), "modelVersion"),
                    f"must be a positive integer: the in-place protocol is triton, got {version!r}",
                )
    in_place = any(SwapMode.IN_PLACE in v.swap_modes for v in service.precision.variants)
    label = service.metrics.model_label
    if in_place and service.precision.model_name is None and label is not None and not MODEL_NAME.fullmatch(label):
        r.error(
            "spec.metrics.modelLabel",
            f"{label[:64]!r} is not {MODEL_NAME_HINT}, and it names the model for in-place swaps while"
            " spec.precision.modelName is unset",
        )


def _variants(r: FieldReader, value: Any, path: str) -> tuple[Variant, ...]:
    items = r.sequence(value, path, min_items=1, max_items=MAX_VARIANTS)
    if not items:
        return ()
    variants: list[Variant] = []
    seen: set[Precision] = set()
    for index, item in enumerate(items):
        where = child(path, index)
        variant = _variant(r, item, where)
        if variant is None:
            continue
        if variant.precision in seen and r.ok(child(where, "precision")):
            r.error(child(where, "precision"), rules.DUPLICATE_PRECISION)
        seen.add(variant.precision)
        variants.append(variant)
    return tuple(variants)


def _variant(r: FieldReader, value: Any, path: str) -> Variant | None:
    obj = r.item_mapping(value, path)
    if obj is None:
        return None
    r.unknown(obj, path, _VARIANT_FIELDS)
    missing = obj.get("precision") is None
    if missing:
        r.error(child(path, "precision"), "is required")
    d = Variant(Precision.BF16)
    variant = Variant(
        precision=r.enum(obj, "precision", path, Precision, d.precision),
        relative_throughput=r.number(obj, "relativeThroughput", path, 1.0, 0, 100, low_open=True),
        relative_quality=r.number(obj, "relativeQuality", path, 1.0, 0, 1, low_open=True),
        image=r.string(obj, "image", path, None, max_length=512),
        args=_args(r, obj.get("args"), child(path, "args")),
        env=_env(r, obj.get("env"), child(path, "env")),
        resources=_resources(r, obj.get("resources"), child(path, "resources")),
        swap_modes=_swap_modes(r, obj.get("swapModes"), child(path, "swapModes")) or d.swap_modes,
        model_version=r.string(obj, "modelVersion", path, None, 128, MODEL_VERSION, MODEL_VERSION_HINT),
        token_costs=_token_costs(r, obj.get("tokenCosts"), child(path, "tokenCosts")),
    )
    if SwapMode.IN_PLACE in variant.swap_modes and variant.model_version is None and r.ok(child(path, "modelVersion")):
        r.error(child(path, "modelVersion"), rules.IN_PLACE_NEEDS_VERSION)
    return None if missing else variant


def _token_costs(r: FieldReader, value: Any, path: str) -> TokenCosts | None:
    """``variants[].tokenCosts``: each cost a number > 0 within its bound; absent ones stay None."""
    if value is None:
        return None
    obj = r.item_mapping(value, path)
    if obj is None:
        return None
    r.unknown(obj, path, tuple(_TOKEN_COSTS))
    values = {
        name: r.number(obj, key, path, 1.0, 0, high, low_open=True)
        for key, (name, high) in _TOKEN_COSTS.items()
        if obj.get(key) is not None
    }
    return TokenCosts(**values)


def _args(r: FieldReader, value: Any, path: str) -> tuple[str, ...] | None:
    items = r.sequence(value, path, max_items=MAX_ARGS)
    if items is None:
        return None
    checked = [r.check_string(a, child(path, i), None, max_length=4096) for i, a in enumerate(items)]
    return tuple(a for a in checked if a is not None)


def _env(r: FieldReader, value: Any, path: str) -> tuple[Mapping[str, Any], ...]:
    items = r.sequence(value, path, max_items=MAX_ENV)
    result: list[Mapping[str, Any]] = []
    for index, item in enumerate(items or ()):
        where = child(path, index)
        obj = r.item_mapping(item, where)
        if obj is None:
            continue
        r.unknown(obj, where, ("name", "value", "valueFrom"))
        if obj.get("name") is None:
            r.error(child(where, "name"), "is required")
        else:
            r.string(obj, "name", where, None, pattern=ENV_NAME, pattern_hint="a valid environment variable name")
        r.string(obj, "value", where, None, max_length=32768)
        r.mapping(obj.get("valueFrom"), child(where, "valueFrom"))
        if obj.get("value") not in (None, "") and obj.get("valueFrom") is not None:
            r.error(child(where, "valueFrom"), "may not be set together with a non-empty value")
        result.append(MappingProxyType(copy.deepcopy(dict(obj))))
    return tuple(result)


def _resources(r: FieldReader, value: Any, path: str) -> Mapping[str, Any] | None:
    obj = r.mapping(value, path)
    if obj is None:
        return None
    r.unknown(obj, path, ("limits", "requests"))
    for section in ("limits", "requests"):
        where = child(path, section)
        quantities = r.mapping(obj.get(section), where) or {}
        for name, quantity in quantities.items():
            ok = isinstance(quantity, int | float | str) and not isinstance(quantity, bool)
            if not ok or (isinstance(quantity, str) and not QUANTITY.fullmatch(quantity)):
                r.error(child(where, name), f"{str(quantity)[:64]!r} is not a resource quantity")
    return MappingProxyType(copy.deepcopy(dict(obj)))


def _swap_modes(r: FieldReader, value: Any, path: str) -> tuple[SwapMode, ...]:
    items = r.sequence(value, path, min_items=1, max_items=len(SwapMode))
    modes: list[SwapMode] = []
    for index, item in enumerate(items or ()):
        mode = r.check_enum(item, child(path, index), SwapMode, SwapMode.ROLLING)
        if mode in modes and r.ok(child(path, index)):
            r.error(child(path, index), f"duplicate swap mode {mode.value}")
        modes.append(mode)
    return tuple(dict.fromkeys(modes))
