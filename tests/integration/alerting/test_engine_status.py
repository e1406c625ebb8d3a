"""The alert engine from the alerting part of a service's status: fires, keeps status, restarts from it."""

from __future__ import annotations

import json

from governor.alerting import AlertContext, AlertEngine
from governor.model.status import AlertStatus, ServiceStatus
from tests.unit.alerting.factories import RecordingSink, StaticCatalog, decision, observation, spec

T = 1_700_000_000.0


def test_fires_keeps_its_part_and_a_restart_from_status_does_not_page_again() -> None:
    s = spec(receivers=("slack",))
    sink = RecordingSink()
    engine = AlertEngine(StaticCatalog(), sink)
    failed = AlertContext(rollout_failed=True)
    part = engine.evaluate_part(s, observation(T), decision(T), failed, AlertStatus(), T).part
    assert [e["rule"] for e in part.records if e["state"] == "firing"] == ["RolloutFailed"]
    assert len(sink.submitted) == 1
    sink.deliver_all(T)
    part = engine.evaluate_part(s, observation(T + 10), decision(T + 10), failed, part, T + 10).part
    saved = json.loads(json.dumps(ServiceStatus(alerts=part).to_status()))  # as the object holds it
    assert "alertBudget" in saved and saved["alerts"][0]["delivered"]["slack"]["seq"] == 1

    sink2 = RecordingSink()
    restarted = AlertEngine(StaticCatalog(), sink2)
    prior = ServiceStatus.from_status(saved).alerts
    restarted.evaluate_part(s, observation(T + 20), decision(T + 20), failed, prior, T + 20)
    assert sink2.submitted == []  # not re-paged


def test_reports_where_alerts_cannot_go() -> None:
    s = spec(receivers=("slack", "nope"))
    engine = AlertEngine(StaticCatalog(), RecordingSink())
    (problem,) = engine.evaluate_part(s, observation(T), decision(T), AlertContext(), AlertStatus(), T).problem_lines
    assert problem.startswith("spec.alerts.receivers[1]: unknown receiver 'nope'")
    good = spec(receivers=("slack",), name="other")
    assert engine.evaluate_part(good, observation(T), decision(T), AlertContext(), AlertStatus(), T).problem_lines == ()
