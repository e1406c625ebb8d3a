"""The alert vocabulary shared by rules, lifecycle, routing and delivery.

An alert is identified by its *fingerprint*: a hash of its sorted labels, so the same
condition on the same service always maps to the same alert, across ticks and restarts.
Everything here is frozen and free of I/O; times are unix seconds (floats).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType

from governor.model.times import iso


class Severity(StrEnum):
    """Severities, most urgent first; the same four PagerDuty Events v2 accepts."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for the most urgent; a lower rank inhibits a higher one."""
        return list(Severity).index(self)


class Phase(StrEnum):
    """Where an alert is in its life: waiting out ``for``, firing, or resolved."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Event(StrEnum):
    """The transitions receivers are told about (pending is never notified)."""

    FIRING = "firing"
    RESOLVED = "resolved"


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted((mapping or {}).items())))


def fingerprint(labels: Mapping[str, str]) -> str:
    """Stable 16-hex-digit identity of a label set: independent of insertion order and process."""
    return _fingerprint(tuple(sorted((key, str(value)) for key, value in labels.items())))


@functools.lru_cache(maxsize=1 << 16)
def _fingerprint(items: tuple[tuple[str, str], ...]) -> str:
    """Memoised: every rule's condition for every service asks each tick, with the same labels."""
    digest = hashlib.sha256()
    for key, value in items:
        digest.update(key.encode())
        digest.update(b"\xff")
        digest.update(value.encode())
        digest.update(b"\xff")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Condition:
    """What one rule found this tick for one service: active or not, with its labels and text."""

    rule: str
    active: bool
    severity: Severity
    labels: Mapping[str, str]  # includes alertname, namespace, service, severity
    annotations: Mapping[str, str]
    for_seconds: float = 0.0

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)


@dataclass(frozen=True)
class Delivery:
    """The newest notification a receiver acknowledged for one alert."""

    seq: int  # the alert's transition number that was delivered
    repeat: int  # 0 for the transition itself, n for its n-th repeat
    at: float  # when it was delivered

    @property
    def version(self) -> tuple[int, int]:
        return (self.seq, self.repeat)


@dataclass(frozen=True)
class AlertRecord:
    """One alert of one service, as kept in the CR status between ticks and restarts.

    ``seq`` counts notifiable transitions (firing, resolved); ``event`` is the newest one.
    ``deliveries`` says, per receiver, which transition it has acknowledged: what a receiver
    is still owed follows from comparing the two, so nothing is lost across a restart.
    """

    rule: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    severity: Severity
    phase: Phase
    active_since: float  # start of the current pending/firing episode
    seq: int = 0
    event: Event | None = None
    fired_at: float | None = None
    resolved_at: float | None = None
    inhibited: bool = False
    deliveries: Mapping[str, Delivery] = field(default_factory=lambda: MappingProxyType({}))

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def name(self) -> str:
        return self.labels.get("alertname", self.rule)


@dataclass(frozen=True)
class Notification:
    """One thing to tell one receiver about one alert; ``version`` orders and dedups them."""

    receiver: str
    fingerprint: str
    seq: int
    repeat: int
    event: Event
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    severity: Severity
    starts_at: float
    ends_at: float | None  # set on resolve
    group_key: str
    generator_url: str = ""  # Alertmanager's "Source" link for this alert (see ``links``)

    @property
    def version(self) -> tuple[int, int]:
        return (self.seq, self.repeat)

    @property
    def dedup_key(self) -> str:
        """Identity of this delivery: receiver, alert, transition and repeat number."""
        return f"{self.receiver}/{self.fingerprint}/{self.seq}.{self.repeat}"


def frozen_labels(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return _frozen(mapping)


def rfc3339(ts: float) -> str:
    """Unix seconds → RFC 3339 UTC with milliseconds (what Alertmanager and PagerDuty accept)."""
    return iso(ts, milliseconds=True)


def parse_rfc3339(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
