"""The status table the demo prints every tick: one line per InferenceService, like ``kubectl get gisvc -o wide``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COLUMNS = ("NAMESPACE", "NAME", "READY", "REPLICAS", "DESIRED", "PRECISION", "P99MS", "RPS", "REASON")


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    return next((c for c in status.get("conditions") or () if c.get("type") == kind), {})


def row(obj: Mapping[str, Any]) -> tuple[str, ...]:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    ready = _condition(status, "Ready")
    invalid = _condition(status, "Invalid")
    metrics = status.get("metrics") or {}
    reasons = (status.get("decision") or {}).get("reasons") or []
    if invalid.get("status") == "True":
        reason = f"Invalid: {invalid.get('message', '')}"
    elif ready.get("status") != "True":
        reason = f"{ready.get('reason', 'Pending')}: {ready.get('message', '')}"
    else:
        reason = reasons[0] if reasons else ready.get("message", "")
    return (
        str(meta.get("namespace", "")),
        str(meta.get("name", "")),
        str(ready.get("status", "-")),
        f"{status.get('readyReplicas', '-')}/{status.get('replicas', '-')}",
        str(status.get("desiredReplicas", "-")),
        str(status.get("precision", "-")),
        str(metrics.get("latencyP99Ms", "-")),
        str(metrics.get("rps", "-")),
        reason[:70],
    )


def render(objs: Sequence[Mapping[str, Any]]) -> str:
    rows = [COLUMNS, *sorted(row(o) for o in objs)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows)
