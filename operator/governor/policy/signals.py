"""Turn one Observation into the numbers the decision needs, and learn from it.

This is the first phase of a decision, shared by ``decide`` and ``decide_many``: read the
fresh signals (stale ones count as missing), compute the *effective* arrival rate (cache
misses), update the Holt forecast, and learn the per-replica capacity and service time.

* effective rate ``lam = request_rate × (1 - cache_hit_ratio)``: a cache hit is assumed to
  cost no GPU time. Capacity is learned against the same effective rate, so any steady cost
  of hits is folded into the learned capacity; only a *change* in hit ratio is mis-modelled.
* per-replica capacity ``mu = lam / (ready × gpu_utilization)``, learned (EWMA) only while the
  GPU is neither idle nor saturated and no swap is rolling, then normalised to relative
  throughput 1.0 (``mu_ref = mu / relative_throughput``) so it carries across precisions.
* service time ``s = running_requests / lam`` (Little's law).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from governor.model.observation import Observation, Sample
from governor.model.slo import breach as slo_breach
from governor.model.spec import ServiceSpec
from governor.policy import tokens
from governor.policy.config import PolicyConfig
from governor.policy.state import PolicyState


@dataclass(frozen=True)
class SignalView:
    """Fresh signals of one service at one tick; ``None`` means missing or stale."""

    fresh: bool  # the request rate is fresh: decisions may lower replicas and swap precision
    missing_for: float  # seconds the request rate has been missing (0 when fresh)
    ready: int
    arrival_now: float | None  # effective requests/s
    arrival_plan: float | None  # max(now, forecast) plus the backlog drain rate
    arrival_forecast: float | None
    capacity_ref: float | None
    service_time: float | None
    gpu_utilization: float | None
    in_flight: float | None  # running + queued requests
    p99_ms: float | None
    attainment: float | None
    arrival_scv: float = 1.0  # learned ca² of arrivals (1.0 until learned)
    queued: float | None = None  # requests waiting now (None when not reported)
    backlog_rate: float = 0.0  # the queue's drain rate included in arrival_plan (queued / drain seconds)
    ttft_ms: float | None = None  # measured TTFT at spec.slo.ttft.quantile
    itl_ms: float | None = None  # measured ITL at spec.slo.itl.quantile
    goodput: float | None = None  # share of requests meeting every declared objective
    tokens: TokenView | None = None  # the token model, when it sizes this service


@dataclass(frozen=True)
class TokenView:
    """The token model's inputs for this tick: the traffic's token shape and the learned costs."""

    load: tokens.Load
    costs: tokens.Costs
    kv_known: bool  # the server reports KV-cache usage (the KV bound applies)


def relative_throughput(spec: ServiceSpec, precision: object) -> float:
    for variant in spec.precision.variants:
        if variant.precision == precision:
            return variant.relative_throughput
    return 1.0


def read(
    spec: ServiceSpec, obs: Observation, state: PolicyState, now: float, cfg: PolicyConfig
) -> tuple[SignalView, dict[str, Any]]:
    """The tick's SignalView and the state fields it changes (forecast, learning, data presence)."""
    age = cfg.max_signal_age_seconds
    rate = _fresh(obs.request_rate, age, now)
    ready_value = _fresh(obs.ready_replicas, age, now)
    ready = int(ready_value) if ready_value is not None else state.replicas
    util = _fresh(obs.gpu_utilization_mean, age, now)
    running = _fresh(obs.running_requests, age, now)
    queued = _fresh(obs.queue_depth, age, now)
    in_flight = None if running is None and queued is None else (running or 0.0) + (queued or 0.0)
    p99 = _fresh(obs.latency_p99_ms, age, now)
    attainment = _fresh(obs.slo_attainment, age, now)
    if rate is None or obs.request_rate is None:
        lost = state.data_lost_at
        if lost is None:
            lost = state.data_seen_at if state.data_seen_at is not None else now
        view = SignalView(False, max(now - lost, 0.0), ready, None, None, None, state.capacity_ref, state.service_time,
                    util, in_flight, p99, attainment, state.arrival_scv or 1.0, queued)  # fmt: skip
        return view, {"data_lost_at": lost}
    hit = _fresh(obs.cache_hit_ratio, age, now)
    arrival = max(rate, 0.0) * (1.0 - min(max(hit or 0.0, 0.0), 1.0))
    queue_seen = _queue_history(state.queue_seen, obs.queue_depth if queued is not None else None)
    capacity, service_time = _learn(spec, state, arrival, ready, util, running, queue_seen, cfg)
    updates_capacity = capacity
    surge = _saturated_arrival(spec, state, queue_seen, ready, util, capacity, cfg)
    arrival_now = max(arrival, surge or 0.0)
    sample_at = obs.request_rate.at
    rate_seen = _rate_history(state.rate_seen, arrival, sample_at)
    scv = _learn_scv(state, rate_seen, cfg)
    holt = state.forecast.update(arrival_now, sample_at, cfg.forecast_alpha, cfg.forecast_beta)
    horizon = spec.startup_seconds + cfg.forecast_extra_seconds + max(now - sample_at, 0.0)
    forecast = holt.predict(horizon, arrival_now, cfg.forecast_max_growth)
    calm_since = _calm_since(spec, state, obs, p99, attainment, now, age)
    if calm_since is not None and now - calm_since >= cfg.calm_seconds:
        forecast = _trim_noise(forecast, arrival_now, scv, cfg)
    drain = min(cfg.backlog_drain_seconds, max(spec.startup_seconds, 1.0))
    backlog = (queued or 0.0) / drain
    plan = max(arrival_now, forecast) + backlog
    token_view, token_model = _tokens(spec, obs, state, rate, ready, running, now, cfg)
    if token_view is not None:  # the replica's capacity is its token work at full utilisation
        work = token_view.costs.work(token_view.load)
        capacity = 1.0 / work if work > 0.0 else capacity
    view = SignalView(True, 0.0, ready, arrival_now, plan, forecast, capacity, service_time, util, in_flight, p99,
                attainment, scv if scv is not None else 1.0, queued, backlog,
                _fresh(obs.ttft_ms, age, now), _fresh(obs.itl_ms, age, now),
                _fresh(obs.goodput_attainment, age, now), token_view)  # fmt: skip
    updates = {"forecast": holt, "data_seen_at": now, "data_lost_at": None, "capacity_ref": updates_capacity,
               "service_time": service_time, "queue_seen": queue_seen, "arrival_scv": scv,
               "rate_seen": rate_seen[-2:], "calm_since": calm_since, "token_model": token_model}  # fmt: skip
    return view, updates


