"""Every policy ``governor simulate`` can run, by name, built for one scenario.

Governor and each baseline are configured from the scenario alone (its spec, bounds and
physics), so every row of a comparison runs under the same conditions.
"""

from __future__ import annotations

from governor.model.spec import Behavior
from governor.sim.baselines import (
    PROVISION_UTILIZATION,
    GovernorController,
    OracleController,
    PrecisionOnlyController,
    static_lowest,
    static_peak,
)
from governor.sim.clairvoyant import ClairvoyantController
from governor.sim.control import Controller
from governor.sim.hpa import HpaBehavior, HpaController
from governor.sim.kpa import KpaController, KpaDecider, KpaSpec
from governor.sim.scenario import Scenario

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


def build_controller(name: str, scenario: Scenario) -> Controller:
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
