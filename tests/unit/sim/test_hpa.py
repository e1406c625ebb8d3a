"""The HPA baseline's replica calculator against the cases of Kubernetes' replica_calculator_test.go.

Numbers carried over from the upstream tests (CPU requests of 1.0 core = 1000m per pod,
levels in millicores; custom metrics in milli-units), expressed through our pure functions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from governor.model.spec import Behavior
from governor.sim.arrivals import Arrivals
from governor.sim.engine import simulate
from governor.sim.hpa import (
    HpaBehavior,
    PodMetric,
    object_metric_replicas,
    per_pod_metric_replicas,
    pods_metric_replicas,
    resource_replicas,
)
from governor.sim.policies import build_controller
from governor.sim.scenario import Scenario
from governor.sim.scenarios import service_spec


def pods(
    levels: list[float | None], ready: list[bool] | None = None, requests: list[float] | None = None
) -> list[PodMetric]:
    ready = ready or [True] * len(levels)
    requests = requests or [1000.0] * len(levels)
    return [PodMetric(v, r, request=q) for v, r, q in zip(levels, ready, requests, strict=True)]


# (name, current, levels (None = no metric), readiness, target %, expected)
RESOURCE_CASES = [
    ("ScaleUp", 3, [300, 500, 700], None, 30, 5),
    ("ScaleUpUnreadyLessScale", 3, [300, 500, 700], [False, True, True], 30, 4),
    ("ScaleUpUnreadyNoScale", 3, [400, 500, 700], [True, False, False], 30, 3),
    ("ScaleDown", 5, [100, 300, 500, 250, 250], None, 50, 3),
    ("ScaleDownIncludeUnreadyPods", 5, [100, 300, 500, 250, 250], [True, True, True, False, False], 50, 2),
    ("SuperfluousMetrics", 4, [4000, 9500, 3000, 7000], None, 100, 24),
    ("MissingMetrics", 4, [400, 95, None, None], None, 100, 3),
    ("MissingMetricsNoChangeEq", 2, [1000, None], None, 100, 2),
    ("MissingMetricsNoChangeGt", 2, [1900, None], None, 100, 2),
    ("MissingMetricsNoChangeLt", 2, [600, None], None, 100, 2),
    ("MissingMetricsUnreadyChange", 3, [100, 450, None], [False, True, True], 50, 3),
    ("MissingMetricsUnreadyScaleUp", 3, [100, 2000, None], [False, True, True], 50, 4),
    ("MissingMetricsUnreadyScaleDown", 4, [100, 100, 100, None], [False, True, True, True], 50, 3),
    ("DuringRollingUpdateWithMaxSurge", 2, [100, 100, None], None, 50, 2),
]


@pytest.mark.parametrize(("name", "current", "levels", "ready", "target", "expected"), RESOURCE_CASES)
def test_resource_cases_from_kubernetes(
    name: str, current: int, levels: list, ready: list | None, target: int, expected: int
) -> None:
    assert resource_replicas(current, pods(levels, ready), target) == expected, name


def test_tolerance_case_with_unequal_requests() -> None:
    # TestReplicaCalcTolerance: requests 0.9/1.0/1.1 cores, usage 1010/1030/1020m, target 100 % → no change.
    assert resource_replicas(3, pods([1010, 1030, 1020], requests=[900, 1000, 1100]), 100) == 3


def test_failed_and_deleted_pods_are_ignored() -> None:
    # TestReplicaCalcScaleUpIgnoresFailedPods / ...DeletionPods: two running pods at 500/700m, target 30 %.
    ignored = [PodMetric(None, ready=False, ignored=True)] * 2
    assert resource_replicas(2, pods([500, 700]) + ignored, 30) == 4
    # TestReplicaCalcScaleDownIgnoresFailedPods: five running pods, two failed, target 50 %.
    assert resource_replicas(5, pods([100, 300, 500, 250, 250]) + ignored, 50) == 3
    # TestReplicaCalcScaleDownExcludeUnscheduledPods: one running pod at 100m, four pending.
    assert resource_replicas(5, pods([100]) + [PodMetric(None, ready=False, ignored=True)] * 4, 50) == 1


def test_computed_tolerance_regression() -> None:
    # TestReplicaCalcComputedToleranceAlgImplementation: 10 pods using 150m of ~300m requested.
    requests = [400, 200, 310, 290, 302, 298, 301, 299, 300, 300]
    target = abs(1 / (2.0 * (1 - 0.1))) + 0.01
    final = math.ceil(1500 / (3000 * target) * 10)
    assert resource_replicas(10, pods([150] * 10, requests=requests), int(target * 100)) == final
    near = abs(1 / (2.0 * (1 - 0.1))) + 0.004
    assert resource_replicas(10, pods([150] * 10, requests=requests), int(near * 100)) == 10


def test_no_metrics_is_an_error() -> None:
    # TestReplicaCalcEmptyMetrics: no metrics returned → error, the HPA holds.
    with pytest.raises(ValueError, match="no metrics"):
        resource_replicas(4, pods([None, None, None]), 100)


@pytest.mark.parametrize(
    ("name", "current", "levels", "target", "expected"),
    [
        ("ScaleUpCM", 3, [20000, 10000, 30000], 15000, 4),
        ("ScaleDownCM", 5, [12000] * 5, 20000, 3),
        ("ToleranceCM", 3, [20000, 21000, 21000], 20000, 3),
        # Pods metrics have no readiness filter: the unready "hot CPU" pods still count.
        ("ScaleUpCMUnreadyHotCpuNoLessScale", 3, [50000, 10000, 30000], 15000, 6),
        ("ScaleUpCMUnreadyHotCpuScaleWouldScaleDown", 3, [50000, 15000, 30000], 15000, 7),
    ],
)
def test_pods_metric_cases_from_kubernetes(name: str, current: int, levels: list, target: float, expected: int) -> None:
    assert pods_metric_replicas(current, pods(levels, [False] + [True] * (len(levels) - 1)), target) == expected, name


@pytest.mark.parametrize(
    ("name", "current", "usage", "target", "ready", "expected"),
    [
        ("ScaleUpCMObject", 3, 20000, 15000, 3, 4),
        ("ScaleUpCMObjectIgnoresUnreadyPods", 3, 50000, 10000, 1, 5),
        ("ScaleDownCMObject", 5, 12000, 20000, 5, 3),
        ("ToleranceCMObject", 3, 20666, 20000, 3, 3),
        ("ScaleUpCMExternalIgnoresUnreadyPods", 3, 8600, 4400, 1, 2),
        ("ScaleDownCMExternal", 5, 8600, 14334, 5, 3),
        ("ToleranceCMExternal", 3, 8600, 8888, 3, 3),
    ],
)
def test_object_and_external_cases(
    name: str, current: int, usage: float, target: float, ready: int, expected: int
) -> None:
    assert object_metric_replicas(current, usage, target, ready) == expected, name


@pytest.mark.parametrize(
    ("name", "current", "usage", "per_pod", "expected"),
    [
        ("ScaleUpCMPerPodObject", 3, 20000, 5000, 4),
        ("ScaleDownPerPodCMObject", 5, 6000, 2000, 3),
        ("TolerancePerPodCMObject", 4, 20166, 5000, 4),
        ("ScaleUpPerPodCMExternal", 3, 8600, 2150, 4),
        ("ScaleDownPerPodCMExternal", 5, 8600, 2867, 3),
        ("TolerancePerPodCMExternal", 3, 8600, 2900, 3),
    ],
)
def test_per_pod_target_cases(name: str, current: int, usage: float, per_pod: float, expected: int) -> None:
    assert per_pod_metric_replicas(current, usage, per_pod) == expected, name


def test_default_behavior_scale_up_limit_is_max_of_4_pods_and_100_percent() -> None:
    behavior = HpaBehavior(Behavior(), min_replicas=1, max_replicas=100)
    assert behavior.normalize(0.0, 2, 50) == 6  # max(2 + 4, 2 × 2)
    assert behavior.normalize(5.0, 6, 50) == 6  # same 15 s period: already added 4 from a start of 2
    assert behavior.normalize(15.0, 6, 50) == 12  # a new period: max(6 + 4, 6 × 2)
    fresh = HpaBehavior(Behavior(), min_replicas=1, max_replicas=100)
    assert fresh.normalize(0.0, 10, 50) == 20


def test_default_behavior_holds_scale_down_for_the_stabilization_window() -> None:
    behavior = HpaBehavior(Behavior(), min_replicas=1, max_replicas=100)
    assert behavior.normalize(0.0, 10, 10) == 10
    assert behavior.normalize(60.0, 10, 4) == 10  # the 10 of 60 s ago is inside the 300 s window
    assert behavior.normalize(299.0, 10, 4) == 10
    assert behavior.normalize(301.0, 10, 4) == 4  # 10 scrolled out; 100 % per 15 s allows the drop


def test_first_recommendation_is_the_current_size_so_the_hpa_holds_it_at_first() -> None:
    behavior = HpaBehavior(Behavior(), min_replicas=1, max_replicas=100)
    assert behavior.normalize(0.0, 10, 3) == 10  # recordInitialRecommendation: 10 is in the window
    assert behavior.normalize(150.0, 10, 3) == 10
    assert behavior.normalize(301.0, 10, 3) == 3  # the seeded 10 scrolled out; 100 % per 15 s allows the drop
    assert HpaBehavior(Behavior(), min_replicas=1, max_replicas=100).normalize(0.0, 10, 30) == 20


def test_hpa_on_a_light_load_keeps_its_starting_size_for_the_stabilization_window() -> None:
    counts = np.full(600, 8, dtype=np.int64)
    spec = service_spec("t", max_replicas=40, in_place=True)
    light = Scenario("t", "light", Arrivals(counts, "light"), spec, initial_replicas=12)
    result = simulate(light, build_controller("hpa", light))
    assert result.alive[:295].min() == 12
    assert result.alive[-1] < 12
