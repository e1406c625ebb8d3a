"""Measure the token physics against a published operating point: the most a replica sustains.

The *sustainable rate per replica* is the highest constant Poisson rate a fixed fleet carries
with P90 TTFT and P90 TPOT of the measured requests within their objectives (and nothing
dropped); it is found by bisection on the rate, each probe a full token-mode run. llm-d
publishes about 1.45 req/s per replica at ISL 4000 / OSL 1000 with P90 TTFT ≤ 3 s and P90
TPOT ≤ 100 ms; ``TokenPhysics``'s defaults are chosen so that this measures within ±15 %.
"""

from __future__ import annotations

from dataclasses import dataclass

from governor.sim.baselines import StaticController
from governor.sim.tokens.engine import simulate_tokens
from governor.sim.tokens.physics import TokenPhysics
from governor.sim.tokens.result import summarize_tokens
from governor.sim.tokens.scenario import DEFAULT_ITL_S, DEFAULT_TTFT_S
from governor.sim.tokens.scenarios import constant

PUBLISHED_RATE_PER_REPLICA = 1.45


@dataclass(frozen=True)
class Probe:
    rate_per_replica: float
    ttft_p90_s: float
    tpot_p90_s: float
    kv_usage_mean: float  # mean over the measured run and the ready replicas
    dropped: int

    @property
    def meets(self) -> bool:
        return self.dropped == 0 and self.ttft_p90_s <= DEFAULT_TTFT_S and self.tpot_p90_s <= DEFAULT_ITL_S


def probe(rate_per_replica: float, replicas: int = 3, physics: TokenPhysics | None = None, seed: int = 0) -> Probe:
    """One constant-load run at ``rate_per_replica`` on ``replicas`` bf16 replicas."""
    scenario = constant(rate_per_replica * replicas, replicas, seed=seed, physics=physics)
    controller = StaticController(replicas, scenario.spec.precision.preferred, "static", "calibration")
    result = simulate_tokens(scenario, controller)
    summary = summarize_tokens(result)
    return Probe(
        rate_per_replica, summary.ttft_p90_s, summary.tpot_p90_s, float(result.kv_usage.mean()), summary.dropped
    )


def sustainable_rate(
    replicas: int = 3, physics: TokenPhysics | None = None, lo: float = 0.5, hi: float = 3.0, iterations: int = 8
) -> float:
    """Bisection for the highest rate per replica whose probe meets both objectives."""
    for _ in range(iterations):
        mid = (lo + hi) / 2.0
        if probe(mid, replicas, physics).meets:
            lo = mid
        else:
            hi = mid
    return lo
