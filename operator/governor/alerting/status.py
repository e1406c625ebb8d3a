"""Alert records ⇄ the JSON-safe list kept in the CR's ``status.alerts``.

The status is the lasting memory of alerting: an operator restart reads it back with
``from_status`` and continues — pending timers keep running, firing alerts are not
re-paged (their acknowledgements are here), and a resolve not yet delivered is still
owed. Entries that cannot be read are skipped rather than failing the service.
Nothing secret is stored: labels, texts, times and receiver *names* only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from governor.alerting.types import AlertRecord, Delivery, Event, Phase, Severity, frozen_labels, parse_rfc3339, rfc3339


def _time(ts: float | None) -> str | None:
    return None if ts is None else rfc3339(ts)


def _delivery(d: Delivery) -> dict[str, Any]:
    return {"seq": d.seq, "repeat": d.repeat, "at": rfc3339(d.at)}


def to_status(records: Iterable[AlertRecord]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        entry: dict[str, Any] = {
            "name": r.name,
            "rule": r.rule,
            "fingerprint": r.fingerprint,
            "severity": r.severity.value,
            "state": r.phase.value,
            "activeSince": _time(r.active_since),
            "labels": dict(r.labels),
            "annotations": dict(r.annotations),
            "seq": r.seq,
        }
        if r.event is not None:
            entry["event"] = r.event.value
        if r.fired_at is not None:
            entry["firedAt"] = _time(r.fired_at)
        if r.resolved_at is not None:
            entry["resolvedAt"] = _time(r.resolved_at)
        if r.inhibited:
            entry["inhibited"] = True
        if r.deliveries:
            entry["delivered"] = {name: _delivery(d) for name, d in sorted(r.deliveries.items())}
        out.append(entry)
    return out


def _optional_time(entry: Mapping[str, Any], key: str) -> float | None:
    value = entry.get(key)
    return None if value is None else parse_rfc3339(str(value))


def _record(entry: Mapping[str, Any]) -> AlertRecord:
    deliveries = {
        str(name): Delivery(int(d["seq"]), int(d.get("repeat", 0)), parse_rfc3339(str(d["at"])))
        for name, d in (entry.get("delivered") or {}).items()
    }
    event = entry.get("event")
    return AlertRecord(
        rule=str(entry["rule"]),
        labels=frozen_labels({str(k): str(v) for k, v in entry["labels"].items()}),
        annotations=frozen_labels({str(k): str(v) for k, v in (entry.get("annotations") or {}).items()}),
        severity=Severity(entry["severity"]),
        phase=Phase(entry["state"]),
        active_since=parse_rfc3339(str(entry["activeSince"])),
        seq=int(entry.get("seq", 0)),
        event=Event(event) if event else None,
        fired_at=_optional_time(entry, "firedAt"),
        resolved_at=_optional_time(entry, "resolvedAt"),
        inhibited=bool(entry.get("inhibited", False)),
        deliveries=MappingProxyType(deliveries),
    )


def from_status(entries: Sequence[Any] | None) -> tuple[AlertRecord, ...]:
    """Records from ``status.alerts``; malformed entries are skipped."""
    records = []
    for entry in entries or ():
        if not isinstance(entry, Mapping):
            continue
        try:
            records.append(_record(entry))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return tuple(records)
