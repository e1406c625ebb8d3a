"""The alert lifecycle: pending (waiting out ``for``) → firing → resolved, as a pure function.

``advance`` takes the alert records of one service from the previous tick (or from the CR
status after a restart), this tick's conditions and the receivers' acknowledgements, and
returns the next records. A transition to firing or resolved bumps ``seq``; receivers are
owed every transition they have not acknowledged (see ``routing``), which is how an
outage or a restart delays a notification without losing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType

from governor.alerting.types import AlertRecord, Condition, Delivery, Event, Phase


def merge_acks(record: AlertRecord, acks: Mapping[str, Delivery]) -> AlertRecord:
    """Fold receivers' acknowledgements in; an older ack never overwrites a newer one."""
    if not acks:
        return record
    merged = dict(record.deliveries)
    changed = False
    for receiver, ack in acks.items():
        known = merged.get(receiver)
        if ack.seq <= record.seq and (known is None or ack.version > known.version):
            merged[receiver] = ack
            changed = True
    return replace(record, deliveries=MappingProxyType(merged)) if changed else record


def _start(cond: Condition, now: float) -> AlertRecord:
    return AlertRecord(
        rule=cond.rule,
        labels=cond.labels,
        annotations=cond.annotations,
        severity=cond.severity,
        phase=Phase.PENDING,
        active_since=now,
    )


def _active(prior: AlertRecord | None, cond: Condition, now: float) -> AlertRecord:
    if prior is None:
        record = _start(cond, now)
    elif prior.phase == Phase.RESOLVED:
        # A new episode; a resolve still owed to some receiver stays owed (seq/event unchanged).
        record = replace(prior, phase=Phase.PENDING, active_since=now, annotations=cond.annotations)
    else:
        record = replace(prior, annotations=cond.annotations)
    if record.phase == Phase.PENDING and now - record.active_since >= cond.for_seconds:
        record = replace(record, phase=Phase.FIRING, seq=record.seq + 1, event=Event.FIRING, fired_at=now)
    return record


def _inactive(prior: AlertRecord, now: float) -> AlertRecord | None:
    if prior.phase == Phase.FIRING:
        return replace(prior, phase=Phase.RESOLVED, seq=prior.seq + 1, event=Event.RESOLVED, resolved_at=now)
    if prior.phase == Phase.PENDING:
        # Never fired in this episode: drop it, or fall back to the previous episode's resolve.
        return None if prior.event is None else replace(prior, phase=Phase.RESOLVED)
    return prior


def advance(
    prior: Iterable[AlertRecord],
    conditions: Iterable[Condition],
    now: float,
    acks: Mapping[str, Mapping[str, Delivery]] | None = None,
) -> tuple[AlertRecord, ...]:
    """The next alert records of one service; ``acks`` maps fingerprint → receiver → ack.

    A record with no condition this tick (its rule was disabled, or its labels changed)
    is treated as inactive, so it resolves rather than lingering as firing.
    """
    acks = acks or {}
    before = {r.fingerprint: merge_acks(r, acks.get(r.fingerprint, {})) for r in prior}
    after: dict[str, AlertRecord] = {}
    seen: set[str] = set()
    for cond in conditions:
        fp = cond.fingerprint
        seen.add(fp)
        old = before.get(fp)
        if cond.active:
            after[fp] = _active(old, cond, now)
        elif old is not None and (new := _inactive(old, now)) is not None:
            after[fp] = new
    for fp, old in before.items():
        if fp not in seen and (new := _inactive(old, now)) is not None:
            after[fp] = new
    return tuple(sorted(after.values(), key=lambda r: (r.rule, r.fingerprint)))
