"""Parse an InferenceService body into a ``ServiceSpec``, or say precisely why it cannot be served.

The API server enforces ``crds/inferenceservice.yaml`` — but an object can still arrive
malformed (an older CRD, a cluster without CEL, a local file in ``governor validate``).
So this module trusts nothing: it checks every type and bound the schema declares and
every CEL rule (worded in ``governor.model.rules``), and raises one ``InvalidSpec`` listing
every problem with its JSON path (``spec.precision.preferred``). It never raises anything
else, whatever the input.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import fields
from types import MappingProxyType
from typing import Any, Final

from governor.model import rules
from governor.model.annotations import container_names, parse_annotations
from governor.model.errors import FieldError, InvalidSpec
from governor.model.fields import FieldReader, child, kind_of
from governor.model.names import DNS_1035_LABEL, DNS_LABEL, DNS_SUBDOMAIN
from governor.model.observation import Observation
from governor.model.parse_precision import check_in_place, parse_precision
from governor.model.promql import scope_problems
from governor.model.spec import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    AlertsSpec,
    Behavior,
    MetricsPreset,
    MetricsSpec,
    ScaleTargetRef,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
    ServiceSpec,
    SLOSpec,
    TargetsSpec,
    TokenLatencySLO,
)

MAX_REPLICAS: Final = 10000
RULE_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
SEVERITIES: Final = ("critical", "error", "warning", "info")
GPU_SOURCES: Final = ("dcgm", "agent", "none")
POLICY_TYPES: Final = ("Pods", "Percent")
TARGET_API_VERSIONS: Final = ("apps/v1",)
TARGET_KINDS: Final = ("Deployment", "StatefulSet")  # what Governor can scale (and, for a Deployment, swap)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# CR key (camelCase) → Observation field name: the signals `spec.metrics.overrides` may redefine.
OVERRIDE_SIGNALS: Final[Mapping[str, str]] = {
    _camel(f.name): f.name for f in fields(Observation) if f.name not in ("at", "source")
}

_SPEC_FIELDS = (
    "template",
    "scaleTargetRef",
    "replicas",
    "minReplicas",
    "maxReplicas",
    "startupSeconds",
    "slo",
    "targets",
    "metrics",
    "precision",
    "behavior",
    "alerts",
    "observeOnly",
)


def parse_service(body: Mapping[str, Any]) -> ServiceSpec:
    """An InferenceService object (``metadata`` + ``spec``) → ``ServiceSpec``; ``InvalidSpec`` lists every problem."""
    r = FieldReader()
    root = r.mapping(body, "object") if body is not None else None
    if root is None:
        raise InvalidSpec(r.errors or [FieldError("object", "must be an object, got null")])
    meta = r.mapping(root.get("metadata"), "metadata") or {}
    spec = r.mapping(root.get("spec"), "spec")
    if spec is None and "spec" not in r.bad:
        r.error("spec", "is required")
    spec = spec or {}
    r.unknown(spec, "spec", _SPEC_FIELDS)
    template = _template(r, spec.get("template"), "spec.template")
    containers = container_names(template) if r.ok("spec.template") else None
    service = ServiceSpec(
        namespace=r.string(meta, "namespace", "metadata", "default", 63, DNS_LABEL, "a DNS-1123 label") or "default",
        name=_name(r, meta),
        generation=r.integer(meta, "generation", "metadata", 1, low=0),
        uid=r.string(meta, "uid", "metadata", "", max_length=128) or "",
        template=template,
        scale_target_ref=_target_ref(r, spec.get("scaleTargetRef"), "spec.scaleTargetRef"),
        replicas=_optional_int(r, spec, "replicas", "spec", 0, MAX_REPLICAS),
        min_replicas=r.integer(spec, "minReplicas", "spec", 1, low=1, high=MAX_REPLICAS),
        max_replicas=r.integer(spec, "maxReplicas", "spec", 10, low=1, high=MAX_REPLICAS),
        startup_seconds=r.number(spec, "startupSeconds", "spec", 90.0, 0, 3600),
        slo=_slo(r, spec.get("slo"), "spec.slo"),
        targets=_targets(r, spec.get("targets"), "spec.targets"),
        metrics=_metrics(r, spec.get("metrics"), "spec.metrics"),
        precision=parse_precision(r, spec.get("precision"), "spec.precision"),
        behavior=_behavior(r, spec.get("behavior"), "spec.behavior"),
        alerts=_alerts(r, spec.get("alerts"), "spec.alerts"),
        observe_only=r.boolean(spec, "observeOnly", "spec", False),
        hints=parse_annotations(r, meta.get("annotations"), "metadata.annotations", containers),
    )
    if "spec" not in r.bad:  # a spec that is not even an object gets one error, not a cascade
        _check_spec(r, spec, service)
    if r.errors:
        raise InvalidSpec(r.errors)
    return service


def _check_spec(r: FieldReader, spec: Mapping[str, Any], service: ServiceSpec) -> None:
    has_template = spec.get("template") is not None
    has_target = spec.get("scaleTargetRef") is not None
    if has_template == has_target:
        r.error("spec", rules.WORKLOAD_ONE_OF)
    if r.ok("spec.minReplicas", "spec.maxReplicas") and service.min_replicas > service.max_replicas:
        r.error("spec.minReplicas", rules.MIN_LE_MAX)
    _check_override_scope(r, spec, service)
    check_in_place(r, service)


def _check_override_scope(r: FieldReader, spec: Mapping[str, Any], service: ServiceSpec) -> None:
    """A tenant's PromQL runs with Governor's identity: it must read its own namespace, cheaply."""
    metrics = spec.get("metrics")
    overrides = metrics.get("overrides") if isinstance(metrics, Mapping) else None
    for key, template in overrides.items() if isinstance(overrides, Mapping) else ():
        where = child("spec.metrics.overrides", key)
        if key in OVERRIDE_SIGNALS and isinstance(template, str) and template.strip() and r.ok(where):
            for problem in scope_problems(template, service.namespace, service.name):
                r.error(where, problem)


def _name(r: FieldReader, meta: Mapping[str, Any]) -> str:
    if meta.get("name") is None:
        if "metadata" not in r.bad:
            r.error("metadata.name", "is required")
        return ""
    name = r.string(meta, "name", "metadata", "", 253, DNS_SUBDOMAIN, "a DNS-1123 subdomain") or ""
    if name and not (len(name) <= 63 and DNS_1035_LABEL.fullmatch(name)):
        r.error("metadata.name", rules.NAME_IS_DNS_LABEL)
    return name


def _optional_int(r: FieldReader, obj: Mapping[str, Any], key: str, path: str, low: int, high: int) -> int | None:
    if obj.get(key) is None:
        return None
    before = len(r.errors)
    value = r.integer(obj, key, path, low, low=low, high=high)
    return value if len(r.errors) == before else None


def _template(r: FieldReader, value: Any, path: str) -> Mapping[str, Any] | None:
    """A PodTemplateSpec: only what Governor relies on is checked; the API server checks the rest."""
    obj = r.mapping(value, path)
    if obj is None:
        return None
    pod = r.mapping(obj.get("spec"), child(path, "spec"))
    if pod is None:
        if child(path, "spec") not in r.bad:
            r.error(child(path, "spec"), "is required")
        return MappingProxyType(copy.deepcopy(dict(obj)))
    where = child(path, "spec.containers")
    containers = r.sequence(pod.get("containers"), where, min_items=1)
    if containers is None:
        r.error(where, "is required")
    for index, container in enumerate(containers or ()):
        item = r.item_mapping(container, child(where, index))
        if item is None:
            continue
        if item.get("name") is None:
            r.error(child(child(where, index), "name"), "is required")
        else:
            r.string(item, "name", child(where, index), None, 63, DNS_LABEL, "a DNS-1123 label")
    return MappingProxyType(copy.deepcopy(dict(obj)))


def _target_ref(r: FieldReader, value: Any, path: str) -> ScaleTargetRef | None:
    obj = r.mapping(value, path)
    if obj is None:
        return None
    r.unknown(obj, path, ("apiVersion", "kind", "name"))
    if obj.get("name") is None:
        r.error(child(path, "name"), "is required")
    return ScaleTargetRef(
        api_version=_one_of(r, obj, "apiVersion", path, TARGET_API_VERSIONS),
        kind=_one_of(r, obj, "kind", path, TARGET_KINDS),
        name=r.string(obj, "name", path, "", 253, DNS_SUBDOMAIN, "a DNS-1123 subdomain") or "",
    )


def _one_of(r: FieldReader, obj: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> str:
    """A string field with a fixed set of values; the first is the default."""
    value = obj.get(key)
    if value is None or (isinstance(value, str) and value in allowed):
        return value or allowed[0]
    shown = repr(value)[:64] if isinstance(value, str) else kind_of(value)
    r.error(child(path, key), f"must be one of {', '.join(allowed)}, got {shown}")
    return allowed[0]


def _slo(r: FieldReader, value: Any, path: str) -> SLOSpec:
    d = SLOSpec()
    obj = r.mapping(value, path)
    if obj is None:
        return d
    r.unknown(obj, path, ("latencyMs", "latencyQuantile", "objective", "periodDays", "ttft", "itl"))
    ttft = _token_slo(r, obj.get("ttft"), child(path, "ttft"))
    itl = _token_slo(r, obj.get("itl"), child(path, "itl"))
    # Beside a token objective the request-latency objective is judged only when written out; alone
    # (or with no objective at all) it keeps its default, as before token objectives existed.
    declared = obj.get("latencyMs") is not None or (ttft is None and itl is None)
    return SLOSpec(
        latency_ms=r.number(obj, "latencyMs", path, d.latency_ms, 0, 3_600_000, low_open=True),
        latency_quantile=r.number(obj, "latencyQuantile", path, d.latency_quantile, 0, 1, True, True),
        objective=r.number(obj, "objective", path, d.objective, 0, 1, True, True),
        period_days=r.number(obj, "periodDays", path, d.period_days, 0, 365, low_open=True),
        latency_declared=declared,
        ttft=ttft,
        itl=itl,
    )


def _token_slo(r: FieldReader, value: Any, path: str) -> TokenLatencySLO | None:
    """``{ms, quantile}`` of a TTFT or ITL objective; ``ms`` is required, ``quantile`` defaults to 0.9."""
    obj = r.mapping(value, path)
    if obj is None:
        return None
    r.unknown(obj, path, ("ms", "quantile"))
    if obj.get("ms") is None:
        r.error(child(path, "ms"), "is required")
    d = TokenLatencySLO(ms=1.0)
    return TokenLatencySLO(
        ms=r.number(obj, "ms", path, d.ms, 0, 3_600_000, low_open=True),
        quantile=r.number(obj, "quantile", path, d.quantile, 0, 1, True, True),
    )


def _targets(r: FieldReader, value: Any, path: str) -> TargetsSpec:
    d = TargetsSpec()
    obj = r.mapping(value, path)
    if obj is None:
        return d
    r.unknown(obj, path, ("gpuUtilization", "cacheHitRatioFloor", "concurrencyPerReplica"))
    return TargetsSpec(
        gpu_utilization=r.optional_number(obj, "gpuUtilization", path, d.gpu_utilization, 0, 1, low_open=True),
        cache_hit_ratio_floor=r.optional_number(obj, "cacheHitRatioFloor", path, d.cache_hit_ratio_floor, 0, 1),
        concurrency_per_replica=r.optional_number(
            obj, "concurrencyPerReplica", path, d.concurrency_per_replica, 0, 100000, low_open=True
        ),
    )


def _metrics(r: FieldReader, value: Any, path: str) -> MetricsSpec:
    d = MetricsSpec()
    obj = r.mapping(value, path)
    if obj is None:
        return d
    r.unknown(obj, path, ("preset", "gpuSource", "overrides", "scrapePort", "scrapePath", "modelLabel"))
    gpu_source = r.string(obj, "gpuSource", path, d.gpu_source, 16)
    if gpu_source not in GPU_SOURCES:
        r.error(child(path, "gpuSource"), f"must be one of {', '.join(GPU_SOURCES)}, got {gpu_source!r}")
    return MetricsSpec(
        preset=r.enum(obj, "preset", path, MetricsPreset, d.preset),
        gpu_source=gpu_source if gpu_source in GPU_SOURCES else d.gpu_source,
        overrides=_overrides(r, obj.get("overrides"), child(path, "overrides")),
        scrape_port=r.integer(obj, "scrapePort", path, d.scrape_port, 1, 65535),
        scrape_path=r.string(obj, "scrapePath", path, d.scrape_path, 256, re.compile(r"/\S*"), "a URL path")
        or d.scrape_path,
        model_label=r.string(obj, "modelLabel", path, None, 253),
    )


def _overrides(r: FieldReader, value: Any, path: str) -> Mapping[str, str]:
    obj = r.mapping(value, path) or {}
    result: dict[str, str] = {}
    for key, template in obj.items():
        where = child(path, key)
        if key not in OVERRIDE_SIGNALS:
            r.error(where, f"unknown signal; known signals: {', '.join(OVERRIDE_SIGNALS)}")
            continue
        text = r.check_string(template, where, None, max_length=4096)
        if text is not None and not text.strip():
            r.error(where, "must not be empty")
        elif text is not None:
            result[OVERRIDE_SIGNALS[key]] = text
    return MappingProxyType(result)


def _behavior(r: FieldReader, value: Any, path: str) -> Behavior:
    d = Behavior()
    obj = r.mapping(value, path)
    if obj is None:
        return d
    r.unknown(obj, path, ("scaleUp", "scaleDown", "tolerance"))
    return Behavior(
        scale_up=_rules(r, obj.get("scaleUp"), child(path, "scaleUp"), DEFAULT_SCALE_UP),
        scale_down=_rules(r, obj.get("scaleDown"), child(path, "scaleDown"), DEFAULT_SCALE_DOWN),
        tolerance=r.number(obj, "tolerance", path, d.tolerance, 0, 1, high_open=True),
    )


def _rules(r: FieldReader, value: Any, path: str, default: ScalingRules) -> ScalingRules:
    obj = r.mapping(value, path)
    if obj is None:
        return default
    r.unknown(obj, path, ("stabilizationWindowSeconds", "selectPolicy", "policies"))
    policies = r.sequence(obj.get("policies"), child(path, "policies"), min_items=1, max_items=10)
    return ScalingRules(
        stabilization_window_seconds=r.integer(
            obj, "stabilizationWindowSeconds", path, default.stabilization_window_seconds, 0, 3600
        ),
        select_policy=r.enum(obj, "selectPolicy", path, SelectPolicy, default.select_policy),
        policies=default.policies if policies is None else _policies(r, policies, child(path, "policies")),
    )


def _policies(r: FieldReader, items: list[Any], path: str) -> tuple[ScalingPolicy, ...]:
    result: list[ScalingPolicy] = []
    for index, item in enumerate(items):
        where = child(path, index)
        obj = r.item_mapping(item, where)
        if obj is None:
            continue
        r.unknown(obj, where, ("type", "value", "periodSeconds"))
        for key in ("type", "value", "periodSeconds"):
            if obj.get(key) is None:
                r.error(child(where, key), "is required")
        kind = r.string(obj, "type", where, "Pods", 16)
        if kind not in POLICY_TYPES:
            r.error(child(where, "type"), f"must be one of {', '.join(POLICY_TYPES)}, got {kind!r}")
        value = r.integer(obj, "value", where, 1, low=1, high=100000)
        period = r.integer(obj, "periodSeconds", where, 15, low=1, high=1800)
        result.append(ScalingPolicy(kind or "Pods", value, period))
    return tuple(result)


def _alerts(r: FieldReader, value: Any, path: str) -> AlertsSpec:
    obj = r.mapping(value, path)
    if obj is None:
        return AlertsSpec()
    r.unknown(obj, path, ("receivers", "disabled", "severityOverrides"))
    overrides = r.mapping(obj.get("severityOverrides"), child(path, "severityOverrides")) or {}
    severities: dict[str, str] = {}
    for rule, severity in overrides.items():
        where = child(child(path, "severityOverrides"), rule)
        if not RULE_NAME.fullmatch(rule):
            r.error(where, "is not a valid alert rule name")
        elif not isinstance(severity, str) or severity not in SEVERITIES:
            r.error(where, f"must be one of {', '.join(SEVERITIES)}")
        else:
            severities[rule] = severity
    return AlertsSpec(
        receivers=_names(
            r,
            obj.get("receivers"),
            child(path, "receivers"),
            DNS_SUBDOMAIN,
            "a receiver name (a DNS-1123 name, never a URL)",
        ),
        disabled=_names(r, obj.get("disabled"), child(path, "disabled"), RULE_NAME, "an alert rule name"),
        severity_overrides=MappingProxyType(severities),
    )


def _names(r: FieldReader, value: Any, path: str, pattern: re.Pattern[str], hint: str) -> tuple[str, ...]:
    items = r.sequence(value, path, max_items=32)
    names: list[str] = []
    for index, item in enumerate(items or ()):
        name = r.check_string(item, child(path, index), None, 253, pattern, hint)
        if name is not None and name in names:
            r.error(child(path, index), f"duplicate value {name!r}")
        elif name is not None:
            names.append(name)
    return tuple(names)
