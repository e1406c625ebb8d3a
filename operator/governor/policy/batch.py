"""``decide_many``: the same decisions as ``decide`` for many services in one call.

Each service runs the scalar path (read signals, one Erlang C search that stops at the
first count meeting the SLO, ladder, behaviour, reasons). An earlier version vectorised the
search with numpy per chunk of services; the search is only a few µs per service, and
building the arrays, converting results back and keeping a chunk's intermediates alive cost
more than it saved, so the vectorised form is gone.

What the batch adds is that the cyclic garbage collector is paused for the call: a decision
allocates a dozen small objects that live on as results, and with ten thousand services the
collector would otherwise rescan the growing result lists many times over (nothing a
decision builds is cyclic, so nothing is left for the collector to find). Results are
identical to calling ``decide`` for each service.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence

from governor.model.decision import Decision
from governor.model.observation import Observation
from governor.model.spec import ServiceSpec
from governor.policy.config import DEFAULT_CONFIG, PolicyConfig
from governor.policy.decide import decide
from governor.policy.state import PolicyState


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
    add_decision, add_state = decisions.append, next_states.append
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        for spec, observation, state in zip(specs, observations, states, strict=True):
            decision, next_state = decide(spec, observation, state, now, config)
            add_decision(decision)
            add_state(next_state)
    finally:
        if paused:
            gc.enable()
    return decisions, next_states
