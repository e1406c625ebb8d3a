"""Tunable constants of the decision engine, in one frozen object.

They are not part of the InferenceService spec: they describe how Governor reasons (how
stale a metric may be, how fast the forecast reacts, what counts as headroom), not what a
service needs. The defaults are the ones the simulator scenarios were tuned with.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TokenPriors:
    """Declared costs of one replica at relative throughput 1.0 (seconds and tokens)."""

    step_seconds: float  # d0: a decode step with nothing else to do
    prefill_seconds_per_token: float  # a: GPU seconds per uncached prompt token
    decode_seconds_per_token: float  # d1: marginal step seconds per request in the batch
    attention_seconds_per_kv_token: float  # e: step seconds per KV token a request in the batch holds
    ttft_base_seconds: float  # τb: TTFT of a request with no prompt at no load
    ttft_seconds_per_token: float  # τa: TTFT per uncached prompt token at no load
    kv_tokens: float  # K: KV-cache capacity of one replica in tokens
    # Per-precision priors are these divided by the variant's relative throughput.


# A bf16 replica of the simulator's token physics (docs/simulation.md, token mode; about 1.45 req/s
# at a 4000-token prompt and 1000-token output within TTFT 3 s and ITL 100 ms at P90). On a real
# fleet these come from a load test of the variant; the model learns the difference online.
DEFAULT_TOKEN_PRIORS = TokenPriors(
    step_seconds=0.02,
    prefill_seconds_per_token=5e-5,
    decode_seconds_per_token=1e-4,
    attention_seconds_per_kv_token=5e-8,
    ttft_base_seconds=0.03,
    ttft_seconds_per_token=7e-5,
    kv_tokens=900_000.0,
)


@dataclass(frozen=True)
class PolicyConfig:
    # A signal older than this (seconds, measured from the end of its rate window) is stale.
    max_signal_age_seconds: float = 60.0
    # Holt linear-trend smoothing of the effective arrival rate (per observation).
    forecast_alpha: float = 0.7
    forecast_beta: float = 0.3
    # The trend is damped: a forecast never exceeds this multiple of the current rate.
    forecast_max_growth: float = 4.0
    # Extra look-ahead on top of the replica start-up time (metrics lag, actuation delay).
    forecast_extra_seconds: float = 30.0
    # EWMA weight for learning per-replica capacity and service time from each observation.
    learning_weight: float = 0.3
    # Capacity is learned only while the GPU is at least this busy and not saturated.
    learn_min_utilization: float = 0.1
    learn_max_utilization: float = 0.92
    # ... and only while the queue (when reported) holds at most this many waiting requests per
    # ready replica, now and at the sample before: a growing queue means a saturated window.
    learn_max_queue_per_replica: float = 1.0
    # Queued requests are planned to drain within this many seconds (at most startup_seconds).
    backlog_drain_seconds: float = 60.0
    # Erlang C search stops at this multiple of maxReplicas (enough to say "needs 40 > 16").
    search_limit_factor: int = 4
    # Precision ladder: step up only if the higher precision would run below this share of
    # its capacity at maxReplicas, sustained for `headroom_seconds`.
    step_up_utilization: float = 0.7
    headroom_seconds: float = 300.0
    # After a swap completes, wait this long before another step down (metrics catch up).
    step_down_settle_seconds: float = 10.0
    # Below maxReplicas, a swap is taken instead of waiting for new replicas only when the
    # arrival rate exceeds ready capacity by this factor and the swap relieves sooner.
    swap_deficit_factor: float = 1.25
    # ... and only when the pods ready now would carry this share of the load at the lower
    # precision (a swap that leaves the fleet far short only adds a reload and a step back up).
    swap_relief_share: float = 0.8
    # Seconds an in-place swap keeps one pod out of service (Triton model-control reload).
    in_place_swap_seconds: float = 20.0
    max_swaps_per_hour: int = 4
    # A step down skips a rung only when that rung cannot carry the load at maxReplicas. For a
    # rolling swap (a pod restart each) "carry" means the need fits within this share of
    # maxReplicas, so a second rolling swap is rarely needed; in place it is all of maxReplicas.
    rolling_fit_share: float = 0.8
    # The same for an in-place swap: a rung carries the load when its need fits this share of
    # maxReplicas, leaving room for the burst that a forecast made on the way up underestimates.
    in_place_fit_share: float = 0.9
    # A rolling swap at maxReplicas restarts at most this share of the fleet at once: the rest keeps
    # serving (taking every pod out turns a latency breach into an outage).
    rolling_max_unavailable_share: float = 0.5
    # A swap asked for but not reported as under way this long after (refused, cancelled, rolled
    # back) is forgotten, so the engine stops asking for a swap nobody is doing.
    swap_start_grace_seconds: float = 30.0
    # Burstiness (G/G/c): the request rate is a mean over this window (the metrics' rate window);
    # ca² is learned from second differences of the rate samples with this EWMA weight, capped here.
    rate_window_seconds: float = 60.0
    burst_weight: float = 0.1
    max_arrival_scv: float = 35.0
    # After the observed latency has met the SLO for `calm_seconds`, the forecast plans only
    # for a rise beyond `forecast_noise_z` standard deviations of a rate sample's noise.
    calm_seconds: float = 600.0
    forecast_noise_z: float = 2.0
    # While the observed latency meets the SLO, the GPU-utilisation signal only guards against
    # saturation: it counts at this utilisation instead of the spec's (lower) target.
    gpu_guard_utilization: float = 0.9
    # ... lowered by this much per doubling of the learned arrival ca² above Poisson (bursty load
    # arrives in clumps that only spare capacity absorbs), never below the minimum.
    gpu_guard_burst_step: float = 0.05
    gpu_guard_min_utilization: float = 0.7
    # History kept in state (recommendations, scale events, swaps).
    history_seconds: float = 3600.0
    # Token objectives (spec.slo.ttft / itl): size on the token-level capacity model
    # (policy/tokens.py) when the SLO declares them; False: the request-rate model only.
    token_model: bool = True
    token_priors: TokenPriors = DEFAULT_TOKEN_PRIORS
    # Plan each token objective (TTFT, ITL) at this share of the utilisation headroom it allows
    # (u ≤ 1 − no-load latency / objective; the load may then grow by 1/share before it breaches),
    # never past this token-work utilisation (u = λ·(prompt·a + output·d1)). An objective with less
    # headroom than the minimum even at no load cannot be met with replicas and does not size.
    # The KV cache is planned to its share of capacity.
    token_slo_margin: float = 0.85
    token_max_utilization: float = 0.92
    token_min_headroom: float = 0.1
    token_kv_target: float = 0.9
    # Learn token costs only from unsaturated windows: the fullest KV cache at most this share,
    # an admission wait at most this share of the TTFT, and the modelled utilisation below this.
    token_learn_max_kv: float = 0.95
    token_learn_max_wait_share: float = 0.5
    token_learn_max_utilization: float = 0.95
    # Forgetting factor of the token costs' recursive least squares, per observation
    # (0.99 at a 10 s tick: about 15 minutes of memory, so a new model or server version is relearned).
    token_forgetting: float = 0.99


DEFAULT_CONFIG = PolicyConfig()