def _tokens(
    spec: ServiceSpec,
    obs: Observation,
    state: PolicyState,
    rate: float,
    ready: int,
    running: float | None,
    now: float,
    cfg: PolicyConfig,
) -> tuple[TokenView | None, tokens.TokenModel | None]:
    """The token model's view of this tick and what it learned, or ``(None, kept)`` when it does not size.

    It sizes a service whose SLO declares a TTFT or ITL objective (and ``cfg.token_model``),
    once the token shape of the traffic is known: prompt and generated token rates over the
    request rate (the last shape seen is kept while traffic is idle).
    """
    model = state.token_model
    if not (cfg.token_model and spec.slo.token_objectives):
        return None, model
    age = cfg.max_signal_age_seconds
    prompt = _fresh(obs.prompt_tokens_rate, age, now)
    generated = _fresh(obs.generation_tokens_rate, age, now)
    model = model or tokens.TokenModel()
    load = model.load
    if prompt is not None and generated is not None and rate > 0.0 and generated > 0.0:
        hit = min(max(_fresh(obs.prefix_cache_hit_ratio, age, now) or 0.0, 0.0), 1.0)
        load = tokens.Load(prompt / rate, prompt / rate * (1.0 - hit), generated / rate)
        model = replace(model, load=load)
    if load is None:
        return None, model
    tp = relative_throughput(spec, state.precision)
    priors = tokens.priors_for(spec, state.precision, cfg.token_priors)
    steady = not state.swapping and state.target_precision is None and ready > 0 and ready == state.replicas
    sample_at = obs.prompt_tokens_rate.at if obs.prompt_tokens_rate is not None else None
    new = sample_at is not None and (model.learned_at is None or sample_at > model.learned_at)
    kv_mean = _fresh(obs.kv_cache_usage_mean, age, now)
    if steady and new and rate > 0.0 and prompt is not None:
        window = tokens.Window(
            rate / ready,
            load,
            _seconds(_fresh(obs.itl_ms, age, now)),
            _seconds(_fresh(obs.ttft_ms, age, now)),
            _seconds(_fresh(obs.queue_wait_ms, age, now)),
            running / ready if running is not None else None,
            kv_mean,
            _fresh(obs.kv_cache_usage_max, age, now),
        )
        model = replace(tokens.learn(model, window, tp, priors, spec, cfg), learned_at=sample_at)
    kv_known = kv_mean is not None or model.kv_tokens is not None
    return TokenView(load, tokens.costs(model, priors), kv_known), model


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0


