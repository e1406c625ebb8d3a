"""Token mode: physics properties that a wrong model would break, calibration, the llm-d law, determinism."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np
import pytest

from governor.model.observation import Observation, Sample
from governor.model.spec import Precision
from governor.sim.arrivals import read_trace
from governor.sim.baselines import StaticController
from governor.sim.control import Command, SimView, Truth
from governor.sim.hpa import HpaBehavior
from governor.sim.policies import TOKEN_POLICIES, build_token_controller
from governor.sim.scenarios import MOONCAKE_TRACE
from governor.sim.tokens.baselines import SloRatioController
from governor.sim.tokens.calibration import PUBLISHED_RATE_PER_REPLICA, probe, sustainable_rate
from governor.sim.tokens.engine import simulate_tokens
from governor.sim.tokens.physics import TokenPhysics
from governor.sim.tokens.replica import PrefixCache
from governor.sim.tokens.result import TokenRunResult, summarize_tokens
from governor.sim.tokens.scenario import TokenScenario
from governor.sim.tokens.scenarios import LLMD_BEHAVIOR, constant, llmd_staged_ramp, token_spec
from governor.sim.tokens.workload import TokenRequests

TOKEN_FIELDS = (
    "ttft_ms", "itl_ms", "ttft_attainment", "itl_attainment", "goodput_attainment", "queue_wait_ms",
    "prompt_tokens_rate", "generation_tokens_rate", "prefix_cache_hit_ratio", "kv_cache_usage_mean",
    "kv_cache_usage_max", "request_rate", "queue_depth", "running_requests", "gpu_utilization_mean",
    "latency_p99_ms", "ready_replicas",
)  # fmt: skip


def static_run(scenario: TokenScenario, replicas: int) -> TokenRunResult:
    return simulate_tokens(scenario, StaticController(replicas, Precision.BF16, "static", "test"))


def short_constant(rate_per_replica: float, replicas: int = 2, physics: TokenPhysics | None = None) -> TokenScenario:
    return constant(rate_per_replica * replicas, replicas, duration_s=300, warmup_s=200, physics=physics)


@dataclass
class Recorder:
    """Holds the fleet and remembers every observation it was shown."""

    replicas: int
    name: str = "recorder"
    period_s: int = 15
    seen: list[Observation] | None = None

    def describe(self) -> str:
        return "recorder"

    def decide(self, view: SimView) -> Command:
        self.seen = [*(self.seen or []), view.observation]
        return Command(self.replicas, view.precision)


# --- physics -----------------------------------------------------------------------------
def test_ttft_grows_with_queueing_beyond_capacity() -> None:
    under = summarize_tokens(static_run(short_constant(0.7), 2))
    over = summarize_tokens(static_run(short_constant(1.4 * PUBLISHED_RATE_PER_REPLICA), 2))
    assert under.ttft_p90_s < 1.5
    assert over.ttft_p90_s > 10.0 * under.ttft_p90_s
    assert over.ttft_attainment < 0.5 < under.ttft_attainment


def test_decode_step_grows_with_batch_and_kv() -> None:
    physics = TokenPhysics()
    batch = np.array([1.0, 32.0, 128.0, 256.0])
    steps = physics.decode_step_s(1.0, batch, batch * 4500.0)
    assert np.all(np.diff(steps) > 0)
    assert physics.decode_step_s(2.0, batch, batch * 4500.0)[2] == pytest.approx(steps[2] / 2.0)


def test_itl_grows_with_batch_size() -> None:
    light = summarize_tokens(static_run(short_constant(0.4), 2))
    heavy = summarize_tokens(static_run(short_constant(1.3), 2))
    assert heavy.tpot_p90_s > 1.5 * light.tpot_p90_s


def _prefix_scenario(shared: bool) -> TokenScenario:
    n, seconds = 400, 200
    rng = np.random.default_rng(3)
    times = np.sort(rng.uniform(0.0, seconds, n))
    blocks = np.empty(n, dtype=object)
    for i in range(n):
        prefix = np.arange(14) if shared else np.arange(14) + 100 * (i + 1)
        blocks[i] = np.concatenate([prefix, [10_000_000 + i]])
    isl = np.full(n, 15 * 512, dtype=np.int64)
    requests = TokenRequests(times, isl, np.full(n, 50, dtype=np.int64), blocks)
    warmup = TokenRequests(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), blocks[:0])
    spec = token_spec("prefix", 1, 1)
    return TokenScenario("prefix", "test", requests, warmup, seconds, spec, 1, warmup_s=0)


def test_prefix_hits_cut_prefill_time() -> None:
    shared = static_run(_prefix_scenario(True), 1)
    distinct = static_run(_prefix_scenario(False), 1)
    assert shared.outcomes.cached.sum() > 0.8 * 14 * 512 * shared.arrival_s.size
    assert distinct.outcomes.cached.sum() == 0
    assert np.nanmean(shared.ttft_s) < 0.5 * np.nanmean(distinct.ttft_s)


def test_prefix_cache_is_lru_bounded() -> None:
    cache = PrefixCache(3)
    cache.touch(np.array([1, 2, 3]))
    assert cache.leading_hits(np.array([1, 2, 3, 4])) == 3
    cache.touch(np.array([1, 4]))  # 2 is now the oldest
    assert len(cache) == 3
    assert cache.leading_hits(np.array([1, 2])) == 1
    assert cache.leading_hits(np.array([2, 3])) == 0


def test_a_full_kv_cache_queues_requests() -> None:
    roomy = Recorder(2)
    simulate_tokens(short_constant(0.6), roomy)
    small = replace(TokenPhysics(), kv_tokens=30_000)  # five sequences of ~5000 tokens per replica
    tight = Recorder(2)
    run = simulate_tokens(short_constant(0.6, physics=small), tight)
    waits = [o.queue_wait_ms.value for o in (tight.seen or []) if o.queue_wait_ms is not None and o.at > 60]
    roomy_waits = [o.queue_wait_ms.value for o in (roomy.seen or []) if o.queue_wait_ms is not None and o.at > 60]
    assert min(waits) > 1000.0 > max(roomy_waits)
    running = [o.running_requests.value for o in (tight.seen or []) if o.running_requests is not None]
    assert max(running) <= 2 * 30_000 / 4500  # bounded by KV, far below max_seqs
    assert summarize_tokens(run).ttft_p90_s > 3.0


def test_every_token_signal_is_filled() -> None:
    recorder = Recorder(2)
    simulate_tokens(short_constant(0.8), recorder)
    late = [o for o in recorder.seen or [] if o.at >= 60]
    assert late
    for name in TOKEN_FIELDS:
        assert all(getattr(o, name) is not None for o in late), name
    usage = late[-1].kv_cache_usage_mean
    assert usage is not None and 0.0 < usage.value < 1.0


def test_calibration_within_15_percent_of_llm_d() -> None:
    rate = sustainable_rate(replicas=2, iterations=7)
    assert rate == pytest.approx(PUBLISHED_RATE_PER_REPLICA, rel=0.15)
    assert not probe(rate * 1.3, replicas=2).meets


def test_token_runs_are_deterministic_per_seed() -> None:
    first = summarize_tokens(
        simulate_tokens(llmd_staged_ramp(4), build_token_controller("llmd-slo", llmd_staged_ramp(4)))
    )
    again = summarize_tokens(
        simulate_tokens(llmd_staged_ramp(4), build_token_controller("llmd-slo", llmd_staged_ramp(4)))
    )
    other = summarize_tokens(
        simulate_tokens(llmd_staged_ramp(5), build_token_controller("llmd-slo", llmd_staged_ramp(5)))
    )
    assert first == again
    assert first != other


def test_every_token_policy_builds() -> None:
    scenario = llmd_staged_ramp(0)
    for name in TOKEN_POLICIES:
        assert build_token_controller(name, scenario).name == name
    with pytest.raises(ValueError, match="unknown"):
        build_token_controller("nope", scenario)


def test_mooncake_trace_keeps_prompt_blocks() -> None:
    trace = read_trace(MOONCAKE_TRACE)
    assert trace.prefix_blocks is not None and trace.prefix_blocks.size == trace.size
    taken = trace.take(np.array([5, 1]), np.array([2.0, 1.0]), trace.span_s)
    assert taken.prefix_blocks is not None
    assert np.array_equal(taken.prefix_blocks[0], trace.prefix_blocks[1])


# --- the llm-d law -------------------------------------------------------------------------
def _view(now: float, replicas: int, ready: int, ttft_s: float, itl_s: float) -> SimView:
    obs = Observation(at=now, source="sim", ttft_ms=Sample(ttft_s * 1000, now), itl_ms=Sample(itl_s * 1000, now))
    spec = token_spec("law", 3, 8)
    truth = Truth(0.0, 0.0, 0.0, np.zeros(0))
    return SimView(now, spec, obs, replicas, replicas, ready, ready, Precision.BF16, False, truth)


def _law() -> SloRatioController:
    return SloRatioController(3.0, 0.1, HpaBehavior(LLMD_BEHAVIOR, 3, 8))


def test_llm_d_law_scales_up_above_055_and_holds_between() -> None:
    law = _law()
    assert law.decide(_view(0.0, 4, 4, 1.0, 0.06)).replicas > 4  # TPOT ratio 0.6 > 0.55
    hold = _law()
    assert hold.decide(_view(0.0, 4, 4, 1.5, 0.05)).replicas == 4  # 0.5: between the thresholds


def test_llm_d_law_credits_starting_replicas() -> None:
    law = _law()
    # 3 ready, 6 desired: ceil(3 × 0.8 / 0.55) = 5 ≤ 6, nothing more is added.
    assert law.decide(_view(0.0, 6, 3, 0.5, 0.08)).replicas == 6


def test_llm_d_law_scales_down_at_most_one_pod_per_120_s() -> None:
    law = _law()
    replicas, changes = 8, []
    for step in range(60):
        now = step * 15.0
        replicas_next = law.decide(_view(now, replicas, replicas, 0.3, 0.02)).replicas
        if replicas_next != replicas:
            changes.append((now, replicas_next - replicas))
        replicas = replicas_next
    assert replicas == 3
    assert all(delta == -1 for _, delta in changes)
    times = [t for t, _ in changes]
    assert all(b - a >= 120.0 for a, b in pairwise(times))
