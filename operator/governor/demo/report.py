"""What the demo prints and draws: one compact row per tick, Event and alert lines, the run's summary, a plot.

Pure formatting over ``TickRecord``s (what the world did and what Governor reported in the
CR's status), except ``plot``, which imports matplotlib lazily (the ``demo`` extra).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from governor.demo.baseline import BaselineResult
from governor.demo.world import Ledger

HEADER_EVERY = 20
ROW_WIDTH = 120  # a row never wider than this
ELLIPSIS = "…"
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
    min_ready: int = 0
    peak_offered_rps: float = 0.0
    preferred_capacity_rps: float = 0.0  # what maxReplicas serve at the preferred precision
    hpa: BaselineResult | None = None  # the HPA it replaces, simulated on the same load


def _fmt(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut at a word boundary with an ellipsis, never mid-word."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = text[: width - 1]
    if text[width - 1] != " " and " " in head:
        head = head[: head.rindex(" ")]
    return head.rstrip(" ,;:—-(") + ELLIPSIS


def header(slo_ms: float, width: int = ROW_WIDTH) -> str:
    line = (
        f"{'time':>5}  {'service':<8} {'phase':<11} {'load':>5} {'rps':>5}  {'replicas':<8} {'prec':<4}"
        f"  {'p99 ms':>6} {'≤' + format(slo_ms, '.0f'):<6} {'gpu':>4}  decision"
    )
    return line[:width]


def slo_state(rec: TickRecord) -> str:
    """``ok`` or ``BREACH`` for the measured p99 against the SLO; empty before the first measurement."""
    if rec.p99_ms is None:
        return ""
    return "ok" if rec.p99_ms <= rec.slo_ms else "BREACH"


def row(rec: TickRecord, width: int = ROW_WIDTH) -> str:
    """One tick of one service in at most ``width`` columns; the decision's reason takes what is left."""
    replicas = f"{rec.ready}/{'-' if rec.desired is None else rec.desired}"
    gpu = "-" if rec.gpu is None else f"{rec.gpu * 100:.0f}%"
    cells = (
        f"{clock(rec.t):>5}  {rec.service[:8]:<8} {rec.phase[:11]:<11}"
        f" {rec.offered_rps:>5.1f} {_fmt(rec.rps, '5.1f'):>5}  {replicas:<8} {rec.precision:<4}"
        f"  {_fmt(rec.p99_ms, '6.0f'):>6} {slo_state(rec):<6} {gpu:>4}  "
    )
    return (cells + shorten(rec.reason, max(0, width - len(cells)))).rstrip()


def summarise(
    ledger: Ledger,
    records: Sequence[TickRecord],
    events: Sequence[Mapping[str, Any]],
    alerts: Sequence[Mapping[str, Any]],
    objective: float,
    hpa: BaselineResult | None = None,
    preferred_capacity_rps: float = 0.0,
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
        min_ready=min((r.ready for r in records if r.ready > 0), default=0),
        peak_offered_rps=max((r.offered_rps for r in records), default=0.0),
        preferred_capacity_rps=preferred_capacity_rps,
        hpa=hpa,
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def comparison(s: RunSummary) -> list[str]:
    """Governor beside the simulated HPA: one row each, then what Governor did worse, if anything."""
    lines = [
        f"  {'':<34} {'SLO attainment':>14} {'p99 > SLO':>10} {'GPU-seconds':>12}  replicas  precision",
        f"  {'Governor (this run, live)':<34} {_pct(s.slo_attainment):>14} {s.breach_seconds:>8.0f} s"
        f" {s.gpu_seconds:>12.0f}  {s.min_ready}-{s.max_ready:<7} {' → '.join(s.precisions) or '-'}",
    ]
    hpa = s.hpa
    if hpa is None:
        return lines
    lines.append(
        f"  {hpa.name + ', same load':<34} {_pct(hpa.slo_attainment):>14} {hpa.breach_seconds:>8.0f} s"
        f" {hpa.gpu_seconds:>12.0f}  up to {hpa.max_ready:<3} {hpa.precision} only"
    )
    lines.append(f"    HPA row simulated in the demo's world model on the same load, not run live: {hpa.description}")
    worse = []
    if s.slo_attainment is not None and hpa.slo_attainment is not None and s.slo_attainment < hpa.slo_attainment:
        worse.append(f"lower SLO attainment ({_pct(s.slo_attainment)} vs {_pct(hpa.slo_attainment)})")
    if s.breach_seconds > hpa.breach_seconds:
        worse.append(f"more time above the SLO ({s.breach_seconds:.0f} s vs {hpa.breach_seconds:.0f} s)")
    if s.gpu_seconds > hpa.gpu_seconds:
        extra = s.gpu_seconds / hpa.gpu_seconds - 1 if hpa.gpu_seconds else 0.0
        worse.append(f"{extra * 100:.0f}% more GPU-seconds ({s.gpu_seconds:.0f} vs {hpa.gpu_seconds:.0f})")
    lines.append(
        "    Governor did worse on: " + "; ".join(worse) if worse else "    Governor did no worse on any figure"
    )
    return lines


def summary_text(s: RunSummary) -> str:
    saved = 1 - s.gpu_seconds / s.peak_gpu_seconds if s.peak_gpu_seconds else 0.0
    lines = [f"summary over {clock(s.simulated_seconds)} simulated (mm:ss), the same flash crowd for both rows:"]
    lines += comparison(s)
    if s.slo_attainment is not None and s.slo_attainment < s.objective:
        why = f"  objective {s.objective * 100:g}% not met"
        if s.peak_offered_rps > s.preferred_capacity_rps > 0:
            why += (
                f": the flash crowd ({s.peak_offered_rps:.0f} req/s) is more than maxReplicas serve at the preferred"
                f" precision ({s.preferred_capacity_rps:.0f} req/s), and the backlog it builds drains late"
            )
        lines.append(why)
    lines += [
        f"  GPU-seconds     {s.gpu_seconds:.0f} ({saved * 100:.0f}% less than {s.peak_gpu_seconds:.0f}"
        " at maxReplicas all along)",
        f"  scaling         {s.scale_events} scale events, up to {s.max_ready} ready replicas",
        f"  precision       {s.swaps} swaps: {' → '.join(s.precisions) or '-'}",
        f"  alerts          {s.alerts_fired} fired, {s.alerts_resolved} resolved",
    ]
    return "\n".join(fit(line) for line in lines)


def fit(line: str, width: int = ROW_WIDTH) -> str:
    """A summary line wrapped to ``width`` columns, continuation lines indented under its text."""
    if len(line) <= width:
        return line
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    return "\n".join(textwrap.wrap(line, width, subsequent_indent=indent))


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
