"""The receivers ConfigMap: parsed, purely, into frozen configuration with clear errors.

The administrator defines receivers (by name), routing, grouping, inhibition, rule
thresholds and the alerts' cluster label and links in one YAML document (ConfigMap key
``receivers.yaml``); credentials are never written there, only references to Secrets
(``{secret: NAME, key: KEY}``). A CR names receivers and nothing else. ``parse_config``
reports every problem at once, each with the path of the offending field.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from governor.alerting.links import AlertLinks
from governor.alerting.rules import RuleSettings
from governor.alerting.types import Severity
from governor.model import FieldError, GovernorError

CONFIG_KEY = "receivers.yaml"
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class ConfigError(GovernorError):
    """The receivers ConfigMap cannot be used; lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class ReceiverKind(StrEnum):
    ALERTMANAGER = "alertmanager"
    WEBHOOK = "webhook"
    SLACK = "slack"
    PAGERDUTY = "pagerduty"


@dataclass(frozen=True)
class SecretRef:
    secret: str
    key: str

    def __str__(self) -> str:
        return f"secret {self.secret}/{self.key}"


@dataclass(frozen=True)
class Match:
    """Which alerts a receiver (or an inhibition side) applies to: severities and exact labels."""

    severities: tuple[Severity, ...] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.severities and labels.get("severity") not in self.severities:
            return False
        return all(labels.get(k) == v for k, v in self.labels.items())


@dataclass(frozen=True)
class RateLimit:
    per_second: float = 5.0
    burst: int = 10


@dataclass(frozen=True)
class ReceiverConfig:
    name: str
    kind: ReceiverKind
    url: str | None = None  # plain URL (not secret), or
    url_secret: SecretRef | None = None  # a URL kept in a Secret (Slack webhook URLs are credentials)
    bearer_token: SecretRef | None = None  # Alertmanager / webhook: Authorization: Bearer
    hmac_key: SecretRef | None = None  # webhook: signing key
    routing_key: SecretRef | None = None  # PagerDuty integration key
    match: Match = Match()
    group_by: tuple[str, ...] = ("namespace", "service")
    group_wait: float = 0.0
    repeat_interval: float = 0.0  # 0: never repeat a firing notification
    send_resolved: bool = True
    rate_limit: RateLimit = RateLimit()
    timeout: float = 10.0
    # Namespaces (names or globs such as ``team-*``; ``*`` for all) whose InferenceServices may name this
    # receiver in ``spec.alerts.receivers``. None by default: a tenant cannot page a receiver the
    # administrator did not open to it. ``default_receivers`` are the administrator's choice and always apply.
    namespaces: tuple[str, ...] = ()

    def open_to(self, namespace: str) -> bool:
        return any(fnmatch.fnmatchcase(namespace, pattern) for pattern in self.namespaces)

    def secret_refs(self) -> tuple[SecretRef, ...]:
        refs = (self.url_secret, self.bearer_token, self.hmac_key, self.routing_key)
        return tuple(r for r in refs if r is not None)


@dataclass(frozen=True)
class InhibitRule:
    """While a ``source`` alert fires, ``target`` alerts with equal ``equal`` labels are muted."""

    source: Match
    target: Match
    equal: tuple[str, ...]


DEFAULT_INHIBIT = (
    InhibitRule(
        Match((Severity.CRITICAL,)),
        Match((Severity.ERROR, Severity.WARNING, Severity.INFO)),
        ("alertname", "namespace", "service"),
    ),
    InhibitRule(Match((Severity.WARNING,)), Match((Severity.INFO,)), ("alertname", "namespace", "service")),
)


@dataclass(frozen=True)
class AlertingConfig:
    receivers: Mapping[str, ReceiverConfig] = field(default_factory=lambda: MappingProxyType({}))
    default_receivers: tuple[str, ...] = ()  # for a CR that names none
    inhibit_rules: tuple[InhibitRule, ...] = DEFAULT_INHIBIT
    rules: RuleSettings = field(default_factory=RuleSettings)
    links: AlertLinks = field(default_factory=AlertLinks)  # cluster label, runbook and source links


# Per kind: (group_wait, repeat_interval). Alertmanager must be re-sent while firing.
KIND_DEFAULTS: Mapping[ReceiverKind, tuple[float, float]] = {
    ReceiverKind.ALERTMANAGER: (0.0, 60.0),
    ReceiverKind.WEBHOOK: (10.0, 4 * 3600.0),
    ReceiverKind.SLACK: (10.0, 4 * 3600.0),
    ReceiverKind.PAGERDUTY: (0.0, 0.0),
}


def parse_duration(value: Any) -> float:
    """``30`` / ``"30s"`` / ``"5m"`` / ``"1h30m"`` / ``"1d"`` → seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 5m, 4h")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("must not be negative")
        return float(value)
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 4h")
    return sum(float(n) * _UNITS[u] for n, u in parts)


class _Reader:
    """Collects errors while walking the document, so all of them are reported together."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(path, "must be a mapping")
            return {}
        return value

    def strings(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(path, "must be a list of strings")
            return ()
        return tuple(value)

    def duration(self, obj: Mapping[str, Any], key: str, path: str, default: float) -> float:
        if key not in obj:
            return default
        try:
            return parse_duration(obj[key])
        except ValueError as exc:
            self.error(f"{path}.{key}", str(exc))
            return default

    def unknown(self, obj: Mapping[str, Any], path: str, allowed: tuple[str, ...]) -> None:
        for key in obj:
            if key not in allowed:
                self.error(f"{path}.{key}", f"unknown field (allowed: {', '.join(allowed)})")
