"""Token-level capacity of an LLM server: TTFT and ITL from prefill and decode work.

A request-rate model treats every request alike; an LLM request costs its prompt (prefill) and
its output (decode) in tokens, and a shift from short chats to long documents halves a
replica's capacity at the same request rate. This module sizes a service that declares
``spec.slo.ttft`` or ``spec.slo.itl`` on token work instead.

The model, per replica, for a continuous-batching server (vLLM, SGLang, TGI, TensorRT-LLM).
A scheduler step runs the decode of every request in the batch plus a share of waiting
prefill; its length is ``d0 + Σ(d1 + e·held) + a·(prefill tokens in the step)``, with ``held``
the KV tokens a sequence holds (attention reads them). At ``λ`` requests/s per replica with ``I``
uncached prompt tokens (the prefix cache discounts the rest) and ``O`` output tokens each, the
share of step time spent on marginal token work is

    u = λ·(I·a + O·(d1 + e·(prompt + O/2)))        (the replica's token-work utilisation)

and, since each request stays in the batch for ``O`` steps (Little's law), the step time is

    ITL = d0 / (1 − u).

Time to first token is the prefill of the request itself, stretched by the work around it and
by the wait for a free slot; both grow like ``1/(1 − u)`` on token work, so

    TTFT = (τb + τa·I) / (1 − u).

Each is learned online from the measured quantiles (so the fit is of the quantile the SLO
states, not the mean): ``ITL = d0 + (ITL·p)·a + (ITL·g)·d1`` is linear in ``(d0, a, d1)``, with
``p`` and ``g`` the per-replica uncached prompt and generated token rates; it is fitted by
recursive least squares with a forgetting factor, started from declared priors. ``TTFT·(1 − u)``
over the prior ``τb + τa·I`` is one scale, learned as an exponentially weighted mean of its
logarithm (prompts of one length cannot tell ``τb`` from ``τa``). Both learn only from unsaturated windows (no
admission queue to speak of, KV cache not full, ``u`` below 1), so a backlog is never read as a
slow server. Costs are normalised to relative throughput 1.0 like the request model's capacity,
so what is learned at one precision carries to the others.

The KV cache bounds the batch: ``batch·(prompt + output/2) ≤ kv_target·K`` tokens, with ``K``
learned from the reported usage. Replicas for each objective follow in closed form; the largest
binds, and the reasons name it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from governor.model.spec import Precision, ServiceSpec
from governor.policy.config import PolicyConfig, TokenPriors

# Parameters are learned relative to their priors (1.0 = the prior), so one scale suits all.
# Prior variance of each relative parameter of the decode law (d0, a, d1, e): the step time is
# measured at every load, so its prior is trusted to about ±20 %; the per-token costs to about ±50 %.
_P0 = (0.04, 0.25, 0.25, 0.25)
_NOISE = 0.05  # relative noise of one measured quantile over a rate window (about 5 %)
_MIN_RELATIVE, _MAX_RELATIVE = 0.05, 20.0  # a learned cost stays within 1/20 and 20× its prior


def priors_for(spec: ServiceSpec, precision: Precision, default: TokenPriors) -> TokenPriors:
    """The token model's priors at relative throughput 1.0, from the variant served.

    A variant's declared ``tokenCosts`` are its own (absolute) costs; times its relative
    throughput they are the reference costs the model works in. A cost it leaves out takes the
    engine's default, as does every cost of a variant that declares none.
    """
    variant = next((v for v in spec.precision.variants if v.precision == precision), None)
    declared = variant.token_costs if variant is not None else None
    if variant is None or declared is None:
        return default
    tp = variant.relative_throughput

    def ref(value: float | None, unit: float, fallback: float) -> float:
        return fallback if value is None else value * unit * tp

    return TokenPriors(
        step_seconds=ref(declared.step_ms, 1e-3, default.step_seconds),
        prefill_seconds_per_token=ref(declared.prefill_us_per_token, 1e-6, default.prefill_seconds_per_token),
        decode_seconds_per_token=ref(declared.decode_us_per_sequence, 1e-6, default.decode_seconds_per_token),
        attention_seconds_per_kv_token=ref(
            declared.attention_ns_per_kv_token, 1e-9, default.attention_seconds_per_kv_token
        ),
        ttft_base_seconds=ref(declared.ttft_base_ms, 1e-3, default.ttft_base_seconds),
        ttft_seconds_per_token=ref(declared.ttft_us_per_token, 1e-6, default.ttft_seconds_per_token),
        kv_tokens=declared.kv_tokens if declared.kv_tokens is not None else default.kv_tokens,
    )


@dataclass(frozen=True)
class Fit:
    """Recursive least squares of a linear model in parameters relative to their priors."""

    theta: tuple[float, ...]  # relative parameters, 1.0 = the prior
    cov: tuple[float, ...]  # covariance, row-major n×n

    @classmethod
    def prior(cls, n: int) -> Fit:
        return cls((1.0,) * n, tuple(_P0[i] if i == j else 0.0 for i in range(n) for j in range(n)))

    def predict(self, x: tuple[float, ...]) -> float:
        return sum(t * v for t, v in zip(self.theta, x, strict=True))

    def update(self, x: tuple[float, ...], y: float, forget: float) -> Fit:
        """One RLS step on ``y ≈ θ·x``; the covariance is capped at the prior's (no wind-up)."""
        n = len(self.theta)
        p = self.cov
        px = [sum(p[i * n + j] * x[j] for j in range(n)) for i in range(n)]
        s = (_NOISE * y) ** 2 + sum(x[i] * px[i] for i in range(n))
        if not s > 0.0 or not math.isfinite(s):
            return self
        gain = [v / s for v in px]
        err = y - self.predict(x)
        theta = tuple(
            min(max(t + g * err, _MIN_RELATIVE), _MAX_RELATIVE) for t, g in zip(self.theta, gain, strict=True)
        )
        cov = [(p[i * n + j] - gain[i] * px[j]) / forget for i in range(n) for j in range(n)]
        for i in range(n):
            if cov[i * n + i] > _P0[i]:  # a direction the data does not excite: stay near the prior's spread
                scale = math.sqrt(_P0[i] / cov[i * n + i])
                for j in range(n):
                    cov[i * n + j] *= scale
                    cov[j * n + i] *= scale
        if not all(math.isfinite(v) for v in (*theta, *cov)):
            return self
        return Fit(theta, tuple(cov))


