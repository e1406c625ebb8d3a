"""The controller's end-of-tick hook: evaluates every service, keeps status, restores and forgets."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from governor.alerting import AlertContext, AlertEngine, AlertingHook
from governor.model import Decision, Observation, ServiceKey, ServiceSpec
from tests.unit.alerting.factories import RecordingSink, StaticCatalog, decision, observation, spec

T = 1_700_000_000.0


@dataclass(frozen=True)
class Report:
    now: float
    specs: Sequence[ServiceSpec]
    observations: Mapping[ServiceKey, Observation]
    decisions: Mapping[ServiceKey, Decision]


def report(now: float, *specs: ServiceSpec) -> Report:
    return Report(now, specs, {s.key: observation(now) for s in specs}, {s.key: decision(now) for s in specs})


async def test_hook_fires_keeps_status_and_survives_restart() -> None:
    s = spec(receivers=("slack",))
    sink = RecordingSink()
    hook = AlertingHook(AlertEngine(StaticCatalog(), sink))
    hook.set_context(s.key, AlertContext(rollout_failed=True))
    await hook.after_tick(report(T, s))
    assert [e["rule"] for e in hook.status_patch(s.key)["alerts"] if e["state"] == "firing"] == ["RolloutFailed"]
    assert len(sink.submitted) == 1
    sink.deliver_all(T)
    await hook.after_tick(report(T + 10, s))
    saved = json.loads(json.dumps(hook.status_patch(s.key, with_budget=True)))
    assert "alertBudget" in saved and saved["alerts"][0]["delivered"]["slack"]["seq"] == 1

    sink2 = RecordingSink()
    restarted = AlertingHook(AlertEngine(StaticCatalog(), sink2))
    restarted.restore(s.key, saved)
    restarted.set_context(s.key, AlertContext(rollout_failed=True))
    await restarted.after_tick(report(T + 20, s))
    assert sink2.submitted == []  # not re-paged
    await restarted.after_tick(report(T + 30))  # the CR is gone
    assert restarted.status_patch(s.key) == {"alerts": []}


async def test_hook_reports_where_alerts_cannot_go() -> None:
    s = spec(receivers=("slack", "nope"))
    hook = AlertingHook(AlertEngine(StaticCatalog(), RecordingSink()))
    assert hook.problems(s.key) is None, "nothing to say before the first evaluation"
    await hook.after_tick(report(T, s))
    (problem,) = hook.problems(s.key) or ()
    assert problem.startswith("spec.alerts.receivers[1]: unknown receiver 'nope'")
    good = spec(receivers=("slack",), name="other")
    await hook.after_tick(report(T + 10, good))
    assert hook.problems(good.key) == ()
