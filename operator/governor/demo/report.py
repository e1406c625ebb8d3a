"""What the demo prints and draws: one compact row per tick, Event and alert lines, the run's summary, a plot.

Pure formatting over ``TickRecord``s (what the world did and what Governor reported in the
CR's status), except ``plot``, which imports matplotlib lazily (the ``demo`` extra).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from governor.demo.world import Ledger

HEADER_EVERY = 20
PRECISION_RANK = {"bf16": 0, "fp16": 1, "fp8": 2, "int8": 3, "int4": 4}


@dataclass(frozen=True)
class TickRecord:
    t: float  # simulated seconds since the start
    service: str
    phase: str
    offered_rps: float  # what the scenario sends
    ready: int  # the Deployment's ready replicas
    desired: int | None  # Governor's last decision (status.desiredReplicas)
    precision: str  # what the pods serve (status.precision)
    rps: float | None  # what Governor measured (status.metrics)
    p99_ms: float | None
    gpu: float | None
    true_p99_ms: float  # the world's ground truth
    slo_ms: float
    reason: str


@dataclass(frozen=True)
class RunSummary:
    simulated_seconds: float
    slo_attainment: float | None
    objective: float
    breach_seconds: float
    gpu_seconds: float
    peak_gpu_seconds: float
    scale_events: int
    swaps: int
    precisions: tuple[str, ...]
    alerts_fired: int
    alerts_resolved: int
    max_ready: int


def _fmt(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def header(slo_ms: float) -> str:
    return (
        f"{'time':>5}  {'service':<8} {'phase':<11} {'load':>5} {'rps':>5}  {'ready/want':<10} {'prec':<4}"
        f"  {'p99 ms':>6} {'(SLO ' + format(slo_ms, '.0f') + ')':<11} {'gpu':>4}  decision"
    )


def row(rec: TickRecord, width: int = 70) -> str:
    verdict = ""
    if rec.p99_ms is not None:
        verdict = "ok" if rec.p99_ms <= rec.slo_ms else "BREACH"
    desired = "-" if rec.desired is None else str(rec.desired)
    return (
        f"{clock(rec.t):>5}  {rec.service:<8} {rec.phase:<11} {rec.offered_rps:>5.1f} {_fmt(rec.rps, '5.1f'):>5}"
        f"  {f'{rec.ready}/{desired}':<10} {rec.precision:<4}  {_fmt(rec.p99_ms, '6.0f'):>6} {verdict:<11}"
        f" {_fmt(None if rec.gpu is None else rec.gpu * 100, '3.0f'):>3}%  {rec.reason[:width]}"
    )


def summarise(
    ledger: Ledger,
    records: Sequence[TickRecord],
    events: Sequence[Mapping[str, Any]],
    alerts: Sequence[Mapping[str, Any]],
    objective: float,
) -> RunSummary:
    precisions: list[str] = []
    for rec in records:
        if not precisions or precisions[-1] != rec.precision:
            precisions.append(rec.precision)
    reasons = [str(e.get("reason")) for e in events]
    return RunSummary(
        simulated_seconds=ledger.seconds,
        slo_attainment=ledger.attainment,
        objective=objective,
        breach_seconds=ledger.breach_seconds,
        gpu_seconds=ledger.gpu_seconds,
        peak_gpu_seconds=ledger.peak_gpu_seconds,
        scale_events=sum(r in ("ScaledUp", "ScaledDown") for r in reasons),
        swaps=reasons.count("PrecisionSwapped"),
        precisions=tuple(precisions),
        alerts_fired=sum(a.get("status") == "firing" for a in alerts),
        alerts_resolved=sum(a.get("status") == "resolved" for a in alerts),
        max_ready=max((r.ready for r in records), default=0),
    )


def summary_text(s: RunSummary) -> str:
    attainment = "-" if s.slo_attainment is None else f"{s.slo_attainment * 100:.2f}%"
    saved = 1 - s.gpu_seconds / s.peak_gpu_seconds if s.peak_gpu_seconds else 0.0
    return "\n".join(
        [
            f"summary over {clock(s.simulated_seconds)} simulated (mm:ss):",
            f"  SLO attainment  {attainment} of requests within the latency SLO (objective {s.objective * 100:g}%);"
            f" p99 above the SLO for {s.breach_seconds:.0f} s",
            f"  GPU-seconds     {s.gpu_seconds:.0f} ({saved * 100:.0f}% less than {s.peak_gpu_seconds:.0f}"
            " at maxReplicas all along)",
            f"  scaling         {s.scale_events} scale events, up to {s.max_ready} ready replicas",
            f"  precision       {s.swaps} swaps: {' → '.join(s.precisions) or '-'}",
            f"  alerts          {s.alerts_fired} fired, {s.alerts_resolved} resolved",
        ]
    )


def as_json(kind: str, payload: Any) -> str:
    body = asdict(payload) if hasattr(payload, "__dataclass_fields__") else dict(payload)
    return json.dumps({"kind": kind, **body}, default=str)


def plot(records: Sequence[TickRecord], path: Path) -> None:
    """Load, replicas, precision and p99 over time, one panel each, into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r.t for r in records]
    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(10, 9))
    axes[0].plot(t, [r.offered_rps for r in records], label="offered")
    axes[0].plot(t, [r.rps if r.rps is not None else float("nan") for r in records], label="measured")
    axes[0].set_ylabel("req/s")
    axes[1].step(t, [r.ready for r in records], where="post", label="ready")
    axes[1].step(
        t, [r.desired if r.desired is not None else float("nan") for r in records], where="post", label="desired"
    )
    axes[1].set_ylabel("replicas")
    axes[2].step(t, [PRECISION_RANK.get(r.precision, 0) for r in records], where="post")
    axes[2].set_yticks(list(PRECISION_RANK.values()), list(PRECISION_RANK))
    axes[2].invert_yaxis()
    axes[2].set_ylabel("precision")
    axes[3].plot(t, [r.p99_ms if r.p99_ms is not None else float("nan") for r in records], label="p99 measured")
    axes[3].plot(t, [r.true_p99_ms for r in records], label="p99 true", alpha=0.5)
    axes[3].axhline(records[0].slo_ms if records else 0, color="red", linestyle="--", label="SLO")
    axes[3].set_yscale("log")
    axes[3].set_ylabel("ms")
    axes[3].set_xlabel("simulated seconds")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize="small")
    fig.suptitle("governor demo")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
