"""``decide_many``: the same decisions as ``decide`` for many services, Erlang C vectorised.

Reading signals and applying behaviour stay per service (cheap Python); the Erlang C
search at the planning precision runs over numpy arrays, ``CHUNK`` services at a time; the rare
second search (at a higher precision, when a step up is decided) runs scalar. Results are
identical to calling ``decide`` for each service.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from governor.model.decision import Decision
from governor.model.observation import Observation
from governor.model.spec import ServiceSpec
from governor.policy.config import DEFAULT_CONFIG, PolicyConfig
from governor.policy.decide import finish, prepare
from governor.policy.queueing import IntArray, replicas_for_latency_many
from governor.policy.replicas import LatencyQuery, solve
from governor.policy.state import PolicyState

# Services per vectorised Erlang C search: large enough for numpy to pay off, small enough that
# the intermediate objects of one chunk stay young (whole-fleet phases made the garbage
# collector rescan tens of thousands of live objects and cost more than the vectorisation won).
CHUNK = 512


def decide_many(
    specs: Sequence[ServiceSpec],
    observations: Sequence[Observation],
    states: Sequence[PolicyState],
    now: float,
    config: PolicyConfig = DEFAULT_CONFIG,
) -> tuple[list[Decision], list[PolicyState]]:
    """Decide every service; sequences are aligned by index."""
    if not len(specs) == len(observations) == len(states):
        raise ValueError("specs, observations and states must have the same length")
    decisions: list[Decision] = []
    next_states: list[PolicyState] = []
    for lo in range(0, len(specs), CHUNK):
        chunk = specs[lo : lo + CHUNK]
        prepared = [
            prepare(s, o, st, now, config)
            for s, o, st in zip(chunk, observations[lo : lo + CHUNK], states[lo : lo + CHUNK], strict=True)
        ]
        plan = _solve_all([p.plan_query for p in prepared])
        for i, (spec, prep) in enumerate(zip(chunk, prepared, strict=True)):
            decision, state = finish(spec, prep, plan[i], solve, now, config)
            decisions.append(decision)
            next_states.append(state)
    return decisions, next_states


def _solve_all(queries: Sequence[LatencyQuery | None]) -> list[int | None]:
    index = [i for i, q in enumerate(queries) if q is not None]
    out: list[int | None] = [None] * len(queries)
    if not index:
        return out
    picked = [q for q in queries if q is not None]
    result: IntArray = replicas_for_latency_many(
        np.array([q.arrival for q in picked], dtype=np.float64),
        np.array([q.service_rate for q in picked], dtype=np.float64),
        np.array([q.service_time for q in picked], dtype=np.float64),
        np.array([q.latency for q in picked], dtype=np.float64),
        np.array([q.quantile for q in picked], dtype=np.float64),
        np.array([q.limit for q in picked], dtype=np.int64),
        np.array([q.burst for q in picked], dtype=np.float64),
    )
    for i, value in zip(index, result.tolist(), strict=True):
        out[i] = int(value)
    return out
