"""Status building and change detection (what decides whether the loop writes status)."""

from __future__ import annotations

from governor.actuate.workloads import WorkloadState
from governor.controller.registry import Entry
from governor.controller.status import Seen
from governor.model import FieldError, Observation, Sample, ScaleTargetRef, ServiceKey, ServiceSpec
from governor.model.conditions import find_condition
from tests.unit.controller.statuses import build_status, changed

KEY = ServiceKey("ml", "chat")
OWNED = ServiceSpec(namespace="ml", name="chat", template={"spec": {}}, min_replicas=1, max_replicas=4)


def _entry(spec: ServiceSpec | None = OWNED, generation: int = 3) -> Entry:
    errors = () if spec else (FieldError("spec.maxReplicas", "must be >= minReplicas"),)
    return Entry(KEY, "uid", generation, spec, errors)


def _workload(ready: int, replicas: int = 2) -> WorkloadState:
    return WorkloadState("chat", replicas, ready, replicas, 1, 1)


def test_ready_follows_ready_replicas_and_transition_time_moves_only_on_flip() -> None:
    first = build_status(Seen(_entry(), _workload(0)), {}, now=100.0)
    ready = find_condition(first["conditions"], "Ready")
    assert ready is not None and ready["status"] == "False" and ready["reason"] == "ReplicasNotReady"
    again = build_status(Seen(_entry(), _workload(0)), first, now=200.0)
    assert not changed(first, again)
    assert find_condition(again["conditions"], "Ready") == ready
    flipped = build_status(Seen(_entry(), _workload(2)), again, now=300.0)
    now_ready = find_condition(flipped["conditions"], "Ready")
    assert now_ready is not None and now_ready["status"] == "True"
    assert now_ready["lastTransitionTime"] != ready["lastTransitionTime"]
    assert changed(again, flipped)
    assert flipped["observedGeneration"] == 3 and flipped["selector"] == "governor.dev/service=chat"


def test_invalid_spec_lists_field_errors() -> None:
    status = build_status(Seen(_entry(None), None), {}, now=1.0)
    invalid = find_condition(status["conditions"], "Invalid")
    assert invalid is not None and invalid["status"] == "True" and invalid["reason"] == "InvalidSpec"
    assert "spec.maxReplicas: must be >= minReplicas" in invalid["message"]
    ready = find_condition(status["conditions"], "Ready")
    assert ready is not None and ready["status"] == "False"


def test_missing_target_is_reported_by_name() -> None:
    target = ServiceSpec(
        namespace="ml", name="chat", scale_target_ref=ScaleTargetRef("apps/v1", "Deployment", "legacy")
    )
    status = build_status(Seen(_entry(target), None, "Deployment ml/legacy does not exist"), {}, now=1.0)
    ready = find_condition(status["conditions"], "Ready")
    assert ready is not None and ready["reason"] == "TargetNotFound" and "legacy" in ready["message"]


def test_only_timestamps_changing_is_not_a_change() -> None:
    obs1 = Observation(at=10.0, source="scrape", request_rate=Sample(5.0, 10.0))
    obs2 = Observation(at=20.0, source="scrape", request_rate=Sample(5.0, 20.0))
    a = build_status(Seen(_entry(), _workload(2), observation=obs1), {}, now=10.0)
    b = build_status(Seen(_entry(), _workload(2), observation=obs2), a, now=20.0)
    assert not changed(a, b)
    obs3 = Observation(at=30.0, source="scrape", request_rate=Sample(9.0, 30.0))
    c = build_status(Seen(_entry(), _workload(2), observation=obs3), b, now=30.0)
    # a new measured value is carried in status but written with the next material change or the
    # heartbeat: a fleet whose readings move every tick would otherwise rewrite every status every tick
    assert not changed(b, c) and c["metrics"]["rps"] == 9.0
    metrics = find_condition(c["conditions"], "MetricsAvailable")
    assert metrics is not None and metrics["status"] == "True"
    d = build_status(Seen(_entry(), _workload(3), observation=obs3), c, now=40.0)
    assert changed(c, d)  # what a reader acts on (here the replicas) is a change
    down = build_status(Seen(_entry(), _workload(0), observation=obs3), d, now=50.0)
    assert changed(d, down)  # and so is a condition turning (Ready goes False)
