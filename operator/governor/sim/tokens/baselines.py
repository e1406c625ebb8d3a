"""LLM-native autoscalers as users run them today, on the same token physics as Governor.

* ``SloRatioController``: llm-d's SLO-aware law. The signal is the worse of the two objectives'
  P90 ratios, ``max(P90 TTFT / TTFT objective, P90 TPOT / TPOT objective)``; above 0.55 it asks
  for the replicas that bring the signal back to 0.55 on the ready pods (pods still starting
  count toward them, so a slow start-up does not pile up more pods), below 0.40 for one fewer;
  an HPA ``behavior`` then limits it: up at most max(100 %, 4 pods) per 60 s, down 1 pod per 120 s.
* ``KedaController``: KEDA's Prometheus scaler feeding an HPA, on vLLM's waiting requests
  (``num_requests_waiting``, an ``AverageValue`` per pod) or on its KV-cache usage (the mean
  over pods as a ``Value``), with the HPA's default behavior.
* ``TokenClairvoyant``: the request-level clairvoyant bound on token *work*: it sees the work
  (``TokenPhysics.work_s``) arriving ahead and sizes for the worst 10 s of it at the true
  per-replica capacity. It scales replicas only, at the preferred precision: in token mode a
  swap restarts pods and aborts their streams, a cost the request-level bound's swap rule
  does not price (it swapped to int4 at the ramp's peak and lost more than it won).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from governor.model.spec import (
    PrecisionMode,
    ServiceSpec,
    Variant,
)
from governor.sim.arrivals import Arrivals
from governor.sim.baselines import PROVISION_UTILIZATION
from governor.sim.clairvoyant import ClairvoyantController
from governor.sim.control import Command, SimView
from governor.sim.hpa import HpaBehavior, object_metric_replicas, per_pod_metric_replicas
from governor.sim.scenario import Scenario
from governor.sim.tokens.scenario import TokenScenario

SIGNAL_MAX_AGE_S = 60.0
CLAIRVOYANT_UTILIZATION = 0.9  # of the token capacity model, for the worst 10 s ahead


@dataclass
class SloRatioController:
    """llm-d's SLO-aware scaling law (see the module docstring)."""

    ttft_s: float
    itl_s: float
    behavior: HpaBehavior
    up_at: float = 0.55
    down_at: float = 0.40
    name: str = "llmd-slo"
    period_s: int = 15

    def describe(self) -> str:
        return (
            f"llm-d SLO law: signal max(P90 TTFT/{self.ttft_s:g} s, P90 TPOT/{self.itl_s * 1000:g} ms); "
            f"> {self.up_at:g}: replicas for {self.up_at:g} on ready pods (starting pods credited), "
            f"< {self.down_at:g}: one fewer; up max(100 %, 4 pods)/60 s, down 1 pod/120 s; every {self.period_s} s"
        )

    def signal(self, view: SimView) -> float | None:
        obs = view.observation
        ttft = obs.fresh("ttft_ms", SIGNAL_MAX_AGE_S, view.now)
        itl = obs.fresh("itl_ms", SIGNAL_MAX_AGE_S, view.now)
        ratios = [v / 1000.0 / s for v, s in ((ttft, self.ttft_s), (itl, self.itl_s)) if v is not None]
        return max(ratios) if ratios else None

    def decide(self, view: SimView) -> Command:
        signal = self.signal(view)
        current = view.replicas
        desired = current
        if signal is not None and signal > self.up_at:
            desired = max(current, math.ceil(max(1, view.ready) * signal / self.up_at))
        elif signal is not None and signal < self.down_at and view.alive <= view.ready:
            desired = current - 1
        return Command(self.behavior.normalize(view.now, current, desired), view.precision)


