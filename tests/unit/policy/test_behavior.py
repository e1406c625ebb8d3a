"""HPA ``behavior`` semantics, case by case as documented for Kubernetes' autoscaling/v2."""

from __future__ import annotations

import pytest

from governor.model.spec import Behavior, ScalingPolicy, ScalingRules, SelectPolicy
from governor.policy.behavior import (
    rate_limit,
    remember,
    scale_down_limit,
    scale_up_limit,
    stabilize,
    within_tolerance,
)

DEFAULT = Behavior()


@pytest.mark.parametrize(("current", "limit"), [(1, 5), (3, 7), (4, 8), (10, 20), (40, 80)])
def test_default_scale_up_is_max_of_four_pods_and_double(current: int, limit: int) -> None:
    assert scale_up_limit(current, (), 0.0, DEFAULT.scale_up) == limit


def test_scale_up_counts_changes_inside_the_period() -> None:
    # 4 pods were added 10 s ago: the period started at 6, so Percent 100 allows 12, Pods 4 allows 10.
    events = ((90.0, 4),)
    assert scale_up_limit(10, events, 100.0, DEFAULT.scale_up) == 12
    # Outside the 15 s period the event no longer counts.
    assert scale_up_limit(10, events, 106.0, DEFAULT.scale_up) == 20


def test_documented_scale_down_example() -> None:
    # Kubernetes docs: Percent 10 / 60 s and Pods 5 / 60 s; at 80 replicas Max allows 8 pods down, Min 5.
    policies = (ScalingPolicy("Percent", 10, 60), ScalingPolicy("Pods", 5, 60))
    assert scale_down_limit(80, (), 0.0, ScalingRules(policies=policies)) == 72
    assert scale_down_limit(80, (), 0.0, ScalingRules(policies=policies, select_policy=SelectPolicy.MIN)) == 75
    assert scale_down_limit(80, (), 0.0, ScalingRules(policies=policies, select_policy=SelectPolicy.DISABLED)) == 80


def test_disabled_scale_up_keeps_current() -> None:
    rules = ScalingRules(select_policy=SelectPolicy.DISABLED, policies=(ScalingPolicy("Pods", 4, 15),))
    behavior = Behavior(scale_up=rules)
    assert rate_limit(30, 10, (), 0.0, behavior) == 10


def test_min_select_policy_scales_up_least() -> None:
    rules = ScalingRules(select_policy=SelectPolicy.MIN, policies=DEFAULT.scale_up.policies)
    assert scale_up_limit(10, (), 0.0, rules) == 14


def test_rate_limit_keeps_a_change_inside_the_limits() -> None:
    assert rate_limit(6, 4, (), 0.0, DEFAULT) == 6
    assert rate_limit(100, 4, (), 0.0, DEFAULT) == 8
    assert rate_limit(1, 4, (), 0.0, DEFAULT) == 1  # default scale-down allows 100 % per 15 s


def test_scale_down_stabilisation_takes_the_window_maximum() -> None:
    history = ((0.0, 10), (100.0, 8), (200.0, 6))
    assert stabilize(4, 10, history, 250.0, DEFAULT) == 10  # 10 is still inside the 300 s window
    assert stabilize(4, 10, history, 301.0, DEFAULT) == 8  # the 10 has left it
    assert stabilize(4, 10, history, 600.0, DEFAULT) == 4


def test_scale_up_stabilisation_takes_the_window_minimum() -> None:
    behavior = Behavior(scale_up=ScalingRules(stabilization_window_seconds=60, policies=DEFAULT.scale_up.policies))
    history = ((0.0, 3), (30.0, 9))
    assert stabilize(12, 3, history, 50.0, behavior) == 3
    assert stabilize(12, 3, history, 70.0, behavior) == 9


def test_scale_up_is_not_delayed_by_default() -> None:
    assert stabilize(12, 3, ((0.0, 3),), 10.0, DEFAULT) == 12


def test_remember_drops_old_entries() -> None:
    assert remember(((0.0, 1), (50.0, 2)), 3, 100.0, 60.0) == ((50.0, 2), (100.0, 3))


@pytest.mark.parametrize(("ratio", "inside"), [(1.0, True), (1.09, True), (0.91, True), (1.11, False), (0.8, False)])
def test_tolerance_band(ratio: float, inside: bool) -> None:
    assert within_tolerance(ratio, 0.1) is inside
