"""The token-level capacity model: what it learns, what it refuses to learn, and what it asks for.

A synthetic server follows the model's own law with costs different from the priors (so a
test passes only if learning works): ``ITL = d0/(1 − u)``, ``TTFT = (τb + τa·I)/(1 − u)`` with
``u = λ·(I·a + O·d1)`` per replica, KV usage ``batch·(prompt + output/2)/K``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from governor.model.observation import Observation, Sample
from governor.model.spec import Precision, ServiceSpec, SLOSpec, TokenCosts, TokenLatencySLO, Variant
from governor.policy import PolicyConfig, PolicyState, decide, tokens
from governor.policy.config import DEFAULT_TOKEN_PRIORS
from tests.unit.policy.helpers import service

CFG = PolicyConfig()
TRUE = tokens.Costs(
    step=0.024, prefill=1.1e-4, decode=1.5e-4, attention=3e-8, ttft_base=0.08, ttft_per_token=3e-4, kv_tokens=300_000.0
)
TOKEN_SLO = SLOSpec(
    latency_declared=False, objective=0.95, ttft=TokenLatencySLO(3000.0, 0.9), itl=TokenLatencySLO(100.0, 0.9)
)


def _spec() -> ServiceSpec:
    return replace(service(auto=False, gpu_target=None, max_replicas=40), slo=TOKEN_SLO)


def _server(rate: float, ready: int, prompt: float, output: float, hit: float = 0.0) -> dict[str, float]:
    lam = rate / ready
    load = tokens.Load(prompt, prompt * (1.0 - hit), output)
    u = tokens.utilisation(TRUE, load, lam, 1.0)
    itl = TRUE.step / (1.0 - u)
    ttft = (TRUE.ttft_base + TRUE.ttft_per_token * load.uncached_tokens) / (1.0 - u)
    batch = lam * output * itl
    kv = batch * (prompt + output / 2.0) / (TRUE.kv_tokens or 1.0)
    return {"u": u, "itl": itl, "ttft": ttft, "batch": batch, "kv": kv}


def _obs(at: float, rate: float, ready: int, prompt: float, output: float, hit: float = 0.0, **over: float):
    world = _server(rate, ready, prompt, output, hit)
    values = {
        "request_rate": rate,
        "ready_replicas": float(ready),
        "prompt_tokens_rate": rate * prompt,
        "generation_tokens_rate": rate * output,
        "prefix_cache_hit_ratio": hit,
        "itl_ms": world["itl"] * 1000.0,
        "ttft_ms": world["ttft"] * 1000.0,
        "queue_wait_ms": 0.0,
        "running_requests": world["batch"] * ready,
        "queue_depth": 0.0,
        "kv_cache_usage_mean": world["kv"],
        "kv_cache_usage_max": world["kv"],
        "goodput_attainment": 1.0,
    } | over
    return Observation(at=at, source="test", **{k: Sample(v, at) for k, v in values.items()})  # type: ignore[arg-type]


def _run(spec, state: PolicyState, shapes: list[tuple[float, float, float]], ready: int, start: float = 0.0):  # type: ignore[no-untyped-def]
    """Feed one observation per 10 s, each (rate, prompt, output); returns the last decision and state."""
    decision = None
    for i, (rate, prompt, output) in enumerate(shapes):
        now = start + 10.0 * i
        state = state.observed(ready, state.precision)
        decision, state = decide(spec, _obs(now, rate, ready, prompt, output), state, now, CFG)
    return decision, state


def _true_capacity(prompt: float, output: float, cap: float) -> float:
    return cap / TRUE.work(tokens.Load(prompt, prompt, output))


def test_learning_recovers_the_servers_costs_from_varied_load() -> None:
    spec = _spec()
    state = PolicyState.initial(6, spec.precision.preferred)
    shapes = [(3.0 + (i % 5), 2000.0 + 700.0 * (i % 4), 300.0 + 150.0 * (i % 3)) for i in range(60)]
    _, state = _run(spec, state, shapes, ready=6)
    assert state.token_model is not None and state.token_model.samples >= 50
    learned = tokens.costs(state.token_model, DEFAULT_TOKEN_PRIORS)
    load = tokens.Load(4000.0, 4000.0, 1000.0)
    assert learned.work(load) == pytest.approx(TRUE.work(load), rel=0.1)
    assert learned.step == pytest.approx(TRUE.step, rel=0.15)
    assert learned.kv_tokens == pytest.approx(TRUE.kv_tokens, rel=0.05)


def test_capacity_estimate_follows_a_shift_in_lengths_within_five_minutes() -> None:
    spec = _spec()
    state = PolicyState.initial(6, spec.precision.preferred)
    chats = [(3.0 + (i % 3), 1000.0 + 300.0 * (i % 2), 200.0 + 60.0 * (i % 3)) for i in range(40)]
    _, state = _run(spec, state, chats, 6)
    # the traffic moves to long documents: 4× the prompt, 3× the output
    shifted = [(2.0 + 0.5 * (i % 2), 4000.0, 700.0) for i in range(30)]
    decision, state = _run(spec, state, shifted, 6, start=400.0)
    assert decision is not None
    learned = tokens.costs(state.token_model, DEFAULT_TOKEN_PRIORS)  # type: ignore[arg-type]
    estimate = 1.0 / learned.work(tokens.Load(4000.0, 4000.0, 700.0))
    assert estimate == pytest.approx(1.0 / TRUE.work(tokens.Load(4000.0, 4000.0, 700.0)), rel=0.1)


def test_a_saturated_window_teaches_nothing() -> None:
    spec = _spec()
    state = PolicyState.initial(4, spec.precision.preferred)
    _, state = _run(spec, state, [(2.0, 3000.0, 500.0)] * 5, 4)
    before = state.token_model
    assert before is not None
    # the KV cache is full and requests wait for admission: the measured TTFT is a backlog
    now = 100.0
    for kv, wait in ((0.99, 100.0), (0.5, 9000.0)):
        obs = _obs(now, 6.0, 4, 3000.0, 500.0, kv_cache_usage_max=kv, queue_wait_ms=wait, ttft_ms=12000.0)
        _, after = decide(spec, obs, state.observed(4, state.precision), now, CFG)
        assert after.token_model is not None
        assert after.token_model.samples == before.samples
        assert after.token_model.ttft == before.ttft and after.token_model.decode == before.decode


def test_the_binding_objective_sets_the_count_and_is_named() -> None:
    load = tokens.Load(4000.0, 4000.0, 1000.0)
    tight_itl = replace(TOKEN_SLO, itl=TokenLatencySLO(40.0, 0.9))
    need = tokens.need(replace(_spec(), slo=tight_itl), TRUE, load, 8.0, 1.0, False, 160, CFG)
    loose = tokens.need(_spec(), TRUE, load, 8.0, 1.0, False, 160, CFG)
    assert need.itl is not None and loose.itl is not None and need.itl > loose.itl
    assert need.replicas == need.itl  # a tight ITL binds
    # long prompts: the same prompts 80 % cached need less prefill, so fewer replicas for the TTFT
    long_prompt = tokens.Load(30_000.0, 30_000.0, 200.0)
    cached = tokens.Load(30_000.0, 6_000.0, 200.0)
    cold = tokens.need(_spec(), TRUE, long_prompt, 2.0, 1.0, False, 160, CFG)
    warm = tokens.need(_spec(), TRUE, cached, 2.0, 1.0, False, 160, CFG)
    assert cold.ttft is not None and warm.ttft is not None and warm.ttft < cold.ttft
    assert warm.replicas is not None and cold.replicas is not None and warm.replicas <= cold.replicas


def test_a_faster_precision_needs_fewer_replicas_and_the_kv_bound_applies_when_reported() -> None:
    load = tokens.Load(4000.0, 4000.0, 1000.0)
    bf16 = tokens.need(_spec(), TRUE, load, 8.0, 1.0, False, 160, CFG)
    int4 = tokens.need(_spec(), TRUE, load, 8.0, 2.0, False, 160, CFG)
    assert bf16.replicas is not None and int4.replicas is not None and int4.replicas < bf16.replicas
    small_kv = replace(TRUE, kv_tokens=60_000.0)
    bounded = tokens.need(_spec(), small_kv, load, 8.0, 1.0, True, 160, CFG)
    assert bounded.kv is not None and bounded.replicas == bounded.kv > bf16.replicas  # type: ignore[operator]


def test_decide_sizes_token_objectives_and_says_which_binds() -> None:
    spec = _spec()
    state = PolicyState.initial(3, spec.precision.preferred)
    decision, state = _run(spec, state, [(2.0, 4000.0, 1000.0)] * 12 + [(6.0, 4000.0, 1000.0)] * 3, 3)
    assert decision is not None
    assert "latency" not in decision.recommendations  # latencyMs is not declared: not judged
    assert {"ttft", "itl"} <= decision.recommendations.keys()
    binding = max(("ttft", "itl", "kv-cache"), key=lambda k: decision.recommendations.get(k, 0))
    words = {"ttft": "TTFT SLO", "itl": "ITL SLO", "kv-cache": "KV-cache"}[binding]
    assert any(words in r and "binds" in r for r in decision.reasons)
    needed = decision.recommendations[binding]
    lam_true = _true_capacity(4000.0, 1000.0, 0.7)
    assert needed >= 6.0 / lam_true - 1  # enough true capacity for 6 req/s at 70 % token work
    assert decision.replicas > 3


def test_without_token_objectives_or_with_the_model_off_nothing_changes() -> None:
    spec = _spec()
    state = PolicyState.initial(3, spec.precision.preferred)
    off = PolicyConfig(token_model=False)
    obs = _obs(0.0, 3.0, 3, 4000.0, 1000.0)
    decision, after = decide(spec, obs, state, 0.0, off)
    assert after.token_model is None and not {"ttft", "itl", "kv-cache"} & decision.recommendations.keys()
    plain = service()
    decision, after = decide(plain, obs, PolicyState.initial(3, plain.precision.preferred), 0.0, CFG)
    assert after.token_model is None and "ttft" not in decision.recommendations


def test_the_learned_model_survives_a_restart() -> None:
    spec = _spec()
    _, state = _run(spec, PolicyState.initial(6, spec.precision.preferred), [(4.0, 3000.0, 600.0)] * 8, 6)
    restored = PolicyState.from_dict(state.to_dict())
    assert restored.token_model == state.token_model


def test_a_variants_declared_costs_are_the_priors_and_a_slower_variant_needs_more_replicas() -> None:
    declared = TokenCosts(step_ms=40.0, prefill_us_per_token=100.0, decode_us_per_sequence=200.0)
    base = _spec()
    slow = replace(base, precision=replace(base.precision, variants=(Variant(Precision.BF16, token_costs=declared),)))
    priors = tokens.priors_for(slow, Precision.BF16, DEFAULT_TOKEN_PRIORS)
    assert priors.step_seconds == pytest.approx(0.040) and priors.prefill_seconds_per_token == pytest.approx(1e-4)
    assert priors.attention_seconds_per_kv_token == DEFAULT_TOKEN_PRIORS.attention_seconds_per_kv_token  # not declared
    assert tokens.priors_for(base, Precision.BF16, DEFAULT_TOKEN_PRIORS) == DEFAULT_TOKEN_PRIORS
    # fp8 at relative throughput 1.6 declaring its own (absolute) costs: times 1.6 at the reference
    fp8 = replace(base, precision=replace(base.precision, variants=(
        Variant(Precision.FP8, relative_throughput=1.6, token_costs=TokenCosts(step_ms=10.0)),
    )))  # fmt: skip
    assert tokens.priors_for(fp8, Precision.FP8, DEFAULT_TOKEN_PRIORS).step_seconds == pytest.approx(0.016)
    # the same traffic on the slower declared variant: the first decision already sizes for it
    obs = _obs(0.0, 4.0, 4, 4000.0, 1000.0)
    fast_decision, _ = decide(base, obs, PolicyState.initial(4, Precision.BF16), 0.0, CFG)
    slow_decision, _ = decide(slow, obs, PolicyState.initial(4, Precision.BF16), 0.0, CFG)
    assert slow_decision.recommendations["itl"] > fast_decision.recommendations["itl"]
