"""SLOMet, AtCapacity and PrecisionDegraded say how a service stands, from what one reconcile saw."""

from __future__ import annotations

from types import MappingProxyType

from governor.actuate.workloads import WorkloadState
from governor.controller.registry import Entry
from governor.controller.status import Seen
from governor.model import Decision, Observation, Precision, Sample, ScaleDirection, ServiceKey, ServiceSpec, SLOSpec
from governor.model.conditions import find_condition
from tests.unit.controller.statuses import build_status

SPEC = ServiceSpec("ml", "chat", template={"spec": {}}, max_replicas=4, slo=SLOSpec(latency_ms=300, objective=0.99))
NOW = 1_700_000_000.0


def _status(observation: Observation | None, decision: Decision | None = None, precision: str = "bf16") -> dict:
    entry = Entry(ServiceKey("ml", "chat"), "uid", 1, SPEC)
    workload = WorkloadState("chat", 4, 4, 4, 1, 1)
    seen = Seen(entry, workload, observation=observation, decision=decision)
    return build_status(seen, {"precision": precision}, NOW)


def _condition(status: dict, kind: str) -> tuple[str, str]:
    found = find_condition(status["conditions"], kind)
    assert found is not None, kind
    return found["status"], found["reason"]


def _decision(replicas: int, wanted: int) -> Decision:
    recs = MappingProxyType({"latency": wanted})
    return Decision(NOW, 4, replicas, Precision.BF16, Precision.BF16, ScaleDirection.NONE, ("x",), recs)


def test_slo_met_from_attainment_then_p99_then_unknown() -> None:
    breached = Observation(at=NOW, slo_attainment=Sample(0.95, NOW), latency_p99_ms=Sample(100, NOW))
    assert _condition(_status(breached), "SLOMet") == ("False", "SLOBreached")
    fast = Observation(at=NOW, latency_p99_ms=Sample(120, NOW))
    assert _condition(_status(fast), "SLOMet") == ("True", "WithinSLO")
    slow = Observation(at=NOW, latency_p99_ms=Sample(420, NOW))
    assert _condition(_status(slow), "SLOMet") == ("False", "SLOBreached")
    assert _condition(_status(Observation(at=NOW)), "SLOMet") == ("Unknown", "NoLatencyData")


def test_at_capacity_only_when_max_replicas_is_not_enough() -> None:
    assert _condition(_status(None, _decision(4, 7)), "AtCapacity") == ("True", "MaxReplicasReached")
    assert _condition(_status(None, _decision(4, 4)), "AtCapacity") == ("False", "WithinCapacity")
    assert _condition(_status(None, _decision(2, 2)), "AtCapacity") == ("False", "WithinCapacity")


def test_precision_degraded_when_serving_below_preferred() -> None:
    assert _condition(_status(None, precision="fp8"), "PrecisionDegraded") == ("True", "PrecisionLowered")
    assert _condition(_status(None), "PrecisionDegraded") == ("False", "PreferredPrecision")