@dataclass(frozen=True)
class Load:
    """The token shape of the traffic now, per request (means over the rate window)."""

    prompt_tokens: float  # I + cached: what occupies the KV cache
    uncached_tokens: float  # I: what is prefilled
    output_tokens: float  # O

    @property
    def held(self) -> float:
        """KV tokens a decoding sequence holds on average: its prompt and half its output."""
        return self.prompt_tokens + self.output_tokens / 2.0


@dataclass(frozen=True)
class TokenModel:
    """What the token model has learned of one service (persisted in ``PolicyState``)."""

    decode: Fit = field(default_factory=lambda: Fit.prior(4))  # (d0, a, d1, e) relative to the priors
    ttft: float = 1.0  # (τb, τa) relative to the priors: one scale, learned as a log-EWMA
    kv_tokens: float | None = None  # learned KV capacity of one replica in tokens
    samples: int = 0  # unsaturated windows learned from
    load: Load | None = None  # the token shape last seen (kept while traffic is idle)
    learned_at: float | None = None  # the sample time of the last window learned from (each once)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decode": [list(self.decode.theta), list(self.decode.cov)],
            "ttft": self.ttft,
            "kvTokens": self.kv_tokens,
            "samples": self.samples,
            "load": None
            if self.load is None
            else [self.load.prompt_tokens, self.load.uncached_tokens, self.load.output_tokens],
            "learnedAt": self.learned_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenModel:
        def fit(raw: Any, n: int) -> Fit:
            theta, cov = raw
            if len(theta) != n or len(cov) != n * n:
                raise ValueError(f"token model fit needs {n} parameters")
            return Fit(tuple(float(v) for v in theta), tuple(float(v) for v in cov))

        kv = data.get("kvTokens")
        raw_load = data.get("load")
        load = None if raw_load is None else Load(*(float(v) for v in raw_load))
        learned_at = data.get("learnedAt")
        return cls(
            fit(data["decode"], 4),
            float(data["ttft"]),
            None if kv is None else float(kv),
            int(data["samples"]),
            load,
            None if learned_at is None else float(learned_at),
        )


@dataclass(frozen=True)
class Costs:
    """Learned costs at relative throughput 1.0, in seconds (per token where it says so)."""

    step: float
    prefill: float
    decode: float
    attention: float  # e: step seconds per KV token a sequence holds
    ttft_base: float
    ttft_per_token: float
    kv_tokens: float | None

    def work(self, load: Load) -> float:
        """GPU seconds of marginal token work per request at relative throughput 1.0."""
        return load.uncached_tokens * self.prefill + load.output_tokens * (self.decode + self.attention * load.held)


