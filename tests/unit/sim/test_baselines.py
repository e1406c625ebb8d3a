"""The policy rows: which controller each name builds, and that each describes itself."""

from __future__ import annotations

import pytest

from governor.sim.clairvoyant import ClairvoyantController
from governor.sim.hpa import HpaController
from governor.sim.policies import POLICIES, build_controller
from governor.sim.scenarios import build_scenario


def test_hpa_is_the_concurrency_hpa_and_hpa_gpu_the_utilisation_one() -> None:
    scenario = build_scenario("smoke")
    hpa, gpu = build_controller("hpa", scenario), build_controller("hpa-gpu", scenario)
    assert isinstance(hpa, HpaController) and isinstance(gpu, HpaController)
    assert hpa.metric == "concurrency" and hpa.target == pytest.approx(0.7 * scenario.slots)
    assert gpu.metric == "gpu" and gpu.target == 70.0
    assert "running+waiting" in hpa.describe() and "DCGM" in gpu.describe()
    assert (hpa.name, gpu.name) == ("hpa", "hpa-gpu")


@pytest.mark.parametrize("name", POLICIES)
def test_every_row_builds_under_its_own_name(name: str) -> None:
    controller = build_controller(name, build_scenario("smoke"))
    assert controller.name == name
    assert controller.describe()


def test_the_clairvoyant_is_a_row_of_its_own_next_to_the_oracle() -> None:
    assert {"oracle", "clairvoyant"} <= set(POLICIES)
    assert "hpa-concurrency" not in POLICIES
    scenario = build_scenario("smoke")
    bound = build_controller("clairvoyant", scenario)
    assert isinstance(bound, ClairvoyantController)
    assert bound.lookahead_s == scenario.spec.startup_seconds + 30
    with pytest.raises(ValueError, match="unknown policy"):
        build_controller("hpa-concurrency", scenario)
