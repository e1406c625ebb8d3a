"""Simple baselines: static provisioning, precision-only switching and the reactive oracle.

Static policies know the scenario's one-minute peak in advance (a generous assumption); the
oracle sees the true arrival rate and queue every second without monitoring lag, but its
replicas start and its swaps run under the same physics as everyone else's. Nothing can
react faster, so its violations bound what any reactive controller can reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from governor.model.spec import Precision, PrecisionMode, ServiceSpec, SLOSpec
from governor.policy.config import DEFAULT_CONFIG, PolicyConfig
from governor.sim.control import Command, SimView
from governor.sim.scenario import Scenario

PROVISION_UTILIZATION = 0.8  # static and oracle sizing: keep capacity 25 % above the load


def allowed_precisions(spec: ServiceSpec) -> list[Precision]:
    """Variants at or above the quality floor, highest quality first."""
    return [v.precision for v in spec.precision.allowed]


@dataclass
class StaticController:
    """A fixed replica count (and precision), sized for the scenario's peak minute."""

    replicas: int
    precision: Precision
    name: str
    note: str
    period_s: int = 60

    @property
    def initial_replicas(self) -> int:
        return self.replicas

    @property
    def initial_precision(self) -> Precision:
        return self.precision

    def describe(self) -> str:
        return f"{self.replicas} replicas at {self.precision} always ({self.note})"

    def decide(self, view: SimView) -> Command:
        return Command(self.replicas, self.precision)


def static_peak(scenario: Scenario) -> StaticController:
    peak = scenario.arrivals.peak_rate(60)
    replicas = scenario.replicas_for(peak, PROVISION_UTILIZATION)
    note = f"peak minute {peak:.0f} req/s at {PROVISION_UTILIZATION:.0%} utilisation, capped at maxReplicas"
    return StaticController(replicas, scenario.spec.precision.preferred, "static-peak", note)


def static_lowest(scenario: Scenario) -> StaticController:
    lowest = allowed_precisions(scenario.spec)[-1]
    peak = scenario.arrivals.peak_rate(60)
    replicas = scenario.replicas_for(peak, PROVISION_UTILIZATION, lowest)
    note = f"lowest precision above the quality floor, sized for the peak minute {peak:.0f} req/s"
    return StaticController(replicas, lowest, "static-lowest", note)


@dataclass
class PrecisionOnlyController:
    """Fixed replicas; steps precision down when the GPU runs hot or p99 breaks the SLO, up when cool."""

    replicas: int
    name: str = "precision-only"
    period_s: int = 15
    hot_utilization: float = 0.85
    cool_utilization: float = 0.6  # projected utilisation at the higher precision
    cool_seconds: float = 300.0
    dwell_seconds: float = 120.0
    _last_swap: float = -math.inf
    _cool_since: float | None = None

    @property
    def initial_replicas(self) -> int:
        return self.replicas

    def describe(self) -> str:
        return (
            f"{self.replicas} replicas always; one precision down when GPU util ≥ {self.hot_utilization:.0%} or "
            f"p99 > SLO, up when the higher precision would run < {self.cool_utilization:.0%} for "
            f"{self.cool_seconds:g} s; {self.dwell_seconds:g} s between swaps"
        )

    def decide(self, view: SimView) -> Command:
        ladder = allowed_precisions(view.spec)
        util = view.observation.fresh("gpu_utilization_mean", 60.0, view.now)
        p99 = view.observation.fresh("latency_p99_ms", 60.0, view.now)
        if util is None or view.swapping or view.now - self._last_swap < self.dwell_seconds:
            return Command(self.replicas, view.precision)
        index = ladder.index(view.precision) if view.precision in ladder else 0
        hot = util >= self.hot_utilization or (p99 is not None and p99 > view.spec.slo.latency_ms)
        if hot and index + 1 < len(ladder):
            return self._swap(view, ladder[index + 1])
        if index > 0 and self._projected(view, ladder[index - 1], util) < self.cool_utilization:
            self._cool_since = view.now if self._cool_since is None else self._cool_since
            if view.now - self._cool_since >= self.cool_seconds:
                return self._swap(view, ladder[index - 1])
        else:
            self._cool_since = None
        return Command(self.replicas, view.precision)

    def _projected(self, view: SimView, higher: Precision, util: float) -> float:
        current = view.spec.precision.variant(view.precision)
        target = view.spec.precision.variant(higher)
        if current is None or target is None:
            return math.inf
        return util * current.relative_throughput / target.relative_throughput

    def _swap(self, view: SimView, precision: Precision) -> Command:
        self._last_swap = view.now
        self._cool_since = None
        return Command(self.replicas, precision)