def costs(model: TokenModel, priors: TokenPriors) -> Costs:
    d0, a, d1, e = model.decode.theta
    return Costs(
        d0 * priors.step_seconds,
        a * priors.prefill_seconds_per_token,
        d1 * priors.decode_seconds_per_token,
        e * priors.attention_seconds_per_kv_token,
        model.ttft * priors.ttft_base_seconds,
        model.ttft * priors.ttft_seconds_per_token,
        model.kv_tokens if model.kv_tokens is not None else priors.kv_tokens,
    )


@dataclass(frozen=True)
class Window:
    """One observation's token signals, per replica (``None`` where a signal is missing)."""

    per_replica_rate: float  # requests/s
    load: Load
    itl_s: float | None
    ttft_s: float | None
    queue_wait_s: float | None
    running_per_replica: float | None
    kv_usage_mean: float | None
    kv_usage_max: float | None


def learn(
    model: TokenModel, window: Window, throughput: float, priors: TokenPriors, spec: ServiceSpec, cfg: PolicyConfig
) -> TokenModel:
    """``model`` after one window, or unchanged when the window is saturated or says too little.

    Saturated: the KV cache of the fullest replica above ``token_learn_max_kv``; an admission
    wait above ``token_learn_max_wait_share`` of the TTFT, or of the TTFT objective; a TTFT above
    its objective (a backlog of prompts, not the prefill law); or a token-work utilisation (by the
    model so far) above ``token_learn_max_utilization``.
    """
    lam = window.per_replica_rate
    if lam <= 0.0 or throughput <= 0.0:
        return model
    if window.kv_usage_max is not None and window.kv_usage_max > cfg.token_learn_max_kv:
        return model
    wait, ttft_now = window.queue_wait_s, window.ttft_s
    share = cfg.token_learn_max_wait_share
    if wait is not None and ttft_now is not None and wait > share * ttft_now:
        return model
    ttft_objective = spec.slo.ttft.ms / 1000.0 if spec.slo.ttft is not None else None
    if ttft_objective is not None and (
        (ttft_now is not None and ttft_now > ttft_objective) or (wait is not None and wait > share * ttft_objective)
    ):
        return model
    load = window.load
    p = lam * load.uncached_tokens  # uncached prompt tokens/s per replica
    g = lam * load.output_tokens  # generated tokens/s per replica
    decode = model.decode
    if window.itl_s is not None and window.itl_s > 0.0:
        itl = window.itl_s * throughput  # at relative throughput 1.0
        scale = spec.slo.itl.ms / 1000.0 if spec.slo.itl is not None else priors.step_seconds * 4.0
        x = (
            priors.step_seconds / scale,
            itl * p * priors.prefill_seconds_per_token / throughput / scale,
            itl * g * priors.decode_seconds_per_token / throughput / scale,
            itl * g * load.held * priors.attention_seconds_per_kv_token / throughput / scale,
        )
        decode = decode.update(x, itl / scale, cfg.token_forgetting)
    learned = replace(model, decode=decode)
    u = utilisation(costs(learned, priors), load, lam, throughput)
    if u >= cfg.token_learn_max_utilization:
        return model
    ttft = model.ttft
    if window.ttft_s is not None and window.ttft_s > 0.0:
        prior = priors.ttft_base_seconds + priors.ttft_seconds_per_token * load.uncached_tokens
        measured = window.ttft_s * throughput * (1.0 - u) / prior
        if measured > 0.0:
            w = cfg.learning_weight
            ttft = min(max(math.exp((1.0 - w) * math.log(ttft) + w * math.log(measured)), _MIN_RELATIVE), _MAX_RELATIVE)
    kv = model.kv_tokens
    usage, running = window.kv_usage_mean, window.running_per_replica
    if usage is not None and running is not None and 0.05 <= usage <= cfg.token_learn_max_kv and running > 0.0:
        measured = running * (load.prompt_tokens + load.output_tokens / 2.0) / usage
        kv = measured if kv is None else (1.0 - cfg.learning_weight) * kv + cfg.learning_weight * measured
    return TokenModel(decode, ttft, kv, model.samples + 1, model.load, model.learned_at)


