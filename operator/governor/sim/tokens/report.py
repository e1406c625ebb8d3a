"""Token-mode results as an SRE reads them: one table (with a published figure beside it), JSON, a plot.

Combined attainment is the share of judged requests that met every declared objective (TTFT
and TPOT here; goodput); TTFT and ITL attainment are each objective alone. Average replicas
count every pod that exists (starting and draining ones too), so they are GPU-hours ÷ hours.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from governor.sim.tokens.result import TokenRunResult, TokenSummary
from governor.sim.tokens.scenario import TokenScenario

HEADER = (
    f"{'policy':<24} {'combined':>9} {'TTFT att.':>9} {'ITL att.':>9} {'P90 TTFT s':>10} {'P90 TPOT ms':>11} "
    f"{'avg repl.':>9} {'GPU-h':>6} {'served q.':>9} {'swaps':>5}"
)
NOTE = (
    "combined: share of requests meeting every declared objective (goodput); P90s over the measured requests;\n"
    "avg repl.: pods alive on average (starting and draining included); served q.: mean relative quality of the\n"
    "precision that finished each request; swaps: precision changes started in the run"
)


def table(summaries: list[TokenSummary], scenario: TokenScenario | None = None) -> str:
    lines = [HEADER, "-" * len(HEADER)]
    for s in summaries:
        lines.append(
            f"{s.policy:<24} {s.attainment * 100:8.2f}% {s.ttft_attainment * 100:8.2f}% {s.itl_attainment * 100:8.2f}% "
            f"{s.ttft_p90_s:10.2f} {s.tpot_p90_s * 1000:11.1f} {s.average_replicas:9.2f} {s.gpu_hours:6.2f} "
            f"{s.served_quality:9.4f} {s.swaps:5d}"
        )
    published = scenario.published if scenario is not None else None
    if published is not None:
        lines.append(
            f"{'llm-d (published)':<24} {published.attainment * 100:8.2f}% {'':>9} {'':>9} {'':>10} {'':>11} "
            f"{published.average_replicas:9.2f}   ({published.source}; "
            f"static peak: {published.static_replicas} replicas)"
        )
    lines.append(NOTE)
    return "\n".join(lines)


def configurations(summaries: list[TokenSummary]) -> str:
    return "\n".join(f"  {s.policy:<24} {s.configuration}" for s in summaries)


def as_json(scenario: TokenScenario, seed: int, summaries: list[TokenSummary]) -> dict[str, Any]:
    slo = scenario.spec.slo
    published = scenario.published
    return {
        "scenario": scenario.name,
        "mode": "tokens",
        "description": scenario.description,
        "seed": seed,
        "duration_s": scenario.duration_s,
        "slo": {
            "ttft_ms": None if slo.ttft is None else slo.ttft.ms,
            "ttft_quantile": None if slo.ttft is None else slo.ttft.quantile,
            "itl_ms": None if slo.itl is None else slo.itl.ms,
            "itl_quantile": None if slo.itl is None else slo.itl.quantile,
            "latency_declared": slo.latency_declared,
        },
        "replicas": [scenario.spec.min_replicas, scenario.spec.max_replicas],
        "published": None if published is None else published.__dict__,
        "policies": [s.as_dict() for s in summaries],
    }


def per_minute_p90(result: TokenRunResult, values: np.ndarray) -> np.ndarray:
    """P90 of ``values`` (per request) by the minute the request arrived; nan for an empty minute."""
    minutes = -(-result.duration_s // 60)
    index = np.clip((result.arrival_s // 60).astype(int), 0, minutes - 1)
    out = np.full(minutes, np.nan)
    for m in range(minutes):
        chosen = values[(index == m) & ~np.isnan(values)]
        if chosen.size:
            out[m] = float(np.quantile(chosen, 0.9, method="higher"))
    return out


def plot(scenario: TokenScenario, results: list[TokenRunResult], path: Path) -> None:
    """Load, replicas, precision served, P90 TTFT and P90 TPOT over time, one line per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(5, 1, figsize=(13, 14), sharex=True)
    minutes = np.arange(scenario.duration_s) / 60.0
    load = scenario.arrivals().counts.astype(float)
    axes[0].plot(minutes, np.convolve(load, np.ones(15) / 15, mode="same"), color="black")
    axes[0].set_ylabel("load (req/s, 15 s mean)")
    styles = ["-", "--", ":", "-."]
    for n, result in enumerate(results):
        style = {"linewidth": 1.6 if result.policy.startswith("governor") else 0.9, "linestyle": styles[n % 4]}
        centre = np.arange(-(-result.duration_s // 60)) + 0.5
        axes[1].plot(minutes, result.alive, label=result.policy, **style)
        axes[2].plot(minutes, result.quality, label=result.policy, **style)
        dropped = result.outcomes.dropped
        ttft = np.where(dropped, scenario.timeout_s, result.ttft_s)
        axes[3].plot(centre, per_minute_p90(result, ttft), label=result.policy, **style)
        tpot = np.where(dropped, np.nan, result.tpot_s) * 1000.0
        axes[4].plot(centre, per_minute_p90(result, tpot), label=result.policy, **style)
    axes[1].set_ylabel("replicas (incl. starting\nand draining)")
    axes[2].set_ylabel("relative quality of\nthe serving replicas")
    axes[3].set_ylabel("P90 TTFT per minute (s)")
    axes[3].set_yscale("log")
    axes[4].set_ylabel("P90 TPOT per minute (ms)")
    if scenario.ttft_s is not None:
        axes[3].axhline(scenario.ttft_s, color="grey", linestyle="--", linewidth=0.8)
    if scenario.itl_s is not None:
        axes[4].axhline(scenario.itl_s * 1000.0, color="grey", linestyle="--", linewidth=0.8)
    axes[4].set_xlabel("minutes (by arrival for TTFT and TPOT)")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, borderaxespad=0.0)
    fig.suptitle(textwrap.fill(f"{scenario.name}: {scenario.description}", 140), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
