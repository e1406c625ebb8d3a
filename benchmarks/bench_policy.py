"""Policy evaluation cost: µs per service decision, scalar ``decide`` loop vs ``decide_many``.

Builds N services with varied specs (bounds, SLOs, precision ladders) and self-consistent
observations, warms each service's state with a few ticks, then times one tick for all of
them both ways and checks the two give the same decisions. Run:

    .venv/bin/python benchmarks/bench_policy.py [--sizes 100 1000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence

from governor.model.observation import Observation, Sample
from governor.model.spec import (
    Precision,
    PrecisionMode,
    PrecisionSpec,
    ServiceSpec,
    SLOSpec,
    SwapMode,
    TargetsSpec,
    Variant,
)
from governor.policy import PolicyState, decide, decide_many

VARIANTS = (
    Variant(Precision.BF16, 1.0, 1.0, swap_modes=(SwapMode.IN_PLACE,)),
    Variant(Precision.FP8, 1.6, 0.995, swap_modes=(SwapMode.IN_PLACE,)),
    Variant(Precision.INT4, 2.0, 0.97),
)


def make_spec(rng: random.Random, i: int) -> ServiceSpec:
    max_replicas = rng.choice([4, 8, 16, 32, 64])
    return ServiceSpec(
        namespace="bench",
        name=f"svc-{i}",
        min_replicas=1,
        max_replicas=max_replicas,
        startup_seconds=rng.choice([30.0, 90.0, 180.0]),
        slo=SLOSpec(latency_ms=rng.choice([300.0, 2000.0, 8000.0]), latency_quantile=rng.choice([0.95, 0.99])),
        targets=TargetsSpec(gpu_utilization=0.75, concurrency_per_replica=rng.choice([None, 16.0])),
        precision=PrecisionSpec(mode=PrecisionMode.AUTO, quality_floor=0.97, variants=VARIANTS),
    )


def observe(spec: ServiceSpec, rate: float, replicas: int, at: float, mu: float, service_s: float) -> Observation:
    util = min(1.0, rate / (replicas * mu))
    s = lambda v: Sample(v, at)  # noqa: E731
    return Observation(
        at=at,
        source="bench",
        request_rate=s(rate),
        cache_hit_ratio=s(0.2),
        gpu_utilization_mean=s(util),
        running_requests=s(min(rate, replicas * mu) * service_s),
        queue_depth=s(0.0),
        latency_p99_ms=s(service_s * 1000.0),
        ready_replicas=s(float(replicas)),
    )


def fleet(n: int, seed: int) -> tuple[list[ServiceSpec], list[list[Observation]], list[PolicyState]]:
    rng = random.Random(seed)
    specs = [make_spec(rng, i) for i in range(n)]
    ticks: list[list[Observation]] = [[] for _ in range(4)]
    states = []
    for spec in specs:
        replicas = rng.randint(1, spec.max_replicas)
        mu = rng.choice([0.5, 4.0, 20.0])
        service_s = spec.slo.latency_ms / 4000.0
        base = rng.uniform(0.2, 1.2) * replicas * mu
        for k in range(4):
            ticks[k].append(observe(spec, base * (1 + 0.05 * k), replicas, 10.0 * k, mu, service_s))
        states.append(PolicyState.initial(replicas, Precision.BF16))
    return specs, ticks, states


def warm(specs: Sequence[ServiceSpec], ticks: list[list[Observation]], states: list[PolicyState]) -> list[PolicyState]:
    for k in range(3):
        _, states = decide_many(specs, ticks[k], states, 10.0 * k)
    return states


def time_scalar(specs: Sequence[ServiceSpec], obs: Sequence[Observation], states: Sequence[PolicyState]) -> float:
    """A ``decide`` loop that keeps every decision and next state, as a caller does."""
    start = time.perf_counter()
    kept = [decide(spec, o, st, 30.0) for spec, o, st in zip(specs, obs, states, strict=True)]
    elapsed = time.perf_counter() - start
    del kept
    return elapsed


def time_batch(specs: Sequence[ServiceSpec], obs: Sequence[Observation], states: Sequence[PolicyState]) -> float:
    start = time.perf_counter()
    decide_many(specs, obs, states, 30.0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'services':>9} {'scalar µs/decision':>19} {'decide_many µs/decision':>24} {'speed-up':>9}")
    for n in args.sizes:
        specs, ticks, states = fleet(n, seed=n)
        states = warm(specs, ticks, states)
        obs = ticks[3]
        scalar = min(time_scalar(specs, obs, states) for _ in range(args.repeat)) / n * 1e6
        batch = min(time_batch(specs, obs, states) for _ in range(args.repeat)) / n * 1e6
        many, _ = decide_many(specs, obs, states, 30.0)
        single = [decide(s, o, st, 30.0)[0] for s, o, st in zip(specs, obs, states, strict=True)]
        same = "same decisions" if many == single else "DECISIONS DIFFER"
        print(f"{n:>9} {scalar:>19.1f} {batch:>24.1f} {scalar / batch:>8.1f}×  {same}")


if __name__ == "__main__":
    main()