def _calm_since(
    spec: ServiceSpec,
    state: PolicyState,
    obs: Observation,
    p99: float | None,
    attainment: float | None,
    now: float,
    age: float,
) -> float | None:
    """Since when the observed latency has met the SLO, None while it does not or is unknown.

    Known: p99 and attainment for a request-latency SLO, the goodput share for token objectives.
    """
    slo = spec.slo
    ttft, itl, goodput = (
        _fresh(obs.ttft_ms, age, now),
        _fresh(obs.itl_ms, age, now),
        _fresh(obs.goodput_attainment, age, now),
    )
    if slo.latency_declared and (p99 is None or attainment is None):
        return None
    if (
        slo.token_objectives
        and goodput is None
        and (slo.ttft is None or ttft is None)
        and (slo.itl is None or itl is None)
    ):
        return None
    if slo_breach(slo, latency_ms=p99, attainment=attainment, ttft_ms=ttft, itl_ms=itl, goodput=goodput):
        return None
    return state.calm_since if state.calm_since is not None else now


def _trim_noise(forecast: float, arrival_now: float, scv: float | None, cfg: PolicyConfig) -> float:
    """The forecast less the noise of one rate sample (``z·sqrt(ca²·λ/T)``), never below the rate now.

    A trend extrapolated over a start-up time turns the sampling noise of a one-minute rate
    into replicas, which the scale-down window then holds for five minutes. Only a rise beyond
    ``forecast_noise_z`` standard deviations of that noise is planned for.
    """
    sd = math.sqrt(max(scv or 1.0, 1.0) * max(arrival_now, 0.0) / cfg.rate_window_seconds)
    return max(forecast - cfg.forecast_noise_z * sd, min(forecast, arrival_now))


def _rate_history(
    seen: tuple[tuple[float, float], ...], arrival: float, sample_at: float
) -> tuple[tuple[float, float], ...]:
    """The latest distinct rate samples, oldest first: up to three with this one (two are kept)."""
    if seen and seen[-1][1] >= sample_at:
        return seen
    return (*seen[-2:], (arrival, sample_at))


def _learn_scv(state: PolicyState, samples: tuple[tuple[float, float], ...], cfg: PolicyConfig) -> float | None:
    """Learned ca² after this rate sample: an EWMA of the second difference of the windowed rate.

    A rate over a window ``T`` of a renewal process with ca² counts arrivals in that window.
    Three samples ``x0, x1, x2`` at gaps ``g1, g2`` (``g1 + g2 ≤ T``) give the change of slope
    ``D = (x2 - x1)/g2 - (x1 - x0)/g1``; it counts four disjoint stretches of ``g1`` or ``g2``
    seconds (what entered and left the window over each gap), so ``Var D ≈ 2·ca²·λ·(1/g1 +
    1/g2)/T²`` and ``ca² ≈ D²·T² / (2·λ·(1/g1 + 1/g2))``. Unlike a one-step residual it is blind
    to a rate that drifts linearly (a ramp, a step seen through the window): it measures the
    index of dispersion over ``g`` seconds, the timescale of a queue that meets a latency SLO of
    seconds, not the minutes a forecast follows. Each sample is capped at ``max_arrival_scv``;
    the average is not floored here (a floor per sample would bias it up), but ``burst_factor``
    never plans for less than Poisson. The average starts from the Poisson value 1.0.
    """
    if len(samples) < 3 or samples is state.rate_seen:
        return state.arrival_scv
    (x0, t0), (x1, t1), (x2, t2) = samples
    g1, g2 = t1 - t0, t2 - t1
    mean = (x0 + x1 + x2) / 3.0
    if g1 <= 0.0 or g2 <= 0.0 or g1 + g2 > cfg.rate_window_seconds or mean <= 0.0:
        return state.arrival_scv
    change = (x2 - x1) / g2 - (x1 - x0) / g1
    window = cfg.rate_window_seconds
    spread = 2.0 * mean * (1.0 / g1 + 1.0 / g2)
    if spread <= 0.0:  # a denormal rate: the product underflows to zero, and there is nothing to learn
        return state.arrival_scv
    measured = min(change * change * window * window / spread, cfg.max_arrival_scv)
    previous = 1.0 if state.arrival_scv is None else state.arrival_scv  # a Poisson prior
    return (1.0 - cfg.burst_weight) * previous + cfg.burst_weight * measured