@dataclass
class KedaController:
    """KEDA (Prometheus scaler) + HPA on one vLLM gauge: ``waiting`` per pod or mean ``kv`` usage."""

    metric: str  # "waiting" | "kv"
    target: float
    behavior: HpaBehavior
    name: str = "keda-queue"
    period_s: int = 15

    def describe(self) -> str:
        if self.metric == "waiting":
            what = f"sum(vllm:num_requests_waiting), AverageValue {self.target:g} per pod"
        else:
            what = f"avg(vllm:kv_cache_usage_perc), Value {self.target:g}"
        return f"KEDA prometheus trigger → HPA: {what}; default HPA behavior, sync 15 s, tolerance 10 %"

    def decide(self, view: SimView) -> Command:
        current = view.replicas
        obs = view.observation
        if self.metric == "waiting":
            usage = obs.fresh("queue_depth", SIGNAL_MAX_AGE_S, view.now)
            desired = None if usage is None or current == 0 else per_pod_metric_replicas(current, usage, self.target)
        else:
            usage = obs.fresh("kv_cache_usage_mean", SIGNAL_MAX_AGE_S, view.now)
            ready = min(view.pods_with_metrics, view.alive)
            desired = (
                None if usage is None or ready == 0 else object_metric_replicas(current, usage, self.target, ready)
            )
        if desired is None:
            return Command(current, view.precision)
        return Command(self.behavior.normalize(view.now, current, desired), view.precision)


def bf16_only(spec: ServiceSpec) -> ServiceSpec:
    """The spec with only its preferred variant and swaps off."""
    preferred = spec.precision.variant(spec.precision.preferred) or Variant(spec.precision.preferred)
    precision = replace(spec.precision, mode=PrecisionMode.FIXED, variants=(preferred,), quality_floor=1.0)
    return replace(spec, precision=precision)


def work_scenario(scenario: TokenScenario) -> tuple[Scenario, float]:
    """The token scenario as a request-level one whose 'requests' are bf16 replica-seconds of work.

    Returns it and the work of a mean request in those units (to convert a queue of requests).
    One bf16 replica absorbs ``replica_capacity(1, ITL objective)`` seconds of work per second
    within the ITL objective (mean ITL at the objective; the measured P90 limit is about 5 % lower):
    that, at ``CLAIRVOYANT_UTILIZATION``, is one unit, so ``slots = service_time_s = 1`` and a
    variant's capacity is its relative throughput.
    """
    physics = scenario.physics
    # The request-level bound sizes at PROVISION_UTILIZATION of a unit; rescale the unit so that it
    # plans at CLAIRVOYANT_UTILIZATION of the token capacity model instead.
    unit = physics.replica_capacity(1.0, scenario.planning_itl_s) * CLAIRVOYANT_UTILIZATION / PROVISION_UTILIZATION
    counts = scenario.work_per_second() / unit
    arrivals = Arrivals(counts, f"{scenario.description} (token work)")
    shadow = Scenario(
        scenario.name, arrivals.description, arrivals, bf16_only(scenario.spec), scenario.initial_replicas,
        service_time_s=1.0, slots=1, in_place_s=scenario.in_place_s,
    )  # fmt: skip
    per_request = float(counts.sum()) / max(1, scenario.requests.size)
    return shadow, per_request


@dataclass
class TokenClairvoyant:
    """The clairvoyant bound on token work (see ``work_scenario``); a yardstick, not a policy."""

    inner: ClairvoyantController
    work_per_request: float
    name: str = "clairvoyant"
    period_s: int = 1

    @classmethod
    def of(cls, scenario: TokenScenario) -> TokenClairvoyant:
        shadow, per_request = work_scenario(scenario)
        return cls(ClairvoyantController(shadow), per_request)

    def describe(self) -> str:
        inner = self.inner
        return (
            f"bound, not a policy: true token work (prefill + decode share, no cache) {inner.lookahead_s} s ahead "
            f"+ backlog/{inner.drain_seconds:g} s, every second; sized for the worst 10 s at "
            f"{CLAIRVOYANT_UTILIZATION:.0%} of the token capacity model, down at once; bf16 only"
        )

    def decide(self, view: SimView) -> Command:
        truth = replace(view.truth, queue=view.truth.queue * self.work_per_request)
        return self.inner.decide(replace(view, truth=truth, spec=self.inner.scenario.spec))
