"""The named token-mode scenarios: llm-d's staged ramp, the two shared traces, a constant load.

``llmd-staged-ramp`` replays the load of llm-d's published SLO-aware autoscaling benchmark:
Poisson arrivals at 2 → 4 → 6 → 8 → 10 → 4 → 1 req/s held 330 / 360 / 360 / 360 / 360 /
360 / 300 s, prompts ~N(4000, 300) and outputs ~N(1000, 80) tokens, objectives P90 TTFT ≤ 3 s
and P90 TPOT ≤ 100 ms with no request-latency objective, 3..8 replicas. The published result
is printed beside the simulated rows: 95.8 % combined attainment at 5.93 average replicas,
against 8 replicas for static peak provisioning.

``tokens-azure`` and ``tokens-mooncake`` replay the shared traces in token mode at a chosen
mean rate (each request keeps its own lengths, Mooncake's also its prompt blocks, so its
shared prefixes hit a replica's cache). ``constant`` is a flat Poisson load on a fixed
fleet, the calibration's instrument.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from governor.model.spec import (
    Behavior,
    Precision,
    PrecisionMode,
    PrecisionSpec,
    ScalingPolicy,
    ScalingRules,
    SelectPolicy,
    ServiceSpec,
    SLOSpec,
    SwapMode,
    TargetsSpec,
    TokenLatencySLO,
    Variant,
)
from governor.sim.arrivals import read_trace, rescale_trace
from governor.sim.scenarios import DEFAULT_TRACE, MOONCAKE_TRACE
from governor.sim.tokens.physics import TokenPhysics
from governor.sim.tokens.scenario import DEFAULT_ITL_S, DEFAULT_TTFT_S, Published, TokenScenario
from governor.sim.tokens.workload import TokenRequests, from_trace, poisson_times, resampled, staged_rate, synthetic

LLMD_RATES = (2.0, 4.0, 6.0, 8.0, 10.0, 4.0, 1.0)
LLMD_STAGES_S = (330, 360, 360, 360, 360, 360, 300)
LLMD_ISL = (4000.0, 300.0)
LLMD_OSL = (1000.0, 80.0)
# The HPA behaviour of llm-d's SLO-aware recipe: up max(4 pods, 100 %) per 60 s, down 1 pod per 120 s.
LLMD_BEHAVIOR = Behavior(
    scale_up=ScalingRules(0, SelectPolicy.MAX, (ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 100, 60))),
    scale_down=ScalingRules(0, SelectPolicy.MAX, (ScalingPolicy("Pods", 1, 120),)),
)
LLMD_PUBLISHED = Published("llm-d SLO-aware autoscaling benchmark (published)", 0.958, 5.93, 8)
TOKEN_TRACES = {"tokens-azure": DEFAULT_TRACE, "tokens-mooncake": MOONCAKE_TRACE}
# Mean rates a token-mode trace cell is replayed at (req/s): a few replicas up to about a dozen.
TOKEN_TRACE_RATES = {"tokens-azure": (15.0, 30.0, 60.0), "tokens-mooncake": (2.0, 4.0, 8.0)}
TOKEN_TRACE_DURATION_S = 1800
TOKEN_SCENARIOS = ("llmd-staged-ramp", *TOKEN_TRACES)


def token_spec(
    name: str, min_replicas: int, max_replicas: int, in_place: bool = False, behavior: Behavior | None = None
) -> ServiceSpec:
    """P90 TTFT ≤ 3 s and P90 TPOT ≤ 100 ms, no request-latency objective; bf16 / fp8 / int4 variants."""
    modes = (SwapMode.ROLLING, SwapMode.IN_PLACE) if in_place else (SwapMode.ROLLING,)
    variants = (
        Variant(Precision.BF16, 1.0, 1.0, swap_modes=modes),
        Variant(Precision.FP8, 1.6, 0.995, swap_modes=modes),
        Variant(Precision.INT4, 2.0, 0.97, swap_modes=modes),
    )
    slo = SLOSpec(
        objective=0.9,
        latency_declared=False,
        ttft=TokenLatencySLO(DEFAULT_TTFT_S * 1000.0, 0.9),
        itl=TokenLatencySLO(DEFAULT_ITL_S * 1000.0, 0.9),
    )
    return ServiceSpec(
        namespace="sim",
        name=name,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        startup_seconds=90.0,
        slo=slo,
        targets=TargetsSpec(gpu_utilization=0.75),
        precision=PrecisionSpec(
            mode=PrecisionMode.AUTO, preferred=Precision.BF16, quality_floor=0.97, variants=variants
        ),
        behavior=behavior or Behavior(),
    )


def _warmup(source: TokenRequests, rate: float, seconds: int, rng: np.random.Generator) -> TokenRequests:
    times = poisson_times(np.full(seconds, rate), rng, start_s=-float(seconds))
    return resampled(source, times, rng)


def llmd_staged_ramp(seed: int = 0, physics: TokenPhysics | None = None) -> TokenScenario:
    rng = np.random.default_rng(seed)
    rate = staged_rate(LLMD_RATES, LLMD_STAGES_S)
    requests = synthetic(rate, rng, LLMD_ISL, LLMD_OSL)
    warmup_s = 100
    warmup = synthetic(np.full(warmup_s, LLMD_RATES[0]), rng, LLMD_ISL, LLMD_OSL, start_s=-float(warmup_s))
    stages = " → ".join(f"{r:g}" for r in LLMD_RATES)
    text = (
        f"llm-d staged ramp: Poisson {stages} req/s for {'/'.join(map(str, LLMD_STAGES_S))} s; "
        f"ISL ~N({LLMD_ISL[0]:g}, {LLMD_ISL[1]:g}), OSL ~N({LLMD_OSL[0]:g}, {LLMD_OSL[1]:g}) tokens"
    )
    spec = token_spec("llmd-staged-ramp", 3, 8, behavior=LLMD_BEHAVIOR)  # the recipe's HPA behaviour, for every row
    return TokenScenario(
        "llmd-staged-ramp", text, requests, warmup, int(rate.size), spec,
        initial_replicas=3, physics=physics or TokenPhysics(), warmup_s=warmup_s, published=LLMD_PUBLISHED,
    )  # fmt: skip


def token_trace(name: str, seed: int = 0, rate: float | None = None, duration_s: int | None = None) -> TokenScenario:
    """A shared trace in token mode at ``rate`` req/s (the middle of its cell rates by default)."""
    path: Path = TOKEN_TRACES[name]
    rng = np.random.default_rng(seed)
    rate = TOKEN_TRACE_RATES[name][1] if rate is None else rate
    if not rate > 0:
        raise ValueError(f"the rate must be positive, not {rate:g}")
    trace = read_trace(path).cut(duration_s or TOKEN_TRACE_DURATION_S)
    trace = rescale_trace(trace, rate / trace.native_rate, rng)
    requests = from_trace(trace)
    warm_rate = float(requests.counts(0.0, 60).mean())
    warmup = _warmup(requests, warm_rate, 100, rng)
    isl, osl = float(requests.isl.mean()), float(requests.osl.mean())
    text = (
        f"trace {path.name} in token mode: {trace.span_s} s rescaled to {rate:g} req/s on its timestamps; "
        f"mean ISL {isl:.0f}, OSL {osl:.0f} tokens"
        + ("; prompt blocks kept (prefix cache)" if requests.blocks is not None else "")
    )
    spec = token_spec(name, 2, 16)
    scenario = TokenScenario(name, text, requests, warmup, trace.span_s, spec, initial_replicas=2, warmup_s=100)
    initial = scenario.replicas_for(max(warm_rate, rate * 0.5), 0.8)
    return TokenScenario(name, text, requests, warmup, trace.span_s, spec, initial_replicas=initial, warmup_s=100)


def constant(
    rate: float,
    replicas: int,
    seed: int = 0,
    duration_s: int = 600,
    warmup_s: int = 300,
    physics: TokenPhysics | None = None,
    isl: tuple[float, float] = LLMD_ISL,
    osl: tuple[float, float] = LLMD_OSL,
) -> TokenScenario:
    """Constant Poisson ``rate`` on ``replicas`` (min = max), warmed at the same rate: the calibration load."""
    rng = np.random.default_rng(seed)
    requests = synthetic(np.full(duration_s, rate), rng, isl, osl)
    warmup = synthetic(np.full(warmup_s, rate), rng, isl, osl, start_s=-float(warmup_s))
    spec = token_spec("constant", replicas, replicas)
    text = f"constant Poisson {rate:g} req/s on {replicas} replicas"
    return TokenScenario(
        "constant",
        text,
        requests,
        warmup,
        duration_s,
        spec,
        replicas,
        physics=physics or TokenPhysics(),
        warmup_s=warmup_s,
    )


def build_token_scenario(
    name: str, seed: int = 0, rate: float | None = None, duration_s: int | None = None
) -> TokenScenario:
    if name == "llmd-staged-ramp":
        if rate is not None:
            raise ValueError("a rate applies only to a trace, not to llmd-staged-ramp")
        return llmd_staged_ramp(seed)
    if name in TOKEN_TRACES:
        return token_trace(name, seed, rate, duration_s)
    raise ValueError(f"unknown token scenario {name!r}; known: {', '.join(TOKEN_SCENARIOS)}")