def _queue_history(seen: tuple[tuple[float, float], ...], sample: Sample | None) -> tuple[tuple[float, float], ...]:
    if sample is None:
        return ()
    if seen and seen[-1][1] >= sample.at:
        return seen
    return (*seen[-1:], (sample.value, sample.at))


def _saturated_arrival(
    spec: ServiceSpec,
    state: PolicyState,
    queue_seen: tuple[tuple[float, float], ...],
    ready: int,
    util: float | None,
    capacity: float | None,
    cfg: PolicyConfig,
) -> float | None:
    """Arrival rate read from a growing queue while the fleet is saturated, or None.

    A rate over a one-minute window lags a flash crowd by tens of seconds; a saturated
    fleet serves its capacity, so ``capacity + d(queue)/dt`` shows the arrivals sooner.
    Not during a precision swap, nor from a sample taken before it ended: pods reloading serve
    nothing, so the queue then grows from the swap's own capacity loss, and reading it as
    arrivals would chase a phantom surge.
    """
    if len(queue_seen) < 2 or capacity is None or util is None or util < cfg.learn_max_utilization:
        return None
    if state.swapping or state.target_precision is not None:
        return None
    (before, at), (after, now) = queue_seen
    if state.last_swap_at is not None and at <= state.last_swap_at:  # the older sample saw the swap
        return None
    if after <= before:
        return None
    served = ready * capacity * relative_throughput(spec, state.precision)
    return served + (after - before) / (now - at)


def _fresh(sample: Sample | None, max_age: float, now: float) -> float | None:
    """``Observation.fresh`` without the attribute lookup by name (this runs for every service)."""
    if sample is None or now - sample.at > max_age:
        return None
    return sample.value


def _learn(
    spec: ServiceSpec,
    state: PolicyState,
    arrival: float,
    ready: int,
    util: float | None,
    running: float | None,
    queue_seen: tuple[tuple[float, float], ...],
    cfg: PolicyConfig,
) -> tuple[float | None, float | None]:
    """Learned (capacity_ref, service_time) after this observation.

    Capacity is learned only from an unsaturated window: besides the utilisation band, the
    queue (when reported) held at most ``learn_max_queue_per_replica`` waiting requests per
    ready replica at this sample and the one before. While a queue grows the arrival rate
    exceeds what the fleet serves, and ``arrival / (ready × util)`` would credit each replica
    with the load it failed to serve (a cold start at 2 replicas under 80 req/s reads 10×).
    """
    weight = cfg.learning_weight
    capacity = state.capacity_ref
    service_time = state.service_time
    learnable = not state.swapping and state.target_precision is None and ready > 0 and arrival > 0.0
    queue_limit = cfg.learn_max_queue_per_replica * max(ready, 1)
    saturated = any(depth > queue_limit for depth, _ in queue_seen)
    tp = relative_throughput(spec, state.precision)
    if (
        learnable
        and not saturated
        and util is not None
        and cfg.learn_min_utilization <= util <= cfg.learn_max_utilization
    ):
        measured = arrival / (ready * util) / tp
        capacity = measured if capacity is None else (1.0 - weight) * capacity + weight * measured
    elif learnable and capacity is None and util is not None and util >= cfg.learn_max_utilization:
        capacity = _saturated_capacity(queue_seen, arrival, ready, tp)
    if arrival > 0.0 and running is not None and running > 0.0:
        measured_s = running / arrival
        service_time = measured_s if service_time is None else (1.0 - weight) * service_time + weight * measured_s
    return capacity, service_time


def _saturated_capacity(
    queue_seen: tuple[tuple[float, float], ...], arrival: float, ready: int, throughput: float
) -> float | None:
    """A first capacity from a saturated fleet: it serves what arrives less what the queue gains.

    Only when nothing is learned yet (a service that starts under more load than it carries):
    the rate window and the queue's growth cover different spans, so this is a bootstrap that
    the unsaturated windows replace, never an update of a learned value.
    """
    if len(queue_seen) < 2:
        return None
    (before, at), (after, now) = queue_seen
    if now <= at:
        return None
    served = arrival - max(after - before, 0.0) / (now - at)
    return served / ready / throughput if served > 0.0 else None
