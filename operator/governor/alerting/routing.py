"""Who is owed what: routing, inhibition and repeats, as pure functions of the alert records.

A receiver is owed a firing notification when it is routed the alert (named by the CR,
or a default receiver; its ``match`` accepts the alert's severity and labels), the alert
is not inhibited, and the receiver has not acknowledged this transition; it is owed a
repeat after ``repeat_interval``; it is owed a resolve when it acknowledged the firing
the resolve ends. Computing this afresh each tick from (records, acknowledgements) is
what makes delivery survive outages and restarts without duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from governor.alerting.config import AlertingConfig, InhibitRule, ReceiverConfig
from governor.alerting.links import AlertLinks
from governor.alerting.types import AlertRecord, Event, Notification, Phase
from governor.model import FieldError, ServiceSpec

RESOLVED_RETENTION = 900.0  # a delivered resolve stays visible in status this long
UNDELIVERED_LIMIT = 86400.0  # a resolve no receiver could take for a day is given up


def routed_receivers(spec: ServiceSpec, config: AlertingConfig) -> tuple[tuple[ReceiverConfig, ...], list[FieldError]]:
    """The receivers a service's alerts go to, and an error for each name it may not use.

    A name the CR gives must exist and be open to the CR's namespace (the receiver's ``namespaces``);
    the ConfigMap's ``default_receivers`` serve a CR that names none.
    """
    if not spec.alerts.receivers:
        return tuple(rc for n in config.default_receivers if (rc := config.receivers.get(n)) is not None), []
    found, errors = [], []
    for i, name in enumerate(spec.alerts.receivers):
        rc = config.receivers.get(name)
        where = f"spec.alerts.receivers[{i}]"
        if rc is None:
            usable = ", ".join(sorted(n for n, r in config.receivers.items() if r.open_to(spec.namespace))) or "none"
            why = f"unknown receiver {name!r} (open to namespace {spec.namespace}: {usable})"
            errors.append(FieldError(where, why))
        elif not rc.open_to(spec.namespace):
            why = f"receiver {name!r} is not open to namespace {spec.namespace!r} (its 'namespaces' in the ConfigMap)"
            errors.append(FieldError(where, why))
        else:
            found.append(rc)
    return tuple(found), errors


def _inhibits(rule: InhibitRule, source: AlertRecord, target: AlertRecord) -> bool:
    if source is target or source.phase != Phase.FIRING:
        return False
    if not (rule.source.matches(source.labels) and rule.target.matches(target.labels)):
        return False
    return all(source.labels.get(k, "") == target.labels.get(k, "") for k in rule.equal)


def apply_inhibition(records: Sequence[AlertRecord], rules: Iterable[InhibitRule]) -> tuple[AlertRecord, ...]:
    """Mark firing alerts muted by another firing alert of higher severity (per ``inhibit_rules``)."""
    rules = tuple(rules)
    result = []
    for target in records:
        muted = target.phase == Phase.FIRING and any(_inhibits(rule, s, target) for rule in rules for s in records)
        result.append(replace(target, inhibited=muted) if muted != target.inhibited else target)
    return tuple(result)


def group_key(receiver: ReceiverConfig, labels: Mapping[str, str]) -> str:
    keys = sorted(labels) if "..." in receiver.group_by else receiver.group_by
    return receiver.name + ":" + json.dumps({k: labels.get(k, "") for k in keys}, sort_keys=True)


def _note(rc: ReceiverConfig, record: AlertRecord, event: Event, repeat: int, links: AlertLinks) -> Notification:
    return Notification(
        receiver=rc.name,
        fingerprint=record.fingerprint,
        seq=record.seq,
        repeat=repeat,
        event=event,
        labels=record.labels,
        annotations=links.annotate(record.rule, record.labels, record.annotations),
        severity=record.severity,
        starts_at=record.fired_at if record.fired_at is not None else record.active_since,
        ends_at=record.resolved_at if event == Event.RESOLVED else None,
        group_key=group_key(rc, record.labels),
        generator_url=links.generator(record.rule, record.labels),
    )


def owed(
    record: AlertRecord, routed: Sequence[ReceiverConfig], config: AlertingConfig, now: float
) -> tuple[Notification, ...]:
    """Every notification about ``record`` some receiver has not acknowledged yet."""
    result = []
    if record.event == Event.FIRING and not record.inhibited:
        for rc in routed:
            done = record.deliveries.get(rc.name)
            if not rc.match.matches(record.labels):
                continue
            if done is None or done.seq < record.seq:
                result.append(_note(rc, record, Event.FIRING, 0, config.links))
            elif done.seq == record.seq and rc.repeat_interval > 0 and now - done.at >= rc.repeat_interval:
                result.append(_note(rc, record, Event.FIRING, done.repeat + 1, config.links))
    elif record.event == Event.RESOLVED:
        for name, done in sorted(record.deliveries.items()):
            target = config.receivers.get(name)
            if target is not None and target.send_resolved and done.seq == record.seq - 1:
                result.append(_note(target, record, Event.RESOLVED, 0, config.links))
    return tuple(result)


def prune(records: Iterable[AlertRecord], outstanding: set[str], now: float) -> tuple[AlertRecord, ...]:
    """Drop resolved alerts once delivered and old enough (or undeliverable for a day)."""
    kept = []
    for r in records:
        if r.phase == Phase.RESOLVED and r.resolved_at is not None:
            age = now - r.resolved_at
            if age >= UNDELIVERED_LIMIT or (age >= RESOLVED_RETENTION and r.fingerprint not in outstanding):
                continue
        kept.append(r)
    return tuple(kept)
