"""The façade: a tick's evaluation, problems surfaced on the CR, and restarts that neither re-page nor drop."""

from __future__ import annotations

import json

import pytest

from governor.alerting import AlertEngine, Event, Phase, from_status, to_status
from governor.alerting.rules import AlertContext
from governor.model import Precision
from tests.unit.alerting.factories import RecordingSink, StaticCatalog, decision, observation, spec

T = 1_700_000_000.0
FAILED = AlertContext(rollout_failed=True, rollout_message="swap to fp8 timed out")


def tick(engine: AlertEngine, now: float, prior: list | None, ctx: AlertContext | None = None, **kw: object):  # type: ignore[no-untyped-def]
    s = spec(receivers=("pager", "slack"))
    return engine.evaluate(s, observation(now), decision(now, **kw), ctx, prior_status=prior, now=now)  # type: ignore[arg-type]


def test_firing_then_resolved_notifies_each_receiver_once() -> None:
    sink = RecordingSink()
    engine = AlertEngine(StaticCatalog(), sink)
    result = tick(engine, T, None, FAILED)
    assert [r.rule for r in result.firing] == ["RolloutFailed"]
    assert [(n.receiver, n.event) for n in sink.submitted] == [
        ("slack", Event.FIRING)
    ]  # warning: pager is critical-only
    assert [r.rule for r in result.transitions] == ["RolloutFailed"]
    sink.deliver_all(T + 1)
    status = tick(engine, T + 10, result.status, FAILED).status
    assert sink.submitted == []  # delivered: nothing owed
    assert status[0]["delivered"]["slack"]["seq"] == 1
    result = tick(engine, T + 20, status)
    assert [(n.receiver, n.event) for n in sink.submitted] == [("slack", Event.RESOLVED)]
    assert result.records[0].phase == Phase.RESOLVED


def test_status_is_json_safe_and_round_trips() -> None:
    engine = AlertEngine(StaticCatalog(), RecordingSink())
    result = tick(engine, T, None, FAILED, precision=Precision.FP8)
    text = json.dumps(result.status)
    assert from_status(json.loads(text)) == result.records
    assert to_status(from_status(json.loads(text))) == result.status
    json.dumps(result.budget)


def test_restart_neither_repages_nor_drops_a_pending_resolve() -> None:
    sink = RecordingSink()
    first = AlertEngine(StaticCatalog(), sink)
    status = tick(first, T, None, FAILED).status
    sink.deliver_all(T + 1)
    status = tick(first, T + 10, status, FAILED).status  # acknowledgement folded into status
    # Operator restarts: a new engine and an empty notifier ledger, the CR status is all that is left.
    sink2 = RecordingSink()
    second = AlertEngine(StaticCatalog(), sink2)
    status = tick(second, T + 20, json.loads(json.dumps(status)), FAILED).status
    assert sink2.submitted == []  # no re-page
    status = tick(second, T + 30, status).status  # the rollout recovered: resolve owed
    assert [(n.receiver, n.event) for n in sink2.submitted] == [("slack", Event.RESOLVED)]
    # Restart again before the resolve was delivered: the resolve is still owed, exactly once.
    sink3 = RecordingSink()
    third = AlertEngine(StaticCatalog(), sink3)
    tick(third, T + 40, json.loads(json.dumps(status)))
    assert [(n.receiver, n.event, n.seq) for n in sink3.submitted] == [("slack", Event.RESOLVED, 2)]


def test_pending_timer_survives_a_restart() -> None:
    engine = AlertEngine(StaticCatalog(), RecordingSink())
    status = tick(engine, T, None, precision=Precision.FP8).status
    (pending,) = [e for e in status if e["rule"] == "PrecisionDegraded"]
    assert pending["state"] == "pending"
    later = AlertEngine(StaticCatalog(), RecordingSink())
    result = tick(later, T + 3600, status, precision=Precision.FP8)
    assert [r.rule for r in result.firing] == ["PrecisionDegraded"]


def test_unknown_receiver_and_rule_names_are_problems() -> None:
    engine = AlertEngine(StaticCatalog(), RecordingSink())
    s = spec(receivers=("slack", "ghost"), disabled=("NoSuchRule",))
    result = engine.evaluate(s, observation(T), decision(T), prior_status=None, now=T)
    paths = sorted(p.path for p in result.problems)
    assert paths == ["spec.alerts.disabled[0]", "spec.alerts.receivers[1]"]
    assert "ghost" in str(result.problems[1]) or "ghost" in str(result.problems[0])


def test_burn_rate_history_is_restored_from_the_budget_status() -> None:
    engine = AlertEngine(StaticCatalog(), RecordingSink())
    s = spec(receivers=("pager",))
    status, budget = None, None
    t = T
    for _ in range(360):  # an hour at 20× burn
        t += 10
        result = engine.evaluate(s, observation(t, attainment=0.98), decision(t), prior_status=status, now=t)
        status, budget = result.status, result.budget
    assert "SLOBurnRatePage" in {r.rule for r in result.firing}
    fresh = AlertEngine(StaticCatalog(), RecordingSink())
    restored = fresh.history(s, json.loads(json.dumps(budget)))
    assert restored.burn_rate(3600.0, t, 0.999) == pytest.approx(engine.history(s).burn_rate(3600.0, t, 0.999))


def test_forget_drops_caches() -> None:
    sink = RecordingSink()
    engine = AlertEngine(StaticCatalog(), sink)
    tick(engine, T, None, FAILED)
    sink.deliver_all(T)
    s = spec(receivers=("pager", "slack"))
    engine.forget(s.key)
    assert sink.acks == {}
    assert engine.history(s).last_at is None
