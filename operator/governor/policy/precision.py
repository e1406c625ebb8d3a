"""The precision ladder: when to serve a cheaper precision, and when to come back.

Step **down** (never below the quality floor) only when the SLO is at risk *and* more
replicas cannot help in time:

* the latency model needs more than ``maxReplicas`` at the current precision (a GPU budget),
  or
* the SLO is breaching now, ready capacity is short by ``swap_deficit_factor``, and the swap
  relieves sooner than a new replica starts (in-place: one pod reloads in ~20 s; a rolling
  swap restarts pods and is never faster than adding one).

The step is one rung when that rung carries the load at ``maxReplicas``; otherwise it goes to
the first rung further down that does (``_carrying``), or the lowest allowed one.

Step **up** one precision after sustained headroom: the higher precision would run below
``step_up_utilization`` of its capacity at ``maxReplicas`` even with the swap's own capacity
loss, for ``headroom_seconds``, and ``minDwellSeconds`` have passed since the last swap.
At most ``max_swaps_per_hour`` swaps are started per hour. A swap in progress is never
second-guessed. ``Fixed`` mode always returns to ``preferred``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from governor.model.slo import breach as slo_breach
from governor.model.spec import Precision, PrecisionMode, PrecisionSpec, ServiceSpec, SwapMode, Variant
from governor.policy.config import PolicyConfig
from governor.policy.replicas import slo_need
from governor.policy.signals import SignalView
from governor.policy.state import PolicyState


@dataclass(frozen=True)
class LadderChoice:
    precision: Precision  # desired precision (== served when no swap is wanted)
    reason: str | None
    headroom_since: float | None
    new_swap: bool = False  # a swap starts with this decision
    max_unavailable: int | None = None  # pods a rolling swap may restart at once (None: one at a time)
    prepare_replicas: int | None = None  # replicas to have ready before a step up may start


@dataclass(frozen=True)
class _Rungs:
    """The ladder of one PrecisionSpec with its neighbours precomputed (this runs for every service)."""

    rungs: tuple[Variant, ...]
    up: dict[Precision, Variant | None]
    down: dict[Precision, Variant | None]
    off_ladder_up: Variant | None  # where a precision outside the ladder returns to


_LADDERS: dict[int, tuple[PrecisionSpec, _Rungs]] = {}


def _rungs_of(spec: ServiceSpec) -> _Rungs:
    entry = _LADDERS.get(id(spec.precision))
    if entry is not None and entry[0] is spec.precision:
        return entry[1]
    if len(_LADDERS) > 100_000:
        _LADDERS.clear()
    rungs = _ladder(spec)
    up: dict[Precision, Variant | None] = {}
    down: dict[Precision, Variant | None] = {}
    for i, variant in enumerate(rungs):
        up[variant.precision] = rungs[i - 1] if i > 0 else None
        faster = (v for v in rungs[i + 1 :] if v.relative_throughput > variant.relative_throughput)
        down[variant.precision] = next(faster, None)
    made = _Rungs(rungs, up, down, rungs[-1] if rungs else None)
    _LADDERS[id(spec.precision)] = (spec.precision, made)
    return made


def ladder(spec: ServiceSpec) -> tuple[Variant, ...]:
    """Allowed variants no better than ``preferred``, highest quality first (memoised per spec object)."""
    return _rungs_of(spec).rungs


def _ladder(spec: ServiceSpec) -> tuple[Variant, ...]:
    allowed = spec.precision.allowed
    top = spec.precision.variant(spec.precision.preferred)
    if top is None:
        return allowed
    return tuple(v for v in allowed if v.relative_quality <= top.relative_quality)


def step_up_candidate(spec: ServiceSpec, served: Precision) -> Variant | None:
    """The variant a step up (or a return to policy) would go to from ``served``."""
    if spec.precision.mode is PrecisionMode.FIXED:
        return spec.precision.variant(spec.precision.preferred)
    rungs = _rungs_of(spec)
    if served in rungs.up:
        return rungs.up[served]
    return rungs.off_ladder_up  # off the ladder (below the floor): nearest allowed


def step_down_candidate(spec: ServiceSpec, served: Precision) -> Variant | None:
    return _rungs_of(spec).down.get(served)


def swap_mode(variant: Variant) -> SwapMode:
    return SwapMode.IN_PLACE if SwapMode.IN_PLACE in variant.swap_modes else SwapMode.ROLLING


def swap_cost(spec: ServiceSpec, variant: Variant, replicas: int, cfg: PolicyConfig) -> tuple[float, float, float]:
    """(seconds to first relief, seconds to finish, share of capacity out meanwhile) of a swap."""
    replicas = max(replicas, 1)
    if swap_mode(variant) is SwapMode.IN_PLACE:
        batch = max(1, math.floor(replicas * spec.precision.in_place_max_unavailable))
        batches = math.ceil(replicas / batch)
        return cfg.in_place_swap_seconds, batches * cfg.in_place_swap_seconds, batch / replicas
    surge = spec.max_replicas - replicas
    if surge > 0:
        return spec.startup_seconds, math.ceil(replicas / surge) * spec.startup_seconds, 0.0
    return spec.startup_seconds, replicas * spec.startup_seconds, 1.0 / replicas


def swaps_last_hour(state: PolicyState, now: float) -> int:
    return sum(1 for t in state.swap_starts if t > now - 3600.0)


def breach(spec: ServiceSpec, view: SignalView) -> str | None:
    """Why the SLO is breaching now, or None."""
    return slo_breach(
        spec.slo,
        latency_ms=view.p99_ms,
        attainment=view.attainment,
        ttft_ms=view.ttft_ms,
        itl_ms=view.itl_ms,
        goodput=view.goodput,
    )


def choose(
    spec: ServiceSpec, state: PolicyState, view: SignalView, need: int | None, now: float, cfg: PolicyConfig
) -> LadderChoice:
    """Desired precision for this tick; ``need`` is the latency signal at the served precision."""
    served = state.precision
    if state.swapping or (state.target_precision is not None and state.target_precision != served):
        return _during_swap(spec, state, view, now, cfg)
    rungs = _rungs_of(spec)
    if spec.precision.mode is PrecisionMode.FIXED or not rungs.rungs:
        return _fixed(spec, served)
    if served not in rungs.up:
        target = rungs.off_ladder_up
        if target is not None:
            why = f"{served} is outside the allowed precisions (quality floor {spec.precision.quality_floor:g})"
            return LadderChoice(target.precision, f"{why}; moving to {target.precision}", None, True)
    if not view.fresh:
        return LadderChoice(served, None, None)
    down = _step_down(spec, state, view, need, now, cfg)
    if down is not None:
        return down
    return _step_up(spec, state, view, now, cfg, rungs.up[served])


def _during_swap(
    spec: ServiceSpec, state: PolicyState, view: SignalView, now: float, cfg: PolicyConfig
) -> LadderChoice:
    """A swap is rolling: keep it, unless even its target is short at maxReplicas (then step further down)."""
    target = state.target_precision or state.precision
    need = slo_need(spec, view, _throughput(spec, target), cfg, planning=False) if view.fresh else None
    variant = spec.precision.variant(target)
    batch = _rolling_batch(spec, variant, _top_throughput(spec), need, cfg) if variant is not None else None
    keep = LadderChoice(target, _with_batch(f"swap to {target} in progress", batch), None, max_unavailable=batch)
    lower = step_down_candidate(spec, target) if spec.precision.mode is PrecisionMode.AUTO else None
    if lower is None or not view.fresh or not _budget_left(state, now, cfg):
        return keep
    if need is None or need <= spec.max_replicas or not _short_now(spec, view, _throughput(spec, target), cfg):
        return keep  # a further step only for load that is here now, not for a forecast or a backlog
    lower, need_low = _carrying(spec, view, lower, cfg)
    gain = lower.relative_throughput / _throughput(spec, target) - 1.0
    why = (
        f"forecast {view.arrival_plan or 0.0:.1f} req/s needs {need} replicas at {target}, more than "
        f"maxReplicas {spec.max_replicas}; {lower.precision} adds {gain:.0%} capacity"
    )
    batch = _rolling_batch(spec, lower, _top_throughput(spec), need_low, cfg)
    return LadderChoice(lower.precision, _with_batch(why, batch), None, True, batch)


def _fixed(spec: ServiceSpec, served: Precision) -> LadderChoice:
    preferred = spec.precision.preferred
    if served != preferred and spec.precision.variant(preferred) is not None:
        return LadderChoice(preferred, f"precision fixed at {preferred}", None, True)
    return LadderChoice(served, None, None)


def _budget_left(state: PolicyState, now: float, cfg: PolicyConfig) -> bool:
    return swaps_last_hour(state, now) < cfg.max_swaps_per_hour


def _step_down(
    spec: ServiceSpec, state: PolicyState, view: SignalView, need: int | None, now: float, cfg: PolicyConfig
) -> LadderChoice | None:
    served = state.precision
    if need is None or view.capacity_ref is None or view.arrival_now is None:
        return None
    short = need > spec.max_replicas
    breaching = breach(spec, view)
    if not short and breaching is None:  # the common case: neither rule can fire
        return None
    # The SLO holds, replicas are left to add (or still starting) and maxReplicas carry the load
    # here now: only the forecast or a backlog is short. Add replicas first; a swap takes pods
    # out while it reloads and then needs a step back up.
    # After a recent swap the same holds even while the SLO breaches: the replicas it started
    # come up at the lower precision, so only load here now beyond maxReplicas needs a second.
    coming = view.ready < spec.max_replicas
    recent = state.last_swap_at is not None and now - state.last_swap_at < spec.startup_seconds
    forecast_only = short and coming and (breaching is None or recent)
    # A token-serving fleet's swap restarts pods that hold long streams (their requests start
    # over): it is taken only while an objective breaches and the load here now is short.
    if view.tokens is not None and breaching is None:
        return None
    if (forecast_only or view.tokens is not None) and not _short_now(spec, view, _throughput(spec, served), cfg):
        return None
    lower = step_down_candidate(spec, served)
    if lower is None:
        if short:
            floor = spec.precision.quality_floor
            why = f"at capacity: needs {need} > maxReplicas {spec.max_replicas} at {served}"
            return LadderChoice(served, f"{why}, the lowest precision allowed (quality floor {floor:g})", None)
        return None
    served_tp = _throughput(spec, served)
    # Straight to the rung that maxReplicas carry the planned load at: a second step costs a
    # second reload while the fleet is short.
    lower, need_low = _carrying(spec, view, lower, cfg)
    batch = _rolling_batch(spec, lower, served_tp, need_low, cfg) if short else None
    relief, _, loss = swap_cost(spec, lower, state.replicas, cfg)
    ready_capacity = view.ready * view.capacity_ref * served_tp
    deficit = view.arrival_now > cfg.swap_deficit_factor * ready_capacity
    ratio = lower.relative_throughput / served_tp
    # The swap must carry most of the load on the pods ready now; otherwise new replicas are
    # needed anyway, and the swap only costs a reload now and a step back up later.
    carried = view.ready * view.capacity_ref * lower.relative_throughput
    closes = carried >= cfg.swap_relief_share * view.arrival_now
    fast = breaching is not None and deficit and closes and _pays_off(relief, loss, ratio, spec.startup_seconds)
    if not (short or fast):
        return None
    gain = lower.relative_throughput / served_tp - 1.0
    risk = breaching or f"forecast {view.arrival_plan or 0.0:.1f} req/s needs {need} replicas"
    if short:
        why = f"{risk} at {state.replicas}/{spec.max_replicas} replicas; {lower.precision} adds {gain:.0%} capacity"
    else:
        why = (
            f"{risk}; a new replica needs {spec.startup_seconds:.0f} s, {lower.precision} in place relieves in "
            f"{relief:.0f} s and adds {gain:.0%} capacity"
        )
    if state.last_swap_at is not None and now - state.last_swap_at < cfg.step_down_settle_seconds:
        return LadderChoice(served, f"{why}; waiting for the last swap to settle", None)
    if not _budget_left(state, now, cfg):
        spent = swaps_last_hour(state, now)
        return LadderChoice(served, f"{why}; not swapping: {spent} swaps in the last hour (cap)", None)
    return LadderChoice(lower.precision, _with_batch(why, batch), None, True, batch)


def _short_now(spec: ServiceSpec, view: SignalView, throughput: float, cfg: PolicyConfig) -> bool:
    """Would the arrivals here now (no forecast, no backlog) need more than maxReplicas?"""
    now = replace(view, arrival_plan=view.arrival_now or 0.0)
    need = slo_need(spec, now, throughput, cfg, planning=False)
    return need is not None and need > spec.max_replicas


def _carrying(spec: ServiceSpec, view: SignalView, lower: Variant, cfg: PolicyConfig) -> tuple[Variant, int | None]:
    """The rung a step down goes to from ``lower``, with its latency need.

    One rung when it carries the load at maxReplicas; otherwise the first rung further down
    that does (never past it, never below the quality floor), else the lowest allowed. A
    second swap costs another reload (in place) or start-up (rolling) while the fleet is
    short, so a rung known to be short is skipped. "Carries" is ``need ≤ maxReplicas`` for an
    in-place swap and ``need ≤ rolling_fit_share × maxReplicas`` for a rolling one, whose
    restarts make a second swap the dearer.
    """
    down = _rungs_of(spec).down
    variant = lower
    while True:
        need = slo_need(spec, view, variant.relative_throughput, cfg, planning=False)
        further = down.get(variant.precision)
        share = cfg.rolling_fit_share if swap_mode(variant) is SwapMode.ROLLING else cfg.in_place_fit_share
        if need is None or need <= spec.max_replicas * share or further is None:
            return variant, need
        variant = further


def _rolling_batch(
    spec: ServiceSpec, variant: Variant, served_tp: float, need: int | None, cfg: PolicyConfig
) -> int | None:
    """Pods a rolling swap at maxReplicas should restart at once, or None for one at a time.

    The smallest batch after which maxReplicas carries the latency need: with ``m`` of ``R``
    pods at the new precision, capacity is ``m × new + (R − m) × old`` (in replicas at relative
    throughput 1). New pods of a scale-up start at the new precision and count in ``m``. The
    capacity dip (the batch serving nothing for one start-up) is accepted only because the
    fleet is short anyway; a larger batch would add dip without carrying the load sooner. The
    batch never exceeds ``cfg.rolling_max_unavailable_share`` of maxReplicas, so part of the fleet
    always keeps serving while the rest restarts.
    """
    new_tp = variant.relative_throughput
    if swap_mode(variant) is not SwapMode.ROLLING or need is None or new_tp <= served_tp:
        return None
    top = spec.max_replicas
    pods = math.ceil((min(need, top) * new_tp - top * served_tp) / (new_tp - served_tp) - 1e-9)
    cap = max(1, math.floor(top * cfg.rolling_max_unavailable_share))
    pods = min(pods, cap)
    return pods if pods > 1 else None


def _with_batch(why: str, batch: int | None) -> str:
    if batch is None:
        return why
    return f"{why}; rolling {batch} pods at once (the smallest batch that carries the load after one start-up)"


def _pays_off(relief: float, loss: float, ratio: float, startup: float) -> bool:
    """Does a swap serve more than waiting for new replicas, over the start-up time?

    Waiting serves ``startup`` capacity-seconds; the swap serves ``(1 - loss) × relief`` while
    the first pods reload, then ``ratio`` times as much for the rest.
    """
    if relief >= startup:
        return False
    return (1.0 - loss) * relief + ratio * (startup - relief) > startup


def _step_up(
    spec: ServiceSpec, state: PolicyState, view: SignalView, now: float, cfg: PolicyConfig, higher: Variant | None
) -> LadderChoice:
    """Step up after sustained headroom, but only onto capacity that is already there.

    The target is the highest-quality rung (at or below ``preferred``) that would run below
    ``step_up_utilization`` of its capacity at maxReplicas, so a fleet back from a burst
    returns in one swap rather than one rung at a time. A higher precision serves less per
    replica: the swap starts only once the replicas it needs at that precision (the latency
    need, grown by the share an in-place swap takes out of service) are ready; until then the
    choice asks for them (``prepare_replicas``) and keeps the precision served.
    """
    served = state.precision
    if higher is None or view.arrival_plan is None or view.capacity_ref is None or breach(spec, view):
        return LadderChoice(served, None, None)
    best = _highest_with_headroom(spec, view, higher, cfg)
    if best is None:
        return LadderChoice(served, None, None)
    target, usage = best
    since = state.headroom_since if state.headroom_since is not None else now
    dwell = spec.precision.min_dwell_seconds
    if now - since < cfg.headroom_seconds:
        return LadderChoice(served, None, since)
    if state.last_swap_at is not None and now - state.last_swap_at < dwell:
        return LadderChoice(served, None, since)
    if not _budget_left(state, now, cfg):
        return LadderChoice(served, None, since)
    needed = _step_up_replicas(spec, view, target, state.replicas, cfg)
    if needed is None or needed > spec.max_replicas:
        return LadderChoice(served, None, since)
    headroom = (
        f"headroom: {target.precision} would run at {usage:.0%} of its capacity at {spec.max_replicas} replicas "
        f"for {now - since:.0f} s"
    )
    if view.ready < needed or state.replicas < needed:
        why = f"{headroom}; {needed} replicas must be ready at {served} before stepping up ({view.ready} are)"
        return LadderChoice(served, why, since, prepare_replicas=needed)
    return LadderChoice(target.precision, f"{headroom}; stepping up from {served}", None, True)


def _highest_with_headroom(
    spec: ServiceSpec, view: SignalView, higher: Variant, cfg: PolicyConfig
) -> tuple[Variant, float] | None:
    """The highest-quality rung from ``higher`` up with headroom at maxReplicas, and its usage."""
    rungs = _rungs_of(spec)
    best: tuple[Variant, float] | None = None
    variant: Variant | None = higher
    while variant is not None:
        _, _, loss = swap_cost(spec, variant, spec.max_replicas, cfg)
        capacity = spec.max_replicas * (view.capacity_ref or 0.0) * variant.relative_throughput * (1.0 - loss)
        usage = (view.arrival_plan or 0.0) / capacity if capacity > 0.0 else math.inf
        if usage >= cfg.step_up_utilization:
            break
        best = (variant, usage)
        variant = rungs.up.get(variant.precision)
    return best


def _step_up_replicas(
    spec: ServiceSpec, view: SignalView, target: Variant, replicas: int, cfg: PolicyConfig
) -> int | None:
    """Replicas to have ready before swapping up to ``target``: its latency need, plus the swap's outage."""
    need = slo_need(spec, view, target.relative_throughput, cfg)
    if need is None:
        return None
    if swap_mode(target) is SwapMode.IN_PLACE:
        batch = max(1, math.floor(max(need, replicas) * spec.precision.in_place_max_unavailable))
        need += batch
    return need


def _top_throughput(spec: ServiceSpec) -> float:
    """Throughput of the ladder's top rung: pods not yet swapped are assumed to run it (a safe, larger batch)."""
    rungs = _rungs_of(spec).rungs
    return rungs[0].relative_throughput if rungs else 1.0


def _throughput(spec: ServiceSpec, precision: Precision) -> float:
    variant = spec.precision.variant(precision)
    return variant.relative_throughput if variant is not None else 1.0
