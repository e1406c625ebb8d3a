"""TTFT and ITL burn-rate alerts: their own budgets, pages and tickets; undeclared objectives are never judged."""

from __future__ import annotations

from dataclasses import replace

from governor.alerting import AlertEngine
from governor.alerting.budget import BudgetHistory
from governor.alerting.rules import AlertContext, RuleInput, RuleSettings, evaluate_rules
from governor.alerting.types import Condition, Severity
from governor.model import Sample, ServiceSpec, SLOSpec, TokenLatencySLO
from tests.unit.alerting.factories import StaticCatalog, decision, observation, spec

NOW = 1_000_000.0
TOKENS = SLOSpec(latency_declared=False, objective=0.999, ttft=TokenLatencySLO(300.0), itl=TokenLatencySLO(50.0))


def token_spec(slo: SLOSpec = TOKENS) -> ServiceSpec:
    return replace(spec(), slo=slo)


def burning(signal: str, share: float, seconds: float, step: float = 10.0) -> BudgetHistory:
    history = BudgetHistory(signal=signal)
    t = NOW - seconds
    while t <= NOW:
        extra = {"attainment": share} if signal == "slo_attainment" else {signal: share}
        history.record(observation(t, **extra))
        t += step
    return history


def run(
    s: ServiceSpec, histories: dict[str, BudgetHistory], latency: BudgetHistory | None = None
) -> dict[str, Condition]:
    latency = latency or burning("slo_attainment", 0.5, 3600)  # the request latency burns hard throughout
    inp = RuleInput(s, observation(NOW), decision(NOW), AlertContext(), latency, RuleSettings(), NOW, histories)
    return {c.rule: c for c in evaluate_rules(inp)}


def test_ttft_pages_on_its_own_budget_and_the_undeclared_latency_is_not_judged() -> None:
    conds = run(
        token_spec(), {"ttft": burning("ttft_attainment", 0.98, 3600), "itl": burning("itl_attainment", 1.0, 3600)}
    )
    assert conds["TTFTBurnRatePage"].active and conds["TTFTBurnRateTicket"].active
    assert not conds["ITLBurnRatePage"].active and not conds["ITLBurnRateTicket"].active
    assert not conds["SLOBurnRatePage"].active and not conds["SLOBurnRateTicket"].active  # latency_declared False
    page = conds["TTFTBurnRatePage"]
    assert page.labels["alertname"] == conds["TTFTBurnRateTicket"].labels["alertname"] == "TTFTErrorBudgetBurn"
    assert page.labels["burn"] == "page" and page.severity == Severity.CRITICAL
    assert "300 ms / 0.999 TTFT SLO burning" in page.annotations["summary"]


def test_itl_ticket_without_a_page_on_a_slow_burn() -> None:
    conds = run(token_spec(), {"itl": burning("itl_attainment", 0.997, 86400, step=60.0)})
    assert conds["ITLBurnRateTicket"].active and not conds["ITLBurnRatePage"].active
    assert conds["ITLBurnRateTicket"].labels["alertname"] == "ITLErrorBudgetBurn"


def test_request_latency_still_judged_when_declared_beside_token_objectives() -> None:
    both = token_spec(replace(TOKENS, latency_declared=True))
    assert run(both, {})["SLOBurnRatePage"].active
    assert not run(token_spec(SLOSpec()), {})["TTFTBurnRatePage"].active  # no TTFT objective: never fires


def test_at_capacity_breaching_judges_the_token_objectives() -> None:
    s = token_spec()
    obs = observation(NOW, attainment=0.1, ttft_attainment=0.95, itl_attainment=1.0)
    inp = RuleInput(s, obs, decision(NOW, current=4), AlertContext(), BudgetHistory(), RuleSettings(), NOW)
    at_capacity = {c.rule: c for c in evaluate_rules(inp)}["AtCapacityBreachingSLO"]
    assert at_capacity.active and "TTFT attainment 0.95 < 0.999" in at_capacity.annotations["summary"]
    assert "SLO attainment" not in at_capacity.annotations["summary"]  # request latency not declared


def test_engine_keeps_and_restores_a_budget_per_token_objective() -> None:
    engine = AlertEngine(StaticCatalog())
    s = token_spec()
    t, result = NOW - 600.0, None
    while t <= NOW:
        obs = replace(observation(t), ttft_attainment=Sample(0.9, t), itl_attainment=Sample(1.0, t))
        result = engine.evaluate(s, obs, decision(t), now=t)
        t += 10.0
    assert result is not None
    budget = result.budget
    assert set(budget) >= {"version", "tiers", "ttft", "itl"}
    restored = AlertEngine(StaticCatalog()).token_histories(s, budget)
    ratio = restored["ttft"].error_ratio(600.0, NOW)
    assert ratio is not None and abs(ratio - 0.1) < 1e-3
    assert restored["itl"].error_ratio(600.0, NOW) == 0.0
