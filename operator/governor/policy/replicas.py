"""Signal-wise replica recommendations: latency SLO, GPU-utilisation target, concurrency.

Each function returns the raw count one signal asks for (``None`` when its inputs are
missing); ``decide`` takes the largest, then applies behaviour and bounds. The latency
signal's Erlang C search is done by ``queueing`` (scalar) or ``queueing``'s array form in
``decide_many``; this module only prepares its inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from governor.model.spec import ServiceSpec
from governor.policy import tokens
from governor.policy.behavior import within_tolerance
from governor.policy.config import PolicyConfig
from governor.policy.queueing import burst_factor, replicas_for_latency
from governor.policy.signals import SignalView


@dataclass(frozen=True)
class LatencyQuery:
    """Inputs of one Erlang C search (seconds and requests/s)."""

    arrival: float
    service_rate: float
    service_time: float
    latency: float
    quantile: float
    limit: int
    burst: float = 1.0  # G/G/c stretch of the wait, ``queueing.burst_factor``


def latency_query(spec: ServiceSpec, view: SignalView, throughput: float, cfg: PolicyConfig) -> LatencyQuery | None:
    """The search for the latency signal at a precision of relative ``throughput``; None without data."""
    if view.arrival_plan is None or view.capacity_ref is None or view.capacity_ref <= 0.0:
        return None
    rate = view.capacity_ref * throughput
    service_time = view.service_time if view.service_time and view.service_time > 0.0 else 1.0 / rate
    limit = max(spec.max_replicas * cfg.search_limit_factor, spec.max_replicas + 1)
    return LatencyQuery(
        view.arrival_plan,
        rate,
        service_time,
        spec.slo.latency_ms / 1000.0,
        spec.slo.latency_quantile,
        limit,
        burst_factor(view.arrival_scv),
    )


def token_need(
    spec: ServiceSpec, view: SignalView, throughput: float, cfg: PolicyConfig, planning: bool = True
) -> tokens.TokenNeed | None:
    """The token model's need at a precision of relative ``throughput``; None when it does not size.

    ``planning``: with the headroom a step of load needs while replicas start; without it, what
    the objectives themselves need (whether a fleet at maxReplicas carries the load at all).
    """
    if view.tokens is None or view.arrival_plan is None:
        return None
    limit = max(spec.max_replicas * cfg.search_limit_factor, spec.max_replicas + 1)
    t = view.tokens
    margin = cfg.token_slo_margin if planning else 1.0
    return tokens.need(spec, t.costs, t.load, view.arrival_plan, throughput, t.kv_known, limit, cfg, margin)


def slo_need(
    spec: ServiceSpec, view: SignalView, throughput: float, cfg: PolicyConfig, planning: bool = True
) -> int | None:
    """Replicas the SLO needs at a precision of relative ``throughput``: the largest of its objectives.

    The token model sizes the TTFT, ITL and KV-cache bounds when it has data; the request-latency
    signal (Erlang C) sizes ``latencyMs`` when the SLO declares it, or when the token model has
    nothing yet to size with.
    """
    token = token_need(spec, view, throughput, cfg, planning)
    request = solve(latency_query(spec, view, throughput, cfg)) if judges_latency(spec, token) else None
    return largest_need(spec, request, token)


def judges_latency(spec: ServiceSpec, token: tokens.TokenNeed | None) -> bool:
    """Whether the request-latency signal counts: ``latencyMs`` is declared, or the token model does not size."""
    return spec.slo.latency_declared or token is None


def largest_need(spec: ServiceSpec, request: int | None, token: tokens.TokenNeed | None) -> int | None:
    """The largest of the request-latency need (when it counts) and the token objectives' needs."""
    needs = [token.replicas] if token is not None else []
    if judges_latency(spec, token):
        needs.append(request)
    known = [n for n in needs if n is not None]
    return max(known) if known else None


def solve(query: LatencyQuery | None) -> int | None:
    if query is None:
        return None
    return replicas_for_latency(
        query.arrival, query.service_rate, query.service_time, query.latency, query.quantile, query.limit, query.burst
    )


def replicas_for_gpu(spec: ServiceSpec, view: SignalView, target: float | None = None) -> int | None:
    """HPA's formula ``ceil(ready × utilisation / target)``, unchanged inside the tolerance band.

    ``target`` defaults to the spec's GPU-utilisation target (``None`` there: no signal).
    """
    if spec.targets.gpu_utilization is None:
        return None
    target = target if target is not None else spec.targets.gpu_utilization
    if target is None or target <= 0.0 or view.gpu_utilization is None or view.ready <= 0:
        return None
    ratio = view.gpu_utilization / target
    if within_tolerance(ratio, spec.behavior.tolerance):
        return view.ready
    return math.ceil(view.ready * ratio - 1e-9)


def replicas_for_concurrency(spec: ServiceSpec, view: SignalView) -> int | None:
    """``ceil(in-flight requests / concurrencyPerReplica)`` (running plus queued)."""
    target = spec.targets.concurrency_per_replica
    if target is None or target <= 0.0 or view.in_flight is None:
        return None
    return math.ceil(view.in_flight / target - 1e-9)
