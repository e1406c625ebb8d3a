"""Rule tables: each rule fires exactly when its condition holds; overrides and disabling."""

from __future__ import annotations

import pytest

from governor.alerting.budget import BudgetHistory
from governor.alerting.rules import RULES, AlertContext, RuleInput, RuleSettings, evaluate_rules
from governor.alerting.types import Condition, Severity
from governor.model import Decision, Observation, Precision, ServiceSpec
from tests.unit.alerting.factories import decision, observation, spec

NOW = 1_700_000_000.0


def burning(attainment: float, seconds: float, period_days: float = 30.0) -> BudgetHistory:
    history = BudgetHistory(period_days)
    t = NOW - seconds
    while t < NOW:
        t += 10.0
        history.record(observation(t, attainment=attainment))
    return history


def run(
    s: ServiceSpec | None = None,
    obs: Observation | None = None,
    dec: Decision | None = None,
    ctx: AlertContext | None = None,
    history: BudgetHistory | None = None,
) -> dict[str, Condition]:
    inp = RuleInput(
        s or spec(),
        obs or observation(NOW),
        dec if dec is not None else decision(NOW),
        ctx or AlertContext(),
        history or BudgetHistory(),
        RuleSettings(),
        NOW,
    )
    return {c.rule: c for c in evaluate_rules(inp)}


@pytest.mark.parametrize(
    ("attainment", "seconds", "page", "ticket"),
    [
        (1.0, 3600, False, False),
        (0.9995, 3 * 86400, False, False),  # 0.5× burn: within budget
        (0.998, 3 * 86400, False, True),  # 2× burn over 3 d: ticket (1× over 3 d and 6 h)
        (0.995, 86400, False, True),  # 5×: ticket (3× over 1 d and 2 h), no page
        (0.992, 6 * 3600, True, True),  # 8×: page via 6 h and 30 min
        (0.98, 3600, True, True),  # 20×: page via 1 h and 5 min
    ],
)
def test_multiwindow_burn_rate_table(attainment: float, seconds: float, page: bool, ticket: bool) -> None:
    conds = run(history=burning(attainment, seconds))
    assert conds["SLOBurnRatePage"].active is page
    assert conds["SLOBurnRateTicket"].active is ticket


def test_a_short_spike_alone_does_not_page() -> None:
    history = burning(1.0, 3600)
    t = NOW
    for _ in range(30):  # 5 minutes at 20× after a clean hour: the 1 h window stays below 14.4
        t += 10.0
        history.record(observation(t, attainment=0.98))
    inp = RuleInput(spec(), observation(t), decision(t), AlertContext(), history, RuleSettings(), t)
    conds = {c.rule: c for c in evaluate_rules(inp)}
    assert conds["SLOBurnRatePage"].active is False


def test_windows_follow_a_shorter_slo_period() -> None:
    # A 7-day period shrinks the page windows to 14 min and 70 s: 20 minutes at 20× pages.
    s = spec(period_days=7.0)
    assert run(s, history=burning(0.98, 1200, period_days=7.0))["SLOBurnRatePage"].active


def test_burn_rate_alerts_share_an_alertname_and_differ_by_burn_label() -> None:
    conds = run(history=burning(0.98, 3600))
    page, ticket = conds["SLOBurnRatePage"], conds["SLOBurnRateTicket"]
    assert page.labels["alertname"] == ticket.labels["alertname"] == "SLOErrorBudgetBurn"
    assert (page.labels["burn"], ticket.labels["burn"]) == ("page", "ticket")
    assert page.severity == Severity.CRITICAL and ticket.severity == Severity.WARNING
    assert page.fingerprint != ticket.fingerprint


@pytest.mark.parametrize(
    ("current", "util", "active"),
    [(4, 0.95, True), (3, 0.95, False), (4, 0.5, False), (4, None, False)],
)
def test_gpu_saturation_only_at_max_replicas(current: int, util: float | None, active: bool) -> None:
    signals = {} if util is None else {"gpu_utilization_mean": util}
    conds = run(obs=observation(NOW, **signals), dec=decision(NOW, current=current))
    assert conds["GPUSaturated"].active is active
    assert conds["GPUSaturated"].for_seconds == RuleSettings().gpu_saturation_for


