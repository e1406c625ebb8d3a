"""``decide``: one service, one tick — replicas, precision and the reasons, from pure inputs.

Steps: ``signals.read`` (fresh signals, effective load, forecast, learned capacity), the
latency signal's Erlang C search, the precision ladder, the signal-wise maximum, the hold
rules, HPA behaviour, bounds, reasons, and the next state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from governor.model.decision import Decision, ScaleDirection
from governor.model.observation import Observation
from governor.model.spec import Precision, ServiceSpec
from governor.policy import behavior as hpa
from governor.policy import precision as ladder
from governor.policy.config import DEFAULT_CONFIG, PolicyConfig
from governor.policy.reasons import ScaleOutcome
from governor.policy.reasons import reasons as _reasons
from governor.policy.replicas import (
    judges_latency,
    largest_need,
    latency_query,
    replicas_for_concurrency,
    replicas_for_gpu,
    solve,
    token_need,
)
from governor.policy.signals import SignalView, read, relative_throughput
from governor.policy.state import PolicyState
from governor.policy.tokens import TokenNeed

# The decision engine as the controller calls it: ``decide`` with its config bound (``deciding_with``), or a
# test's stand-in with the same shape.
Decide = Callable[[ServiceSpec, Observation, PolicyState, float], tuple[Decision, PolicyState]]


def deciding_with(config: PolicyConfig) -> Decide:
    """``decide`` with ``config`` bound."""

    def bound(
        spec: ServiceSpec, observation: Observation, state: PolicyState, now: float
    ) -> tuple[Decision, PolicyState]:
        return decide(spec, observation, state, now, config)

    return bound


def decide(
    spec: ServiceSpec, observation: Observation, state: PolicyState, now: float, config: PolicyConfig = DEFAULT_CONFIG
) -> tuple[Decision, PolicyState]:
    """Decide replicas and precision for one service; returns the Decision and the next state."""
    cfg = config
    state = _notice_swap_end(spec, state, now, cfg)
    view, updates = read(spec, observation, state, now, cfg)
    plan_tp = _planning_throughput(spec, state.precision, state.target_precision)
    # the ladder asks whether maxReplicas carries the objectives, without the planning headroom
    token_hard = token_need(spec, view, plan_tp, cfg, planning=False)
    request_plan = solve(latency_query(spec, view, plan_tp, cfg)) if judges_latency(spec, token_hard) else None
    choice = ladder.choose(spec, state, view, largest_need(spec, request_plan, token_hard), now, cfg)
    size_tp = plan_tp
    chosen_tp = relative_throughput(spec, choice.precision)
    if choice.new_swap and chosen_tp < plan_tp:  # a step up: size for the slower precision now
        size_tp = chosen_tp
    token = token_need(spec, view, size_tp, cfg)
    request = request_plan
    if size_tp != plan_tp and judges_latency(spec, token):
        request = solve(latency_query(spec, view, size_tp, cfg))
    recs = _recommendations(spec, view, request, token)
    if choice.prepare_replicas is not None:
        recs["step-up"] = choice.prepare_replicas
    counting = _counting(spec, view, recs, cfg)
    outcome = _replicas(spec, state, view, counting, choice, now)
    next_state = _next_state(spec, state, updates, choice, outcome, now, cfg)
    decision = Decision(
        at=now,
        current_replicas=outcome.current,
        replicas=outcome.final,
        current_precision=state.precision,
        precision=choice.precision,
        direction=outcome.direction,
        reasons=_reasons(spec, view, counting, choice.reason, outcome),
        recommendations=MappingProxyType(recs),
        swap_max_unavailable=choice.max_unavailable,
    )
    return decision, next_state


def _notice_swap_end(spec: ServiceSpec, state: PolicyState, now: float, cfg: PolicyConfig) -> PolicyState:
    """Forget a swap we asked for once it finished, or once it is plainly not running.

    Not running: asked for more than ``cfg.swap_start_grace_seconds`` ago and never reported as
    under way (actuation refused it — quarantine, a rollout of someone else's — or cancelled or
    rolled it back). Keeping the intent would keep asking for a swap nobody is doing.
    """
    target = state.target_precision
    if target is None or state.swapping:
        return state
    if state.precision == target:
        return replace(state, target_precision=None, last_swap_at=now)
    started = state.swap_starts[-1] if state.swap_starts else None
    if started is None or now - started > cfg.swap_start_grace_seconds:
        return replace(state, target_precision=None)
    return state


def _planning_throughput(spec: ServiceSpec, served: Precision, target: Precision | None) -> float:
    served_tp = relative_throughput(spec, served)
    if target is None:
        return served_tp
    return min(served_tp, relative_throughput(spec, target))


def _recommendations(
    spec: ServiceSpec, view: SignalView, latency_need: int | None, token: TokenNeed | None
) -> dict[str, int]:
    recs: dict[str, int] = token.as_recommendations() if token is not None else {}
    for name, value in (
        ("latency", latency_need),
        ("gpu", replicas_for_gpu(spec, view)),
        ("concurrency", replicas_for_concurrency(spec, view)),
    ):
        if value is not None:
            recs[name] = value
    return recs


def _counting(spec: ServiceSpec, view: SignalView, recs: dict[str, int], cfg: PolicyConfig) -> dict[str, int]:
    """The signals that set the count: the GPU target is a guard once the latency signal has data.

    The latency signal (G/G/c) sizes the fleet. The GPU-utilisation signal counts at the spec's
    target only when the latency signal is missing or the observed latency shows risk (p99 above
    the SLO latency or attainment below the objective); otherwise it counts at the higher guard
    ``cfg.gpu_guard_utilization``, so latency-driven scale-downs stop short of a saturated GPU.

    While the token model sizes the service it does not count at all: a continuous-batching
    server's GPU reads busy whenever one sequence runs, and the token-work utilisation the
    model plans with is the capacity signal there.
    """
    if "gpu" in recs and view.tokens is not None and ("ttft" in recs or "itl" in recs):
        return {k: v for k, v in recs.items() if k != "gpu"}
    if "gpu" not in recs or "latency" not in recs:
        return recs
    at_risk = ladder.breach(spec, view) is not None
    drained = view.queued is not None and view.queued <= 0.0
    target = spec.targets.gpu_utilization or 0.0
    guard_utilization = _guard_utilization(view.arrival_scv, cfg)
    if (at_risk and not drained) or target >= guard_utilization:
        return recs
    guard = replicas_for_gpu(spec, view, guard_utilization)
    counting = {k: v for k, v in recs.items() if k != "gpu"}
    if guard is not None:
        counting["gpu-guard"] = guard
    return counting


def _guard_utilization(arrival_scv: float, cfg: PolicyConfig) -> float:
    """The guard's utilisation, lower for bursty arrivals: a clump of requests needs spare capacity.

    ``gpu_guard_burst_step`` less per doubling of the learned ca² above Poisson, never below
    ``gpu_guard_min_utilization`` (ca² 16, Gamma CV 4: 0.9 → 0.7).
    """
    lowered = cfg.gpu_guard_utilization - cfg.gpu_guard_burst_step * math.log2(max(arrival_scv, 1.0))
    return max(lowered, cfg.gpu_guard_min_utilization)


def _replicas(
    spec: ServiceSpec,
    state: PolicyState,
    view: SignalView,
    recs: dict[str, int],
    choice: ladder.LadderChoice,
    now: float,
) -> ScaleOutcome:
    current = state.replicas
    raw = max(recs.values()) if recs else current
    held = None
    if not view.fresh:
        held = f"holding: request rate missing for {view.missing_for:.0f} s"
    elif state.swapping or choice.precision != state.precision:
        held = "no scale-down during a precision swap"
    elif view.tokens is not None and _short_of_capacity(spec, view) and (why := ladder.breach(spec, view)):
        held = f"no scale-down while the SLO is breaching ({why})"
    if held is not None:
        raw = max(raw, current)
    raw = _bounded(spec, raw)
    history = state.recommendations or ((now, current),)  # as the HPA seeds a new autoscaler
    stabilized = hpa.stabilize(raw, current, history, now, spec.behavior)
    final = _bounded(spec, hpa.rate_limit(stabilized, current, state.scale_events, now, spec.behavior))
    if final > current:
        direction = ScaleDirection.UP
    elif final < current:
        direction = ScaleDirection.DOWN
    else:
        direction = ScaleDirection.HOLD if held is not None else ScaleDirection.NONE
    return ScaleOutcome(current, raw, stabilized, final, direction, held)


def _short_of_capacity(spec: ServiceSpec, view: SignalView) -> bool:
    """The fleet shows saturation: requests queue, or the ITL (set by the batch) breaches.

    A TTFT tail from prompts too long to prefill in time breaches at any replica count; holding
    replicas for it buys nothing.
    """
    itl = spec.slo.itl
    return (view.queued or 0.0) > 0.0 or (itl is not None and view.itl_ms is not None and view.itl_ms > itl.ms)


def _bounded(spec: ServiceSpec, replicas: int) -> int:
    return min(max(replicas, spec.min_replicas), spec.max_replicas)


def _next_state(
    spec: ServiceSpec,
    state: PolicyState,
    updates: dict[str, Any],
    choice: ladder.LadderChoice,
    outcome: ScaleOutcome,
    now: float,
    cfg: PolicyConfig,
) -> PolicyState:
    keep = cfg.history_seconds
    windows, periods = hpa.memory_seconds(spec.behavior)
    changes = dict(updates)
    changes["recommendations"] = hpa.remember(
        state.recommendations or ((now, outcome.current),), outcome.raw, now, windows
    )
    if outcome.final != outcome.current:
        changes["scale_events"] = hpa.remember(state.scale_events, outcome.final - outcome.current, now, periods)
    elif state.scale_events and state.scale_events[0][0] <= now - periods:
        changes["scale_events"] = tuple(e for e in state.scale_events if e[0] > now - periods)
    changes["replicas"] = outcome.final
    changes["headroom_since"] = choice.headroom_since
    if choice.new_swap:
        changes["target_precision"] = choice.precision
        changes["swap_starts"] = (*(t for t in state.swap_starts if t > now - keep), now)
        changes["last_swap_at"] = now
    return state.evolve(changes)
