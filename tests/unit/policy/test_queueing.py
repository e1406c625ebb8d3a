"""Erlang B/C and M/M/c response times against textbook values, and the array form against the scalar."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governor.policy.queueing import (
    erlang_b,
    erlang_c,
    prob_response_exceeds,
    prob_wait_exceeds,
    replicas_for_latency,
)


def _erlang_c_by_sum(servers: int, load: float) -> float:
    """The closed-form definition (sum of Poisson terms), independent of the recurrence."""
    head = sum(load**k / math.factorial(k) for k in range(servers))
    tail = load**servers / math.factorial(servers) * servers / (servers - load)
    return tail / (head + tail)


@pytest.mark.parametrize(
    ("servers", "load", "expected"),
    [
        (1, 1.0, 0.5),  # B(1, 1) = a / (1 + a)
        (2, 2.0, 0.4),  # B(2, 2) = (a²/2) / (1 + a + a²/2)
    ],
)
def test_erlang_b_textbook(servers: int, load: float, expected: float) -> None:
    assert erlang_b(servers, load) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("servers", "load", "expected"),
    [
        (1, 0.7, 0.7),  # M/M/1: an arrival waits with probability rho
        (2, 1.0, 1 / 3),  # M/M/2 at rho 0.5
        (3, 2.0, 4 / 9),
        (14, 10.0, 0.1741),  # the classic call-centre example: 10 Erlangs, 14 agents
    ],
)
def test_erlang_c_textbook(servers: int, load: float, expected: float) -> None:
    assert erlang_c(servers, load) == pytest.approx(expected, abs=1e-4)


def test_call_centre_service_level() -> None:
    # 10 Erlangs, 14 agents, 180 s handling time: 88.8 % of calls answered within 20 s.
    answered = 1.0 - prob_wait_exceeds(14, 10.0 / 180.0, 1.0 / 180.0, 20.0)
    assert answered == pytest.approx(0.888, abs=1e-3)


def test_unstable_queue_always_waits() -> None:
    assert erlang_c(4, 4.0) == 1.0
    assert prob_response_exceeds(4, 9.0, 2.0, 0.5, 100.0) == 1.0


@given(st.integers(1, 40), st.floats(0.01, 0.99))
def test_recurrence_matches_closed_form(servers: int, rho: float) -> None:
    load = rho * servers
    assert erlang_c(servers, load) == pytest.approx(_erlang_c_by_sum(servers, load), rel=1e-9)


@given(st.floats(0.1, 9.0), st.floats(0.01, 5.0))
def test_mm1_response_time_is_exponential(arrival: float, t: float) -> None:
    # In M/M/1 the response time is exponential with rate mu - lambda.
    mu = 10.0
    assert prob_response_exceeds(1, arrival, mu, 1.0 / mu, t) == pytest.approx(math.exp(-(mu - arrival) * t), rel=1e-7)


def test_smallest_count_meets_the_quantile() -> None:
    arrival, mu, service, latency, q = 30.0, 4.0, 0.05, 0.5, 0.99
    n = replicas_for_latency(arrival, mu, service, latency, q, 100)
    assert prob_response_exceeds(n, arrival, mu, service, latency) <= 1 - q
    assert prob_response_exceeds(n - 1, arrival, mu, service, latency) > 1 - q


def test_unattainable_slo_falls_back_to_the_waiting_budget() -> None:
    # Exponential service of mean 4 s alone breaches p99 <= 8 s: plan the wait to stay under 4 s.
    n = replicas_for_latency(40.0, 4.0, 4.0, 8.0, 0.99, 100)
    assert prob_wait_exceeds(n, 40.0, 4.0, 4.0) <= 0.01
    assert prob_wait_exceeds(n - 1, 40.0, 4.0, 4.0) > 0.01


def test_limit_when_nothing_meets_it() -> None:
    assert replicas_for_latency(1000.0, 1.0, 1.0, 2.0, 0.99, 16) == 16
    assert replicas_for_latency(0.0, 1.0, 1.0, 2.0, 0.99, 16) == 0


@given(st.floats(0.1, 300.0), st.floats(0.1, 300.0))
def test_more_arrivals_never_need_fewer_servers(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert replicas_for_latency(low, 3.0, 2.0, 6.0, 0.99, 500) <= replicas_for_latency(high, 3.0, 2.0, 6.0, 0.99, 500)
