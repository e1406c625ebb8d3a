"""Turn run results into the comparison an SRE reads: one table, JSON, or a plot over time.

SLO attainment counts a request as good when it finished within the SLO latency; dropped
requests (client timeout) are violations. Requests still queued at the end are left out.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from governor.sim.engine import RunResult
from governor.sim.queueing import quantile_from_histogram
from governor.sim.scenario import Scenario


@dataclass(frozen=True)
class Summary:
    policy: str
    configuration: str
    arrived: float  # requests that arrived in the measured run (the same for every policy)
    requests: float  # requests that finished in it (the warm-up's backlog included, the end's excluded)
    violations: float  # finished late or dropped
    dropped: float
    attainment: float  # share within the SLO latency
    p99_s: float
    gpu_hours: float
    quality_lost: float  # 1 - time-weighted relative quality
    quality_min: float
    served_quality: float  # request-weighted relative quality of the precision that served each request
    swaps_per_hour: float  # swaps ÷ run length: extrapolated for runs shorter than an hour
    swaps: int
    max_swaps_in_an_hour: int  # most swaps inside any sliding 3600 s window
    scale_actions_per_hour: float

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def max_in_window(times: tuple[float, ...], window: float) -> int:
    """The most events inside any window of ``window`` seconds."""
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


def summarize(result: RunResult) -> Summary:
    finished = result.arrived + result.queued_at_start - result.queued_at_end  # requests that finished in the run
    hours = result.duration_s / 3600.0
    p99 = quantile_from_histogram(result.latency_hist, 0.99)
    return Summary(
        policy=result.policy,
        configuration=result.configuration,
        arrived=result.arrived,
        requests=finished,
        violations=max(0.0, finished - result.within_slo),  # fluid counts: no -0 from rounding
        dropped=result.dropped,
        attainment=result.within_slo / finished if finished > 0 else 1.0,
        p99_s=p99 if p99 is not None else 0.0,
        gpu_hours=result.gpu_seconds / 3600.0,
        quality_lost=1.0 - result.quality_mean,
        quality_min=result.quality_min,
        served_quality=result.served_quality,
        swaps_per_hour=result.swaps / hours,
        swaps=result.swaps,
        max_swaps_in_an_hour=max_in_window(result.swap_times, 3600.0),
        scale_actions_per_hour=result.scale_actions / hours,
    )


HEADER = (
    f"{'policy':<16} {'SLO att.':>9} {'violating':>10} {'p99 s':>7} {'GPU-h':>7} {'served q.':>9} "
    f"{'quality lost':>12} {'swaps':>5} {'max/1h':>6} {'avg/h':>6} {'scale/h':>8}"
)
NOTE = (
    "served q.: mean relative quality of the precision that served each request; quality lost: 1 - time-weighted\n"
    "quality of the serving pods; swaps: started in the run; max/1h: most inside any sliding hour;\n"
    "avg/h: swaps ÷ run length (extrapolated)"
)


def table(summaries: list[Summary]) -> str:
    lines = [HEADER, "-" * len(HEADER)]
    for s in summaries:
        lines.append(
            f"{s.policy:<16} {s.attainment * 100:8.3f}% {s.violations:10.0f} {s.p99_s:7.2f} {s.gpu_hours:7.2f} "
            f"{s.served_quality:9.4f} {s.quality_lost * 100:11.2f}% {s.swaps:5d} {s.max_swaps_in_an_hour:6d} "
            f"{s.swaps_per_hour:6.2f} {s.scale_actions_per_hour:8.1f}"
        )
    lines.append(NOTE)
    return "\n".join(lines)


def configurations(summaries: list[Summary]) -> str:
    return "\n".join(f"  {s.policy:<16} {s.configuration}" for s in summaries)


def as_json(scenario: Scenario, seed: int, summaries: list[Summary]) -> dict[str, Any]:
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "seed": seed,
        "duration_s": scenario.arrivals.duration_s,
        "slo": {"latency_ms": scenario.spec.slo.latency_ms, "objective": scenario.spec.slo.objective},
        "max_replicas": scenario.spec.max_replicas,
        "policies": [s.as_dict() for s in summaries],
    }


def minute_p99(result: RunResult) -> np.ndarray:
    values = [quantile_from_histogram(row, 0.99) for row in result.minute_hist]
    return np.array([np.nan if v is None else v for v in values])


def minute_quality(result: RunResult) -> np.ndarray:
    """Relative quality served per minute, each second weighted by the requests that arrived in it.

    The run records the serving pods' mean quality per second, not per request served, so
    this weights those seconds by load: a minute at int4 under a burst counts for more than
    a quiet one. A minute without arrivals takes the plain mean; one without a serving pod is nan.
    """
    n = result.quality.size
    minutes = -(-n // 60)
    quality = np.full(minutes * 60, np.nan)
    quality[:n] = result.quality
    load = np.zeros(minutes * 60)
    load[:n] = result.load
    known = ~np.isnan(quality.reshape(minutes, 60))
    values = np.where(known, quality.reshape(minutes, 60), 0.0)
    weight = np.where(known, load.reshape(minutes, 60), 0.0)
    total, count = weight.sum(axis=1), known.sum(axis=1)
    weighted = (values * weight).sum(axis=1) / np.where(total > 0, total, 1.0)
    plain = values.sum(axis=1) / np.maximum(count, 1)
    return np.where(total > 0, weighted, np.where(count > 0, plain, np.nan))


def plot(scenario: Scenario, results: list[RunResult], path: Path) -> None:
    """Load, replicas, quality served and p99 over time, one line per policy (nine stay apart by style)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(13, 12), sharex=True)
    minutes = np.arange(scenario.arrivals.duration_s) / 60.0
    load = scenario.arrivals.counts.astype(float)
    axes[0].plot(minutes, np.convolve(load, np.ones(15) / 15, mode="same"), color="black")
    axes[0].set_ylabel("load (req/s, 15 s mean)")
    styles = ["-", "--", ":", "-."]
    for n, result in enumerate(results):
        style = {"linewidth": 1.6 if result.policy == "governor" else 0.9, "linestyle": styles[n % len(styles)]}
        centre = np.arange(result.minute_hist.shape[0]) + 0.5
        axes[1].plot(minutes, result.alive, label=result.policy, **style)
        served = f"{result.policy} (served q. {result.served_quality:.4f})"
        axes[2].plot(centre, minute_quality(result), label=served, **style)
        axes[3].plot(centre, minute_p99(result), label=result.policy, **style)
    axes[1].set_ylabel("replicas (incl. starting)")
    axes[2].set_ylabel("quality served\n(per minute, load-weighted)")
    axes[3].set_ylabel("p99 per minute (s)")
    axes[3].axhline(scenario.slo_latency_s, color="grey", linestyle="--", linewidth=0.8)
    axes[3].set_xlabel("minutes")
    for panel in (axes[1], axes[2]):  # outside the axes, so nine rows hide no line
        panel.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, borderaxespad=0.0)
    fig.suptitle(textwrap.fill(f"{scenario.name}: {scenario.description}", 140), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