def utilisation(c: Costs, load: Load, per_replica_rate: float, throughput: float) -> float:
    """Token-work utilisation ``u`` of one replica at ``per_replica_rate`` requests/s."""
    return per_replica_rate * c.work(load) / throughput


def sustainable_rate(c: Costs, load: Load, itl_s: float, throughput: float = 1.0) -> float:
    """Requests/s one replica carries with its ITL at ``itl_s`` (``u = 1 − d0/S``): the capacity estimate."""
    work = c.work(load) / throughput
    headroom = 1.0 - c.step / throughput / itl_s if itl_s > 0.0 else 0.0
    return max(headroom, 0.0) / work if work > 0.0 else 0.0


@dataclass(frozen=True)
class TokenNeed:
    """Replicas each token objective asks for at one precision, and what one replica carries."""

    ttft: int | None  # None: no TTFT objective
    itl: int | None
    kv: int | None  # None: KV usage not reported (nothing learned, no prior applies)
    per_replica_capacity: float  # requests/s one replica carries within every declared objective

    def as_recommendations(self) -> dict[str, int]:
        return {k: v for k, v in (("ttft", self.ttft), ("itl", self.itl), ("kv-cache", self.kv)) if v is not None}

    @property
    def replicas(self) -> int | None:
        values = [v for v in (self.ttft, self.itl, self.kv) if v is not None]
        return max(values) if values else None


def need(
    spec: ServiceSpec,
    c: Costs,
    load: Load,
    arrival: float,
    throughput: float,
    kv_known: bool,
    limit: int,
    cfg: PolicyConfig,
    margin: float | None = None,
) -> TokenNeed:
    """Replicas for ``arrival`` requests/s at a precision of relative ``throughput``.

    Each objective caps the utilisation: ITL ≤ S allows ``u ≤ 1 − d0/S`` and TTFT ≤ S allows
    ``u ≤ 1 − τ(I)/S`` (costs divided by ``throughput``). The plan uses ``m`` of that headroom
    (``token_slo_margin``: the load may grow by ``1/m`` before the objective breaches, which a
    step of load needs while new replicas start), and never passes ``token_max_utilization``.
    An objective that a request alone misses (no headroom left at any load: very long prompts
    against the TTFT) cannot be bought with replicas; it is sized at the utilisation cap.
    """
    slo = spec.slo
    share = cfg.token_slo_margin if margin is None else margin
    work = c.work(load) / throughput
    caps: list[float] = [cfg.token_max_utilization]
    ttft_need = itl_need = None
    if slo.itl is not None:
        cap = _cap(c.step / throughput, slo.itl.ms / 1000.0, share, cfg)
        itl_need = _replicas(arrival, work, cap, limit)
        caps.append(cap)
    if slo.ttft is not None:
        base = (c.ttft_base + c.ttft_per_token * load.uncached_tokens) / throughput
        cap = _cap(base, slo.ttft.ms / 1000.0, share, cfg)
        ttft_need = _replicas(arrival, work, cap, limit)
        caps.append(cap)
    kv_need = None
    if kv_known and c.kv_tokens is not None and c.kv_tokens > 0.0 and load.output_tokens > 0.0:
        held = load.held  # tokens one request holds, on average
        # batch(λ) = λ·O·ITL(λ) with ITL = d0/(1 − λ·w); batch·held ≤ κ·K solved for λ
        kappa = cfg.token_kv_target
        per = kappa / (load.output_tokens * c.step / throughput * held / c.kv_tokens + kappa * work)
        kv_need = min(max(math.ceil(arrival / per - 1e-9), 1), limit) if per > 0.0 else limit
    cap = min(caps)
    capacity = cap / work if work > 0.0 and cap > 0.0 else 0.0
    return TokenNeed(ttft_need, itl_need, kv_need, capacity)


def _cap(no_load: float, objective: float, share: float, cfg: PolicyConfig) -> float:
    """The planned utilisation for an objective whose latency is ``no_load / (1 − u)``."""
    headroom = 1.0 - no_load / objective if objective > 0.0 else 0.0
    if headroom <= cfg.token_min_headroom:  # replicas cannot buy it: size at the utilisation cap
        headroom = 1.0
    return min(share * headroom, cfg.token_max_utilization)


def _replicas(arrival: float, work: float, cap: float, limit: int) -> int:
    if cap <= 0.0:
        return limit
    return min(max(math.ceil(arrival * work / cap - 1e-9), 1), limit)
