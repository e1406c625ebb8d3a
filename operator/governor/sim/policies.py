"""Every policy ``governor simulate`` can run, by name, built for one scenario.

Governor and each baseline are configured from the scenario alone (its spec, bounds and
physics), so every row of a comparison runs under the same conditions.
"""

from __future__ import annotations

from governor.model.spec import Behavior, PrecisionMode, SLOSpec
from governor.policy.config import PolicyConfig
from governor.sim.baselines import (
    PROVISION_UTILIZATION,
    GovernorController,
    OracleController,
    PrecisionOnlyController,
    StaticController,
    static_lowest,
    static_peak,
)
from governor.sim.clairvoyant import ClairvoyantController
from governor.sim.control import SimController
from governor.sim.hpa import HpaBehavior, HpaController
from governor.sim.kpa import KpaController, KpaDecider, KpaSpec
from governor.sim.scenario import Scenario
from governor.sim.tokens.baselines import KedaController, SloRatioController, TokenClairvoyant
from governor.sim.tokens.scenario import TokenScenario
from governor.sim.tokens.scenarios import LLMD_BEHAVIOR

POLICIES = (
    "governor",
    "hpa",
    "hpa-gpu",
    "kpa",
    "static-peak",
    "static-lowest",
    "precision-only",
    "oracle",
    "clairvoyant",
)
# Token mode (TTFT / ITL objectives): Governor three ways, the LLM-native autoscalers, the bounds.
TOKEN_POLICIES = (
    "governor",
    "governor-bf16",
    "governor-request-model",
    "llmd-slo",
    "keda-queue",
    "keda-kv",
    "static-peak",
    "clairvoyant",
)
TOKEN_BOUNDS = ("clairvoyant",)
KEDA_WAITING_PER_POD = 3.0  # vllm:num_requests_waiting per pod
KEDA_KV_USAGE = 0.8  # mean vllm:kv_cache_usage_perc


def build_controller(name: str, scenario: Scenario) -> SimController:
    """A fresh controller of the named policy, configured for ``scenario``."""
    spec = scenario.spec
    target_concurrency = 0.7 * scenario.slots
    if name == "hpa":  # what a user sets for a model server: per-pod running + waiting requests
        behavior = HpaBehavior(Behavior(), spec.min_replicas, spec.max_replicas)
        return HpaController("concurrency", target_concurrency, behavior)
    if name == "hpa-gpu":  # DCGM GPU utilisation, which saturates at 100 %
        return HpaController("gpu", 70.0, HpaBehavior(Behavior(), spec.min_replicas, spec.max_replicas), name="hpa-gpu")
    if name == "kpa":
        decider = KpaDecider(KpaSpec(target=target_concurrency))
        return KpaController(decider, spec.min_replicas, spec.max_replicas, scenario.slots, 0.7)
    if name == "static-peak":
        return static_peak(scenario)
    if name == "static-lowest":
        return static_lowest(scenario)
    if name == "precision-only":
        return PrecisionOnlyController(scenario.replicas_for(scenario.arrivals.mean_rate, PROVISION_UTILIZATION))
    if name == "oracle":
        return OracleController(scenario)
    if name == "clairvoyant":
        return ClairvoyantController(scenario)
    if name == "governor":
        return GovernorController(spec, scenario.initial_replicas)
    raise ValueError(f"unknown policy {name!r}; known: {', '.join(POLICIES)}")


def request_latency_slo(scenario: TokenScenario) -> SLOSpec:
    """The scenario's token objectives as one request-latency objective: a request that meets both
    takes at most TTFT + output × ITL, at the mean output length of the scenario's requests."""
    slo = scenario.spec.slo
    mean_output = float(scenario.requests.osl.mean()) if scenario.requests.size else 0.0
    latency_s = (scenario.ttft_s or 0.0) + mean_output * scenario.planning_itl_s
    return SLOSpec(latency_ms=latency_s * 1000.0, latency_quantile=0.9, objective=slo.objective)


def build_token_controller(name: str, scenario: TokenScenario) -> SimController:
    """A fresh token-mode controller of the named policy, configured for ``scenario``."""
    spec = scenario.spec
    initial = scenario.initial_replicas
    if name == "governor":  # the precision ladder as the spec declares it
        return GovernorController(spec, initial, note="spec as declared, precision ladder on")
    if name == "governor-bf16":
        return GovernorController(
            spec, initial, name=name, precision_mode=PrecisionMode.FIXED, note="precision swaps off (Fixed, bf16)"
        )
    if name == "governor-request-model":  # the same objective told as one request latency
        slo = request_latency_slo(scenario)
        note = (
            f"request-rate model only: P90 request latency ≤ {slo.latency_ms / 1000.0:.1f} s (TTFT + mean output × ITL)"
        )
        return GovernorController(spec, initial, name=name, config=PolicyConfig(token_model=False), slo=slo, note=note)
    if name == "llmd-slo":
        ttft_s, itl_s = scenario.ttft_s or 3.0, scenario.itl_s or 0.1
        return SloRatioController(ttft_s, itl_s, HpaBehavior(LLMD_BEHAVIOR, spec.min_replicas, spec.max_replicas))
    if name in ("keda-queue", "keda-kv"):
        behavior = HpaBehavior(Behavior(), spec.min_replicas, spec.max_replicas)
        if name == "keda-queue":
            return KedaController("waiting", KEDA_WAITING_PER_POD, behavior, name=name)
        return KedaController("kv", KEDA_KV_USAGE, behavior, name=name)
    if name == "static-peak":
        peak = scenario.arrivals().peak_rate(60)
        replicas = scenario.replicas_for(peak, PROVISION_UTILIZATION)
        note = f"peak minute {peak:.1f} req/s at {PROVISION_UTILIZATION:.0%} of the token capacity model"
        return StaticController(replicas, spec.precision.preferred, "static-peak", note)
    if name == "clairvoyant":
        return TokenClairvoyant.of(scenario)
    raise ValueError(f"unknown token-mode policy {name!r}; known: {', '.join(TOKEN_POLICIES)}")
