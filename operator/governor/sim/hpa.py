"""Kubernetes' HorizontalPodAutoscaler as a simulated baseline, faithful to its replica calculator.

The pure functions follow ``pkg/controller/podautoscaler/replica_calculator.go``:

* resource metrics (``Utilization`` of a request): utilisation in whole percent of the pods'
  requests; unready pods are left out, and put back at 0 % when scaling up; pods without
  metrics count as 100 % (or the target, if higher) when scaling down and 0 % when scaling up;
  no change inside the tolerance or when the put-back pods reverse the direction;
* pods metrics (``AverageValue``): the same, with the target value as the scale-down fallback
  and no readiness filtering (only CPU has it);
* object / external metrics: usage ratio times the ready pods, or usage over the per-pod target.

``HpaBehavior`` applies the v2 ``behavior`` rules (stabilisation windows, Pods / Percent
policies, selectPolicy), as ``normalizeDesiredReplicasWithBehaviors`` does, every 15 s. Like
``recordInitialRecommendation`` it records the current replica count as its first
recommendation, so a scale-down stabilisation window holds the starting size at first.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from governor.model.spec import Behavior, ScalingRules, SelectPolicy
from governor.sim.control import Command, SimView

DEFAULT_TOLERANCE = 0.1


@dataclass(frozen=True)
class PodMetric:
    """One pod as the HPA sees it. ``ignored``: failed, being deleted or pending (never counted)."""

    value: float | None  # None: no metric for this pod
    ready: bool = True
    ignored: bool = False
    request: float = 1.0  # resource request, for utilisation metrics


def _within(ratio: float, tolerance: float) -> bool:
    return abs(1.0 - ratio) <= tolerance


def _utilization_pct(values: dict[int, float], requests: dict[int, float]) -> int:
    used = sum(values.values())
    requested = sum(requests[i] for i in values)
    return int(used * 100 / requested)


def resource_replicas(
    current: int, pods: Sequence[PodMetric], target_pct: int, tolerance: float = DEFAULT_TOLERANCE
) -> int:
    """Desired replicas for a resource ``Utilization`` target (percent of requests)."""
    counted = [(i, p) for i, p in enumerate(pods) if not p.ignored]
    requests = {i: p.request for i, p in counted}
    missing = [i for i, p in counted if p.value is None]
    unready = [i for i, p in counted if not p.ready and p.value is not None]
    values = {i: float(p.value) for i, p in counted if p.ready and p.value is not None}
    if not values:
        raise ValueError("no metrics returned")
    ratio = _utilization_pct(values, requests) / target_pct
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        return current if _within(ratio, tolerance) else math.ceil(ratio * len(values))
    fallback = max(100, target_pct) / 100
    for i in missing:
        if ratio < 1.0:
            values[i] = requests[i] * fallback
        elif ratio > 1.0:
            values[i] = 0.0
    if scale_up_with_unready:
        for i in unready:
            values[i] = 0.0
    new_ratio = _utilization_pct(values, requests) / target_pct
    return _settle(current, ratio, new_ratio, len(values), tolerance)


def pods_metric_replicas(
    current: int, pods: Sequence[PodMetric], target: float, tolerance: float = DEFAULT_TOLERANCE
) -> int:
    """Desired replicas for a ``Pods`` metric with an ``AverageValue`` target (e.g. GPU util %)."""
    counted = [p for p in pods if not p.ignored]
    values = [float(p.value) for p in counted if p.value is not None]
    missing = sum(1 for p in counted if p.value is None)
    if not values:
        raise ValueError("no metrics returned")
    ratio = (sum(values) / len(values)) / target
    if not missing:
        return current if _within(ratio, tolerance) else math.ceil(ratio * len(values))
    if ratio < 1.0:
        values += [target] * missing
    elif ratio > 1.0:
        values += [0.0] * missing
    new_ratio = (sum(values) / len(values)) / target
    return _settle(current, ratio, new_ratio, len(values), tolerance)


def _settle(current: int, ratio: float, new_ratio: float, counted: int, tolerance: float) -> int:
    if _within(new_ratio, tolerance) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    proposed = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and proposed > current) or (new_ratio > 1.0 and proposed < current):
        return current
    return proposed


def object_metric_replicas(
    current: int, usage: float, target: float, ready_pods: int, tolerance: float = DEFAULT_TOLERANCE
) -> int:
    """Desired replicas for an ``Object``/``External`` metric with a ``Value`` target."""
    ratio = usage / target
    return current if _within(ratio, tolerance) else math.ceil(ratio * ready_pods)


def per_pod_metric_replicas(
    current: int, usage: float, per_pod_target: float, tolerance: float = DEFAULT_TOLERANCE
) -> int:
    """Desired replicas for an ``Object``/``External`` metric with an ``AverageValue`` target."""
    ratio = usage / (per_pod_target * current)
    return current if _within(ratio, tolerance) else math.ceil(usage / per_pod_target)


@dataclass
class HpaBehavior:
    """Stabilisation windows and rate limits of ``autoscaling/v2`` ``behavior``."""

    behavior: Behavior = field(default_factory=Behavior)
    min_replicas: int = 1
    max_replicas: int = 10
    _recommendations: deque[tuple[float, int]] = field(default_factory=deque)
    _events: deque[tuple[float, int]] = field(default_factory=deque)  # (time, replica change)
    _seeded: bool = False

    def normalize(self, now: float, current: int, desired: int) -> int:
        if not self._seeded:  # recordInitialRecommendation: the first recommendation is the current size
            self._recommendations.append((now, current))
            self._seeded = True
        desired = self._stabilize(now, current, desired)
        if desired > current:
            limit = self._limit(now, current, self.behavior.scale_up, up=True)
            desired = min(desired, limit)
        elif desired < current:
            limit = self._limit(now, current, self.behavior.scale_down, up=False)
            desired = max(desired, limit)
        desired = max(self.min_replicas, min(self.max_replicas, desired))
        if desired != current:
            self._events.append((now, desired - current))
        return desired

    def _stabilize(self, now: float, current: int, desired: int) -> int:
        up_window = self.behavior.scale_up.stabilization_window_seconds
        down_window = self.behavior.scale_down.stabilization_window_seconds
        up, down = desired, desired
        for at, rec in self._recommendations:
            if at > now - up_window:
                up = min(up, rec)
            if at > now - down_window:
                down = max(down, rec)
        self._recommendations.append((now, desired))
        horizon = max(up_window, down_window)
        while self._recommendations and self._recommendations[0][0] <= now - horizon:
            self._recommendations.popleft()
        return min(max(current, up), down)

    def _limit(self, now: float, current: int, rules: ScalingRules, up: bool) -> int:
        if rules.select_policy == SelectPolicy.DISABLED or not rules.policies:
            return current
        limits = []
        for policy in rules.policies:
            changed = sum(d for at, d in self._events if at > now - policy.period_seconds and (d > 0) == up)
            start = current - changed
            if policy.type == "Pods":
                limits.append(start + policy.value if up else start - policy.value)
            elif up:
                limits.append(math.ceil(start * (1 + policy.value / 100)))
            else:
                limits.append(int(start * (1 - policy.value / 100)))
        pick_most = rules.select_policy == SelectPolicy.MAX
        return (max(limits) if pick_most else min(limits)) if up else (min(limits) if pick_most else max(limits))


@dataclass
class HpaController:
    """HPA on one per-pod metric: concurrency (running + waiting requests) or GPU utilisation (DCGM)."""

    metric: str  # "gpu" | "concurrency"
    target: float  # percent of GPU utilisation, or requests per pod
    behavior: HpaBehavior
    name: str = "hpa"
    period_s: int = 15

    def describe(self) -> str:
        what = (
            f"Pods metric DCGM_FI_DEV_GPU_UTIL, averageValue {self.target:g} (%; saturates at 100 %)"
            if self.metric == "gpu"
            else f"Pods metric requests running+waiting, averageValue {self.target:g} per pod (0.7 × slots)"
        )
        return f"HPA autoscaling/v2: {what}; default behavior, sync 15 s, tolerance 10%"

    def decide(self, view: SimView) -> Command:
        per_pod = self._per_pod_value(view)
        current = view.replicas
        if per_pod is None or current == 0:
            return Command(current, view.precision)
        with_metrics = min(view.pods_with_metrics, view.alive)
        pods = [PodMetric(per_pod)] * with_metrics + [PodMetric(None, ready=False)] * (view.alive - with_metrics)
        try:
            desired = pods_metric_replicas(current, pods, self.target)
        except ValueError:
            return Command(current, view.precision)
        return Command(self.behavior.normalize(view.now, current, desired), view.precision)

    def _per_pod_value(self, view: SimView) -> float | None:
        obs = view.observation
        if self.metric == "gpu":
            util = obs.gpu_utilization_mean
            return None if util is None else util.value * 100.0
        running, queued = obs.running_requests, obs.queue_depth
        if running is None or queued is None or view.pods_with_metrics == 0:
            return None
        return (running.value + queued.value) / view.pods_with_metrics
