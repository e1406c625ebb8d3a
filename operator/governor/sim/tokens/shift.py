"""Does Governor's token model follow a shift in prompt and response lengths?

A fixed fleet serves constant Poisson load whose requests change shape halfway: long documents
(ISL ~4000, OSL ~1000) become short chats (ISL ~1500, OSL ~300), or the reverse. The replica
count is pinned (minReplicas = maxReplicas), so only the estimate moves. At every decision the
policy's estimate of what one replica carries within the ITL objective is compared with the
simulator's true value for the lengths being served (``TokenPhysics.sustainable_rate``); the
check is the error five minutes after the shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from governor.policy import tokens as token_model
from governor.policy.config import DEFAULT_CONFIG, PolicyConfig
from governor.policy.state import PolicyState
from governor.sim.baselines import GovernorController
from governor.sim.control import Command, SimView
from governor.sim.tokens.engine import simulate_tokens
from governor.sim.tokens.physics import TokenPhysics
from governor.sim.tokens.scenario import TokenScenario
from governor.sim.tokens.scenarios import LLMD_ISL, LLMD_OSL, token_spec
from governor.sim.tokens.workload import TokenRequests, synthetic

CHAT = ((1500.0, 150.0), (300.0, 40.0))  # (ISL mean, sd), (OSL mean, sd)
DOCUMENTS = (LLMD_ISL, LLMD_OSL)


@dataclass(frozen=True)
class ShiftResult:
    shift_s: float
    times: tuple[float, ...]  # decision times (s into the run)
    estimate: tuple[float, ...]  # the policy's req/s per replica within the ITL objective
    truth: tuple[float, ...]  # the simulator's value for the lengths of that moment

    def error_at(self, seconds_after: float) -> float:
        """Relative error of the estimate ``seconds_after`` the shift (the first decision at or after it)."""
        for t, e, v in zip(self.times, self.estimate, self.truth, strict=True):
            if t >= self.shift_s + seconds_after:
                return abs(e - v) / v
        raise ValueError("the run ends before that moment")


def shift_scenario(seed: int, to_chat: bool = True, rate: float = 3.0, replicas: int = 4) -> TokenScenario:
    """``rate`` req/s on ``replicas`` for 30 min, the lengths changing at 15 min."""
    rng = np.random.default_rng(seed)
    before, after = (DOCUMENTS, CHAT) if to_chat else (CHAT, DOCUMENTS)
    half = 900
    first = synthetic(np.full(half, rate), rng, *before)
    second = synthetic(np.full(half, rate), rng, *after, start_s=float(half))
    requests = TokenRequests(
        np.concatenate([first.arrival_s, second.arrival_s]),
        np.concatenate([first.isl, second.isl]),
        np.concatenate([first.osl, second.osl]),
    )
    warmup = synthetic(np.full(300, rate), rng, *before, start_s=-300.0)
    text = f"constant Poisson {rate:g} req/s on {replicas} replicas; lengths shift at {half} s"
    spec = token_spec("length-shift", replicas, replicas)
    return TokenScenario("length-shift", text, requests, warmup, 2 * half, spec, replicas, warmup_s=300)


@dataclass
class _Recorder:
    inner: GovernorController
    itl_s: float
    physics: TokenPhysics
    config: PolicyConfig
    shapes: tuple[tuple[float, float], tuple[float, float]]
    shift_s: float
    times: list[float]
    estimate: list[float]
    truth: list[float]
    name: str = "governor"

    @property
    def period_s(self) -> int:
        return self.inner.period_s

    def describe(self) -> str:
        return self.inner.describe()

    def decide(self, view: SimView) -> Command:
        command = self.inner.decide(view)
        state = self.inner._state
        model = state.token_model if isinstance(state, PolicyState) else None
        if model is not None and model.load is not None:
            costs = token_model.costs(model, self.config.token_priors)
            self.times.append(view.now)
            self.estimate.append(token_model.sustainable_rate(costs, model.load, self.itl_s))
            isl, osl = self.shapes[0 if view.now < self.shift_s else 1]
            self.truth.append(self.physics.sustainable_rate(isl, osl, self.itl_s))
        return command


def run_shift(seed: int, to_chat: bool = True, config: PolicyConfig = DEFAULT_CONFIG) -> ShiftResult:
    scenario = shift_scenario(seed, to_chat)
    before, after = (DOCUMENTS, CHAT) if to_chat else (CHAT, DOCUMENTS)
    shapes = ((before[0][0], before[1][0]), (after[0][0], after[1][0]))
    inner = GovernorController(scenario.spec, scenario.initial_replicas, config=config)
    shift_s = scenario.duration_s / 2.0
    recorder = _Recorder(inner, scenario.planning_itl_s, scenario.physics, config, shapes, shift_s, [], [], [])
    simulate_tokens(scenario, recorder)  # type: ignore[arg-type]  # a SimController by shape (period_s, name)
    return ShiftResult(shift_s, tuple(recorder.times), tuple(recorder.estimate), tuple(recorder.truth))
