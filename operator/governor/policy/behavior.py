"""HPA-compatible ``behavior``: stabilisation windows, Pods/Percent rate limits, selectPolicy.

Mirrors Kubernetes' horizontal pod autoscaler (``normalizeDesiredReplicasWithBehaviors``):

* stabilisation: the recommendation is clamped between the *lowest* recommendation of the
  scale-up window and the *highest* of the scale-down window (both including the new one),
  starting from the current count; with the default 300 s scale-down window, a dip in load
  lowers replicas only once it has lasted five minutes;
* rate limits: each policy allows, per ``periodSeconds``, ``value`` pods or ``value`` percent
  of the replicas the period started with (current minus the changes made inside it);
  ``selectPolicy: Max`` takes the most permissive policy, ``Min`` the least, ``Disabled``
  forbids that direction.

History (recommendations and scale events) is a tuple of ``(time, value)`` kept in
``PolicyState``; the caller records a scale event when the decided count differs from the
current one.
"""

from __future__ import annotations

import math

from governor.model.spec import Behavior, ScalingRules, SelectPolicy

History = tuple[tuple[float, int], ...]


def stabilize(desired: int, current: int, history: History, now: float, behavior: Behavior) -> int:
    """The stabilised recommendation; ``history`` holds earlier raw recommendations."""
    up_cutoff = now - behavior.scale_up.stabilization_window_seconds
    down_cutoff = now - behavior.scale_down.stabilization_window_seconds
    up = down = desired
    for t, r in history:  # one plain loop: this runs for every service on every tick
        if r < up and t > up_cutoff:
            up = r
        if r > down and t > down_cutoff:
            down = r
    return min(max(current, up), down)


def remember(history: History, value: int, now: float, keep_seconds: float) -> History:
    """``history`` with ``(now, value)`` appended and entries older than ``keep_seconds`` dropped."""
    cutoff = now - keep_seconds
    if not history or history[0][0] > cutoff:  # nothing expired (times only grow): the common case
        return (*history, (now, value))
    return (*(entry for entry in history if entry[0] > cutoff), (now, value))


def _changes_within(events: History, period: float, now: float, sign: int) -> int:
    cutoff = now - period
    return sum(abs(change) for t, change in events if t > cutoff and change * sign > 0)


def _period_start(current: int, events: History, period: float, now: float) -> int:
    """Replicas at the start of a policy period: HPA measures each policy's change from there."""
    return current - _changes_within(events, period, now, +1) + _changes_within(events, period, now, -1)


def scale_up_limit(current: int, events: History, now: float, rules: ScalingRules) -> int:
    """Highest count the scale-up policies allow now (never below ``current``)."""
    if rules.select_policy is SelectPolicy.DISABLED or not rules.policies:
        return current
    pick = min if rules.select_policy is SelectPolicy.MIN else max
    proposals = []
    for policy in rules.policies:
        start = _period_start(current, events, policy.period_seconds, now)
        if policy.type == "Pods":
            proposals.append(start + policy.value)
        else:
            proposals.append(math.ceil(start * (1 + policy.value / 100)))
    return max(pick(proposals), current)


def scale_down_limit(current: int, events: History, now: float, rules: ScalingRules) -> int:
    """Lowest count the scale-down policies allow now (never above ``current``)."""
    if rules.select_policy is SelectPolicy.DISABLED or not rules.policies:
        return current
    pick = max if rules.select_policy is SelectPolicy.MIN else min
    proposals = []
    for policy in rules.policies:
        start = _period_start(current, events, policy.period_seconds, now)
        if policy.type == "Pods":
            proposals.append(start - policy.value)
        else:
            proposals.append(int(start * (1 - policy.value / 100)))
    return min(pick(proposals), current)


def rate_limit(desired: int, current: int, events: History, now: float, behavior: Behavior) -> int:
    """``desired`` clamped to what the scale-up / scale-down policies allow from ``current``."""
    if desired > current:
        return min(desired, scale_up_limit(current, events, now, behavior.scale_up))
    if desired < current:
        return max(desired, scale_down_limit(current, events, now, behavior.scale_down))
    return desired


def within_tolerance(ratio: float, tolerance: float) -> bool:
    """HPA's dead band: a usage ratio this close to 1.0 changes nothing."""
    return abs(ratio - 1.0) <= tolerance


_MEMORY: dict[int, tuple[Behavior, tuple[float, float]]] = {}


def memory_seconds(behavior: Behavior) -> tuple[float, float]:
    """How long recommendations and scale events matter: (longest window, longest policy period).

    Memoised per ``Behavior`` object (checked by identity), as it runs for every service.
    """
    entry = _MEMORY.get(id(behavior))
    if entry is not None and entry[0] is behavior:
        return entry[1]
    if len(_MEMORY) > 100_000:
        _MEMORY.clear()
    result = _memory_seconds(behavior)
    _MEMORY[id(behavior)] = (behavior, result)
    return result


def _memory_seconds(behavior: Behavior) -> tuple[float, float]:
    windows = max(behavior.scale_up.stabilization_window_seconds, behavior.scale_down.stabilization_window_seconds)
    periods = [p.period_seconds for p in (*behavior.scale_up.policies, *behavior.scale_down.policies)]
    return float(max(windows, 1)), float(max(periods, default=1))
