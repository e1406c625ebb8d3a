"""``parse_config``: the receivers ConfigMap's YAML → ``AlertingConfig``, or every error at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields, replace
from types import MappingProxyType
from typing import Any

import yaml

from governor.alerting.config import (
    DEFAULT_INHIBIT,
    KIND_DEFAULTS,
    NAME,
    PAGERDUTY_URL,
    AlertingConfig,
    ConfigError,
    InhibitRule,
    Match,
    RateLimit,
    ReceiverConfig,
    ReceiverKind,
    SecretRef,
    _Reader,
    parse_duration,
)
from governor.alerting.links import CLUSTER_NAME, DEFAULT_RUNBOOK_URL, AlertLinks, template_problem
from governor.alerting.rules import RuleSettings
from governor.alerting.types import Severity
from governor.model import FieldError

_RECEIVER_FIELDS = (
    "name",
    "kind",
    "url",
    "bearer_token",
    "hmac_key",
    "routing_key",
    "match",
    "group_by",
    "group_wait",
    "repeat_interval",
    "send_resolved",
    "rate_limit",
    "timeout",
    "namespaces",
)
_TOP_FIELDS = ("receivers", "default_receivers", "inhibit_rules", "rules", "cluster", "runbook_url", "generator_url")
NAMESPACE_PATTERN = re.compile(r"[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?")
_SECRET_FIELDS = {
    ReceiverKind.ALERTMANAGER: ("bearer_token",),
    ReceiverKind.WEBHOOK: ("bearer_token", "hmac_key"),
    ReceiverKind.SLACK: (),
    ReceiverKind.PAGERDUTY: ("routing_key",),
}


def parse_config(text: str | None) -> AlertingConfig:
    """Parse the ConfigMap document; an empty or missing one means "no receivers"."""
    try:
        doc = yaml.safe_load(text or "") or {}
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_error(exc)]) from None
    r = _Reader()
    top = r.mapping(doc, "$")
    r.unknown(top, "$", _TOP_FIELDS)
    receivers: dict[str, ReceiverConfig] = {}
    raw = top.get("receivers") or []
    if not isinstance(raw, list):
        r.error("receivers", "must be a list")
        raw = []
    for i, item in enumerate(raw):
        rc = _receiver(r, item, f"receivers[{i}]")
        if rc is not None:
            if rc.name in receivers:
                r.error(f"receivers[{i}].name", f"duplicate receiver name {rc.name!r}")
            receivers[rc.name] = rc
    defaults = r.strings(top.get("default_receivers"), "default_receivers")
    for i, name in enumerate(defaults):
        if name not in receivers:
            r.error(f"default_receivers[{i}]", f"unknown receiver {name!r}")
    inhibit = _inhibit_rules(r, top.get("inhibit_rules"))
    rules = _rule_settings(r, top.get("rules"))
    links = _links(r, top)
    if r.errors:
        raise ConfigError(r.errors)
    return AlertingConfig(MappingProxyType(receivers), defaults, inhibit, rules, links)


def _yaml_error(exc: yaml.YAMLError) -> FieldError:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else "$"
    return FieldError(where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}")


def _secret_ref(r: _Reader, value: Any, path: str) -> SecretRef | None:
    obj = r.mapping(value, path)
    if not obj:
        return None
    r.unknown(obj, path, ("secret", "key"))
    name, key = obj.get("secret"), obj.get("key")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        r.error(f"{path}.secret", "must name a Secret (a DNS-1123 name)")
        return None
    if not isinstance(key, str) or not key:
        r.error(f"{path}.key", "must name a key of the Secret")
        return None
    return SecretRef(name, key)


def _match(r: _Reader, value: Any, path: str) -> Match:
    obj = r.mapping(value, path)
    r.unknown(obj, path, ("severities", "labels"))
    severities = []
    for i, s in enumerate(r.strings(obj.get("severities"), f"{path}.severities")):
        if s not in {v.value for v in Severity}:
            r.error(f"{path}.severities[{i}]", f"must be one of {', '.join(v.value for v in Severity)}")
        else:
            severities.append(Severity(s))
    labels = r.mapping(obj.get("labels"), f"{path}.labels")
    if not all(isinstance(v, str) for v in labels.values()):
        r.error(f"{path}.labels", "values must be strings")
    return Match(tuple(severities), MappingProxyType({str(k): str(v) for k, v in labels.items()}))


def _url(r: _Reader, obj: Mapping[str, Any], path: str, kind: ReceiverKind) -> tuple[str | None, SecretRef | None]:
    value = obj.get("url")
    if isinstance(value, str):
        if kind == ReceiverKind.SLACK:
            r.error(f"{path}.url", "a Slack webhook URL is a credential: reference it as {secret: NAME, key: KEY}")
        elif not value.startswith(("http://", "https://")):
            r.error(f"{path}.url", "must be an http:// or https:// URL")
        return value, None
    if isinstance(value, Mapping):
        return None, _secret_ref(r, value, f"{path}.url")
    if value is None and kind == ReceiverKind.PAGERDUTY:
        return PAGERDUTY_URL, None
    r.error(f"{path}.url", "required: a URL, or {secret: NAME, key: KEY}")
    return None, None


def _receiver(r: _Reader, value: Any, path: str) -> ReceiverConfig | None:
    obj = r.mapping(value, path)
    r.unknown(obj, path, _RECEIVER_FIELDS)
    name, kind_raw = obj.get("name"), obj.get("kind")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        r.error(f"{path}.name", "required: a DNS-1123 name")
        return None
    if kind_raw not in {k.value for k in ReceiverKind}:
        r.error(f"{path}.kind", f"must be one of {', '.join(k.value for k in ReceiverKind)}")
        return None
    kind = ReceiverKind(kind_raw)
    url, url_secret = _url(r, obj, path, kind)
    secret_keys = ("bearer_token", "hmac_key", "routing_key")
    secrets = {key: _secret_ref(r, obj.get(key), f"{path}.{key}") for key in secret_keys}
    for key, ref in secrets.items():
        if ref is not None and key not in _SECRET_FIELDS[kind]:
            r.error(f"{path}.{key}", f"not used by a {kind.value} receiver")
    if kind == ReceiverKind.PAGERDUTY and secrets["routing_key"] is None:
        r.error(f"{path}.routing_key", "required for pagerduty: {secret: NAME, key: KEY}")
    wait, repeat = KIND_DEFAULTS[kind]
    rate = r.mapping(obj.get("rate_limit"), f"{path}.rate_limit")
    r.unknown(rate, f"{path}.rate_limit", ("per_second", "burst"))
    try:
        limit = RateLimit(float(rate.get("per_second", 5.0)), int(rate.get("burst", 10)))
        if limit.per_second <= 0 or limit.burst < 1:
            raise ValueError
    except (TypeError, ValueError):
        r.error(f"{path}.rate_limit", "per_second must be > 0 and burst ≥ 1")
        limit = RateLimit()
    return ReceiverConfig(
        name=name,
        kind=kind,
        url=url,
        url_secret=url_secret,
        bearer_token=secrets["bearer_token"],
        hmac_key=secrets["hmac_key"],
        routing_key=secrets["routing_key"],
        match=_match(r, obj.get("match"), f"{path}.match"),
        group_by=r.strings(obj.get("group_by"), f"{path}.group_by") or ("namespace", "service"),
        group_wait=r.duration(obj, "group_wait", path, wait),
        repeat_interval=r.duration(obj, "repeat_interval", path, repeat),
        send_resolved=bool(obj.get("send_resolved", True)),
        rate_limit=limit,
        timeout=r.duration(obj, "timeout", path, 10.0) or 10.0,
        namespaces=_namespaces(r, obj.get("namespaces"), f"{path}.namespaces"),
    )


def _namespaces(r: _Reader, value: Any, path: str) -> tuple[str, ...]:
    patterns = r.strings(value, path)
    for i, pattern in enumerate(patterns):
        if not NAMESPACE_PATTERN.fullmatch(pattern):
            r.error(f"{path}[{i}]", f"{pattern!r} is not a namespace name or a glob such as team-* or *")
    return patterns


def _inhibit_rules(r: _Reader, value: Any) -> tuple[InhibitRule, ...]:
    if value is None:
        return DEFAULT_INHIBIT
    if not isinstance(value, list):
        r.error("inhibit_rules", "must be a list")
        return DEFAULT_INHIBIT
    result = []
    for i, item in enumerate(value):
        path = f"inhibit_rules[{i}]"
        obj = r.mapping(item, path)
        r.unknown(obj, path, ("source", "target", "equal"))
        equal = r.strings(obj.get("equal"), f"{path}.equal")
        source = _match(r, obj.get("source"), f"{path}.source")
        target = _match(r, obj.get("target"), f"{path}.target")
        result.append(InhibitRule(source, target, equal))
    return tuple(result)


def _rule_settings(r: _Reader, value: Any) -> RuleSettings:
    obj = r.mapping(value, "rules")
    known = {f.name: f for f in fields(RuleSettings)}
    r.unknown(obj, "rules", tuple(known))
    settings = RuleSettings()
    for key, raw in obj.items():
        if key not in known:
            continue
        try:
            number = float(raw) if key.endswith("threshold") else parse_duration(raw)
        except (TypeError, ValueError) as exc:
            r.error(f"rules.{key}", str(exc) or "must be a number")
            continue
        settings = replace(settings, **{key: number})
    return settings


def _links(r: _Reader, top: Mapping[str, Any]) -> AlertLinks:
    cluster = top.get("cluster", "")
    if not isinstance(cluster, str) or (cluster and not CLUSTER_NAME.fullmatch(cluster)):
        r.error("cluster", "must be a label value: up to 63 letters, digits, '-', '_' or '.'")
        cluster = ""
    templates = {}
    for key, default in (("runbook_url", DEFAULT_RUNBOOK_URL), ("generator_url", "")):
        value = top.get(key) or default
        problem = template_problem(value) if isinstance(value, str) else "must be a URL template (a string)"
        if value and problem is not None:
            r.error(key, problem)
            value = default
        templates[key] = str(value)
    return AlertLinks(cluster, templates["runbook_url"], templates["generator_url"])