@dataclass
class OracleController:
    """Sees the true load each second; picks the best precision that the replica budget can carry."""

    scenario: Scenario
    name: str = "oracle"
    period_s: int = 1
    drain_seconds: float = 30.0
    step_up_seconds: float = 300.0
    scale_down_seconds: float = 300.0
    step_down_headroom: float = 1.25  # a step down is sized for a quarter more load than now
    _needs: list[tuple[float, int]] = field(default_factory=list)
    _up_since: float | None = None

    def describe(self) -> str:
        return (
            f"true arrival rate (10 s mean) + backlog/{self.drain_seconds:g} s, no lag, every second; sized at "
            f"{PROVISION_UTILIZATION:.0%} utilisation, down after {self.scale_down_seconds:g} s; highest precision "
            f"that fits maxReplicas, up after {self.step_up_seconds:g} s; same start-up and swap physics"
        )

    def decide(self, view: SimView) -> Command:
        if view.now < 10:  # not even ten seconds of truth yet: hold
            return Command(view.replicas, view.precision)
        plan = self._rate(view, 10) + view.truth.queue / self.drain_seconds
        # Precision follows the 30 s load, so a burst alone never starts a swap (which costs capacity).
        precision = self._precision(view, self._rate(view, 30) + view.truth.queue / self.drain_seconds)
        needed = self.scenario.replicas_for(plan, PROVISION_UTILIZATION, precision)
        self._needs = [(t, n) for t, n in self._needs if t > view.now - self.scale_down_seconds]
        self._needs.append((view.now, needed))
        if precision != view.precision:
            return Command(max(needed, min(view.replicas, self.scenario.spec.max_replicas)), precision)
        return Command(max(n for _, n in self._needs), precision)

    def _rate(self, view: SimView, window: int) -> float:
        recent = self.scenario.arrivals.counts[max(0, int(view.now) - window) : int(view.now)]
        return float(recent.mean()) if recent.size else view.truth.arrival_rate

    def _fits(self, plan: float, precision: Precision, utilization: float) -> bool:
        capacity = self.scenario.rate_per_replica(precision) * self.scenario.spec.max_replicas
        return plan <= capacity * utilization

    def _precision(self, view: SimView, plan: float) -> Precision:
        ladder = allowed_precisions(view.spec)
        current = view.precision if view.precision in ladder else ladder[0]
        if not self._fits(plan, current, PROVISION_UTILIZATION):
            self._up_since = None
            sized = plan * self.step_down_headroom
            return next((p for p in ladder if self._fits(sized, p, PROVISION_UTILIZATION)), ladder[-1])
        best = next((p for p in ladder if self._fits(plan, p, PROVISION_UTILIZATION)), ladder[-1])
        if ladder.index(best) >= ladder.index(current):
            self._up_since = None
            return current
        # Step up only after the higher precision has fitted comfortably for a while.
        self._up_since = view.now if self._up_since is None else self._up_since
        return best if view.now - self._up_since >= self.step_up_seconds else current


@dataclass
class GovernorController:
    """Governor's decision engine (``governor.policy.decide``) behind the simulator's interface.

    ``config`` is the engine's ``PolicyConfig``; ``precision_mode`` overrides the spec's (``FIXED``:
    the same service with precision swaps off); ``slo`` replaces the objective the policy is told
    (the simulator still judges the scenario's), and the measured attainment, which the monitoring
    computed against the scenario's threshold, is then withheld.
    """

    spec: ServiceSpec
    initial: int
    name: str = "governor"
    period_s: int = 10
    config: PolicyConfig = DEFAULT_CONFIG
    precision_mode: PrecisionMode | None = None
    slo: SLOSpec | None = None
    note: str = "same spec as the others"
    _state: object = None

    def describe(self) -> str:
        return f"governor.policy.decide every {self.period_s} s on the lagged observation ({self.note})"

    def decide(self, view: SimView) -> Command:
        from governor.policy import PolicyState, decide

        spec = view.spec
        if self.precision_mode is not None and spec.precision.mode != self.precision_mode:
            spec = replace(spec, precision=replace(spec.precision, mode=self.precision_mode))
        observation = view.observation
        if self.slo is not None:
            spec = replace(spec, slo=self.slo)
            observation = replace(observation, slo_attainment=None)
        state = self._state
        if not isinstance(state, PolicyState):
            state = PolicyState.initial(self.initial, view.precision)
        state = state.observed(replicas=view.replicas, precision=view.precision, swapping=view.swapping)
        decision, self._state = decide(spec, observation, state, view.now, self.config)
        return Command(decision.replicas, decision.precision, decision.swap_max_unavailable)
