"""The named scenarios of the benchmark, and the policies that can run on them.

One model of an LLM service everywhere: a replica batches 16 requests; a request takes 4 s
at bf16 (so a bf16 replica completes 4 req/s), fp8 serves 1.6× as fast at 99.5 % quality,
int4 2× at 97 %; the quality floor is 0.97 and the SLO is p99 ≤ 8 s for 99 % of requests.
Every policy gets the same spec, bounds and variants; HPA, KPA and Governor read the same
lagged monitoring data.

Recorded traces (Azure, Mooncake) are replayed at a chosen mean rate (40 req/s unless told)
with their own burstiness; the cold-start scenarios hit a warm two-replica service with a
constant load it cannot carry, from t=0.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from governor.model.spec import (
    Behavior,
    Precision,
    PrecisionMode,
    PrecisionSpec,
    ServiceSpec,
    SLOSpec,
    SwapMode,
    TargetsSpec,
    Variant,
)
from governor.sim.arrivals import (
    Arrivals,
    diurnal_rate,
    flash_rate,
    gamma_renewal_counts,
    poisson_counts,
    step_rate,
    trace_arrivals,
)
from governor.sim.baselines import PROVISION_UTILIZATION
from governor.sim.scenario import Scenario

SERVICE_TIME_S = 4.0
SLOTS = 16
# Recorded traces are not package data (too large, not ours to ship): GOVERNOR_TRACES_DIR names their
# folder, else the shared/ folder beside a source checkout.
TRACES_DIR = Path(
    os.environ.get("GOVERNOR_TRACES_DIR") or Path(__file__).resolve().parents[3] / ".." / "shared" / "traces"
)
DEFAULT_TRACE = TRACES_DIR / "azure-llm-2023-conv.csv"
MOONCAKE_TRACE = TRACES_DIR / "mooncake-conversation.jsonl"
TRACE_SCENARIOS = {"trace": DEFAULT_TRACE, "mooncake": MOONCAKE_TRACE}
DEFAULT_TRACE_RATE = 40.0
COLD_START_RATES = {"cold-40": 40.0, "cold-80": 80.0, "cold-120": 120.0}
COLD_START_REPLICAS = 2
SCENARIOS = (
    "diurnal",
    "flash-inplace",
    "flash-rolling",
    "heavy-tailed",
    *TRACE_SCENARIOS,
    "step",
    "smoke",
    *COLD_START_RATES,
)


def service_spec(name: str, max_replicas: int, in_place: bool, startup_s: float = 90.0) -> ServiceSpec:
    modes = (SwapMode.ROLLING, SwapMode.IN_PLACE) if in_place else (SwapMode.ROLLING,)
    variants = (
        Variant(Precision.BF16, 1.0, 1.0, swap_modes=modes),
        Variant(Precision.FP8, 1.6, 0.995, swap_modes=modes),
        Variant(Precision.INT4, 2.0, 0.97, swap_modes=modes),
    )
    return ServiceSpec(
        namespace="sim",
        name=name,
        min_replicas=2,
        max_replicas=max_replicas,
        startup_seconds=startup_s,
        slo=SLOSpec(latency_ms=8000.0, latency_quantile=0.99, objective=0.99),
        targets=TargetsSpec(gpu_utilization=0.75),
        precision=PrecisionSpec(
            mode=PrecisionMode.AUTO, preferred=Precision.BF16, quality_floor=0.97, variants=variants
        ),
        behavior=Behavior(),
    )


def _initial(rate: float) -> int:
    return max(2, math.ceil(rate / (SLOTS / SERVICE_TIME_S * PROVISION_UTILIZATION)))


def _elastic(name: str, description: str, arrivals: Arrivals, start_rate: float) -> Scenario:
    # Sized for the warm-up's load too (the first minute's mean): a fleet the warm-up already
    # saturates would start every policy from a backlog that none of them caused.
    spec = service_spec(name, max_replicas=40, in_place=True)
    warm = float(arrivals.counts[:60].mean()) if arrivals.counts.size else 0.0
    return Scenario(name, description, arrivals, spec, _initial(max(start_rate, warm)), SERVICE_TIME_S, SLOTS)


def _diurnal(rng: np.random.Generator, duration: int, cv: float | None) -> tuple[Arrivals, float]:
    rate = diurnal_rate(duration, mean_rate=60.0, peak_to_trough=4.0, day_s=7200.0)
    if cv is None:
        text = "diurnal: 24 h in 2 h, mean 60 req/s, peak/trough 4, Poisson"
        return Arrivals(poisson_counts(rate, rng), text), rate[0]
    text = f"heavy-tailed: Gamma renewal CV {cv:g} on the diurnal mean (60 req/s, peak/trough 4, 24 h in 2 h)"
    return Arrivals(gamma_renewal_counts(rate, cv, rng), text), rate[0]


def _flash(name: str, rng: np.random.Generator, duration: int, in_place: bool) -> Scenario:
    base = 40.0
    rate = flash_rate(duration, base, factor=4.0, start_s=600, ramp_s=60, hold_s=1200)
    arrivals = Arrivals(poisson_counts(rate, rng), "flash crowd: 40 req/s, ×4 within 60 s at 10 min, held 20 min")
    max_replicas = math.ceil(2.5 * base / (SLOTS / SERVICE_TIME_S))
    spec = service_spec(name, max_replicas=max_replicas, in_place=in_place)
    mode = "in-place-capable variants (20 s per pod, 25 % at once)" if in_place else "rolling-only variants"
    text = f"{arrivals.description}; start-up 90 s; maxReplicas {max_replicas} = 2.5× base at bf16; {mode}"
    return Scenario(name, text, arrivals, spec, _initial(base), SERVICE_TIME_S, SLOTS)


def build_scenario(
    name: str,
    seed: int = 0,
    duration_s: int | None = None,
    trace: Path | None = None,
    rate: float | None = None,
) -> Scenario:
    """A named scenario (or a trace file) with arrivals drawn from ``seed``.

    ``trace`` replays that file instead of ``name``; ``rate`` is the mean req/s a trace is
    rescaled to (40 by default) and is refused for the scenarios that are not traces.
    """
    rng = np.random.default_rng(seed)
    if trace is not None or name in TRACE_SCENARIOS:
        path = trace or TRACE_SCENARIOS[name]
        scenario_name = name if trace is None else "trace"
        return _trace(scenario_name, path, rng, duration_s, DEFAULT_TRACE_RATE if rate is None else rate)
    if rate is not None:
        raise ValueError(f"a rate applies only to a trace ({', '.join(TRACE_SCENARIOS)} or a file), not to {name!r}")
    if name in COLD_START_RATES:
        return _cold_start(name, rng, duration_s or 3600, COLD_START_RATES[name])
    builders: dict[str, Callable[[], Scenario]] = {
        "diurnal": lambda: _elastic("diurnal", *_with_text(_diurnal(rng, duration_s or 7200, None))),
        "heavy-tailed": lambda: _elastic("heavy-tailed", *_with_text(_diurnal(rng, duration_s or 7200, 4.0))),
        "flash-inplace": lambda: _flash("flash-inplace", rng, duration_s or 2520, True),
        "flash-rolling": lambda: _flash("flash-rolling", rng, duration_s or 2520, False),
        "step": lambda: _step(rng, duration_s or 1800),
        "smoke": lambda: _smoke(rng, duration_s or 600),
    }
    if name not in builders:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return builders[name]()


def _with_text(made: tuple[Arrivals, float]) -> tuple[str, Arrivals, float]:
    arrivals, start = made
    return arrivals.description, arrivals, start


def _trace(name: str, path: Path, rng: np.random.Generator, duration: int | None, rate: float) -> Scenario:
    if not rate > 0:
        raise ValueError(f"the rate must be positive, not {rate:g}")
    arrivals = trace_arrivals(path, rng, mean_rate=rate, duration_s=duration)
    return _elastic(name, arrivals.description, arrivals, float(arrivals.counts[:60].mean()))


def _cold_start(name: str, rng: np.random.Generator, duration: int, rate: float) -> Scenario:
    """Two warm, lightly loaded replicas (half their capacity) meet a constant ``rate`` at t=0."""
    warm_rate = 0.5 * COLD_START_REPLICAS * SLOTS / SERVICE_TIME_S
    arrivals = Arrivals(poisson_counts(np.full(duration, rate), rng), f"cold start: Poisson {rate:g} req/s from t=0")
    text = f"{arrivals.description} on {COLD_START_REPLICAS} replicas warmed at {warm_rate:g} req/s"
    spec = service_spec(name, max_replicas=40, in_place=True)
    return Scenario(name, text, arrivals, spec, COLD_START_REPLICAS, SERVICE_TIME_S, SLOTS, warmup_rate=warm_rate)


def _step(rng: np.random.Generator, duration: int) -> Scenario:
    rate = step_rate(duration, 30.0, factor=2.0, start_s=300)
    arrivals = Arrivals(poisson_counts(rate, rng), "step overload: 30 req/s, ×2 at 5 min, held")
    return _elastic("step", arrivals.description, arrivals, 30.0)


def _smoke(rng: np.random.Generator, duration: int) -> Scenario:
    rate = flash_rate(duration, 12.0, factor=3.0, start_s=duration // 3, ramp_s=30, hold_s=duration // 3)
    arrivals = Arrivals(poisson_counts(rate, rng), "smoke: 12 req/s, ×3 for a third of the run")
    spec = service_spec("smoke", max_replicas=10, in_place=True, startup_s=30.0)
    return Scenario("smoke", arrivals.description, arrivals, spec, _initial(12.0), SERVICE_TIME_S, SLOTS)
