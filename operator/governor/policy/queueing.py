"""Erlang C (M/M/c) arithmetic: how many replicas keep a latency quantile under the SLO.

Model (see docs/policy.md): each replica is one queueing server with capacity ``mu``
requests/s (a batch server's measured throughput when busy, not 1/latency). A request that
finds every replica at capacity waits; its wait ``W`` follows M/M/c:
``P(W > t) = C(c, a) · exp(-(c·mu - lam)·t)`` with ``a = lam/mu`` and ``C`` Erlang's
delay probability. Its response time is ``T = W + S`` with ``S`` exponential of mean
``service_time`` (measured by Little's law; ``1/mu`` when unknown), whose tail has a closed
form. When ``S`` alone would breach the SLO, no replica count helps and the criterion
falls back to the waiting budget ``P(W > max(L - s, 0)) <= 1 - q``.
"""

from __future__ import annotations

import math


def erlang_b(servers: int, load: float) -> float:
    """Erlang B blocking probability for ``servers`` servers and offered load ``load`` (Erlangs)."""
    blocking = 1.0
    for n in range(1, servers + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits (M/M/c); 1.0 when the queue is unstable (load >= servers)."""
    if load >= servers:
        return 1.0
    blocking = erlang_b(servers, load)
    return _c_from_b(servers, load, blocking)


def _c_from_b(servers: int, load: float, blocking: float) -> float:
    return servers * blocking / (servers - load * (1.0 - blocking))


def prob_wait_exceeds(servers: int, arrival: float, service_rate: float, t: float) -> float:
    """``P(W > t)`` for M/M/c with per-server rate ``service_rate``."""
    load = arrival / service_rate
    if load >= servers:
        return 1.0
    return erlang_c(servers, load) * math.exp(-(servers * service_rate - arrival) * t)


def _response_tail(delay_prob: float, theta: float, nu: float, t: float) -> float:
    """``P(W + S > t)``: W is 0 w.p. 1-C else Exp(theta); S ~ Exp(nu)."""
    service_tail = math.exp(-nu * t)
    if abs(theta - nu) < 1e-9 * max(theta, nu):
        both = (1.0 + nu * t) * service_tail
    else:
        both = (theta * service_tail - nu * math.exp(-theta * t)) / (theta - nu)
    return (1.0 - delay_prob) * service_tail + delay_prob * both


def prob_response_exceeds(servers: int, arrival: float, service_rate: float, service_time: float, t: float) -> float:
    """``P(W + S > t)`` with W from M/M/c and S exponential with mean ``service_time``."""
    load = arrival / service_rate
    if load >= servers:
        return 1.0
    delay = erlang_c(servers, load)
    return _response_tail(delay, servers * service_rate - arrival, 1.0 / service_time, t)


def slo_attainable(service_time: float, latency: float, quantile: float) -> bool:
    """True when exponential service alone keeps ``P(S > latency) <= 1 - quantile``."""
    return math.exp(-latency / service_time) <= 1.0 - quantile


def burst_factor(arrival_scv: float, service_scv: float = 1.0) -> float:
    """Allen–Cunneen / Kingman scale of the G/G/c wait over M/M/c: ``(ca² + cs²) / 2``, at least 1."""
    return max((arrival_scv + service_scv) / 2.0, 1.0)


def replicas_for_latency(
    arrival: float,
    service_rate: float,
    service_time: float,
    latency: float,
    quantile: float,
    limit: int,
    burst: float = 1.0,
) -> int:
    """Smallest ``c`` with ``P(T <= latency) >= quantile``; ``limit`` when none up to it does.

    ``arrival`` and ``service_rate`` in requests/s, ``service_time`` and ``latency`` in seconds.
    Zero arrivals need zero servers (bounds are applied by the caller). ``burst`` (see
    ``burst_factor``) stretches the M/M/c wait: the wait keeps Erlang C's probability of
    waiting but its conditional mean is ``burst`` times longer (G/G/c, Allen–Cunneen).
    """
    if arrival <= 0.0:
        return 0
    load = arrival / service_rate
    allowed = 1.0 - quantile
    nu = 1.0 / service_time
    attainable = slo_attainable(service_time, latency, quantile)
    budget = max(latency - service_time, 0.0)
    blocking = 1.0
    for n in range(1, limit + 1):
        blocking = load * blocking / (n + load * blocking)
        if n <= load:
            continue
        delay = _c_from_b(n, load, blocking)
        theta = (n * service_rate - arrival) / burst
        tail = _response_tail(delay, theta, nu, latency) if attainable else delay * math.exp(-theta * budget)
        if tail <= allowed:
            return n
    return limit