@pytest.mark.parametrize(("floor", "ratio", "active"), [(0.3, 0.1, True), (0.3, 0.5, False), (None, 0.0, False)])
def test_cache_hit_ratio_below_floor(floor: float | None, ratio: float, active: bool) -> None:
    conds = run(spec(cache_floor=floor), obs=observation(NOW, cache_hit_ratio=ratio))
    assert conds["CacheHitRatioLow"].active is active


@pytest.mark.parametrize(
    ("current", "attainment", "p99", "active"),
    [
        (4, 0.9, None, True),
        (4, 0.9999, None, False),
        (2, 0.9, None, False),
        (4, None, 900.0, True),
        (4, None, 100.0, False),
    ],
)
def test_at_capacity_and_still_breaching(
    current: int, attainment: float | None, p99: float | None, active: bool
) -> None:
    signals = {} if p99 is None else {"latency_p99_ms": p99}
    conds = run(obs=observation(NOW, attainment=attainment, **signals), dec=decision(NOW, current=current))
    assert conds["AtCapacityBreachingSLO"].active is active


@pytest.mark.parametrize(("precision", "active"), [(Precision.BF16, False), (Precision.FP8, True)])
def test_precision_degraded(precision: Precision, active: bool) -> None:
    conds = run(dec=decision(NOW, precision=precision))
    assert conds["PrecisionDegraded"].active is active
    assert conds["PrecisionDegraded"].for_seconds == RuleSettings().precision_degraded_for


def test_metrics_unavailable_when_nothing_fresh() -> None:
    stale = observation(NOW - 600)
    assert run(obs=stale)["MetricsUnavailable"].active
    assert run(obs=observation(NOW, rate=None, attainment=None))["MetricsUnavailable"].active
    assert not run(obs=observation(NOW))["MetricsUnavailable"].active


def test_rollout_failed_carries_the_actuation_message() -> None:
    conds = run(ctx=AlertContext(rollout_failed=True, rollout_message="fp8 swap not ready in 900s"))
    assert conds["RolloutFailed"].active
    assert "fp8 swap" in conds["RolloutFailed"].annotations["summary"]
    assert not run()["RolloutFailed"].active


def test_disabled_rules_are_not_evaluated() -> None:
    conds = run(spec(disabled=("GPUSaturated", "PrecisionDegraded")))
    assert set(conds) == set(RULES) - {"GPUSaturated", "PrecisionDegraded"}


def test_severity_override_changes_severity_label_and_fingerprint() -> None:
    plain = run()["GPUSaturated"]
    raised = run(spec(overrides={"GPUSaturated": "critical"}))["GPUSaturated"]
    assert raised.severity == Severity.CRITICAL and raised.labels["severity"] == "critical"
    assert raised.fingerprint != plain.fingerprint


def test_every_condition_names_its_service() -> None:
    for cond in run().values():
        assert cond.labels["namespace"] == "ml" and cond.labels["service"] == "chat"
        assert cond.labels["severity"] == cond.severity.value


def test_metrics_staleness_follows_the_operators_setting_unless_the_rules_override_it() -> None:
    aged = observation(NOW - 90)  # 90 s old: stale at 60 s, fresh at 120 s

    def unavailable(stale_seconds: float, override: float | None = None) -> bool:
        rules = RuleSettings(metrics_stale_seconds=override)
        inp = RuleInput(spec(), aged, decision(NOW), AlertContext(), BudgetHistory(), rules, NOW, {}, stale_seconds)
        return {c.rule: c for c in evaluate_rules(inp)}["MetricsUnavailable"].active

    assert unavailable(stale_seconds=60.0)  # GOVERNOR_METRICS_STALE_SECONDS 60 s: the data is stale
    assert not unavailable(stale_seconds=120.0)
    assert not unavailable(stale_seconds=60.0, override=120.0)  # rules.metrics_stale_seconds in the ConfigMap
