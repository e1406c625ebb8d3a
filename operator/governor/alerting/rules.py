"""The alert rules: pure functions from one tick's inputs to a ``Condition`` per rule.

Rules see the parsed spec, the observation, the policy's decision, a small context from the
actuation layer and the service's burn-rate history; they do no I/O and read no clock
(``now`` is passed in). Durations (``for``) are not checked here: the lifecycle holds a
condition as pending until it has been active for ``for_seconds``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from governor.alerting.budget import PAGE_WINDOWS, TICKET_WINDOWS, BudgetHistory, BurnWindow, scaled
from governor.alerting.types import Condition, Severity, frozen_labels
from governor.model import Decision, Observation, ServiceSpec
from governor.model.slo import verdicts


@dataclass(frozen=True)
class RuleSettings:
    """Thresholds and durations an administrator may tune (ConfigMap ``rules:``)."""

    gpu_saturation_threshold: float = 0.9
    gpu_saturation_for: float = 600.0
    cache_hit_for: float = 600.0
    at_capacity_for: float = 300.0
    precision_degraded_for: float = 3600.0
    metrics_unavailable_for: float = 300.0
    # None: the operator's one staleness setting (GOVERNOR_METRICS_STALE_SECONDS), as the metrics
    # layer and the decision engine use; a value here overrides it for the alert rules only.
    metrics_stale_seconds: float | None = None
    burn_rate_for: float = 0.0
    rollout_failed_for: float = 0.0


@dataclass(frozen=True)
class AlertContext:
    """Facts only the controller and the actuation layer know."""

    rollout_failed: bool = False
    rollout_message: str = ""


@dataclass(frozen=True)
class RuleInput:
    spec: ServiceSpec
    observation: Observation
    decision: Decision | None
    context: AlertContext
    history: BudgetHistory
    settings: RuleSettings
    now: float
    token_histories: Mapping[str, BudgetHistory] = field(default_factory=dict)  # per declared TTFT/ITL objective
    stale_seconds: float = 60.0  # the operator's staleness setting (used when the rules set none)


DEFAULT_SEVERITY: Mapping[str, Severity] = {
    "SLOBurnRatePage": Severity.CRITICAL,
    "SLOBurnRateTicket": Severity.WARNING,
    "TTFTBurnRatePage": Severity.CRITICAL,
    "TTFTBurnRateTicket": Severity.WARNING,
    "ITLBurnRatePage": Severity.CRITICAL,
    "ITLBurnRateTicket": Severity.WARNING,
    "AtCapacityBreachingSLO": Severity.CRITICAL,
    "GPUSaturated": Severity.WARNING,
    "CacheHitRatioLow": Severity.WARNING,
    "PrecisionDegraded": Severity.INFO,
    "MetricsUnavailable": Severity.WARNING,
    "RolloutFailed": Severity.WARNING,
}
# Both burn-rate rules raise the same alertname, so a firing page inhibits the ticket.
ALERTNAME: Mapping[str, str] = {
    "SLOBurnRatePage": "SLOErrorBudgetBurn",
    "SLOBurnRateTicket": "SLOErrorBudgetBurn",
    "TTFTBurnRatePage": "TTFTErrorBudgetBurn",
    "TTFTBurnRateTicket": "TTFTErrorBudgetBurn",
    "ITLBurnRatePage": "ITLErrorBudgetBurn",
    "ITLBurnRateTicket": "ITLErrorBudgetBurn",
}


def _condition(
    inp: RuleInput,
    rule: str,
    active: bool,
    summary: str,
    for_seconds: float,
    extra: Mapping[str, str] | None = None,
) -> Condition:
    severity = DEFAULT_SEVERITY[rule]
    labels = _labels(rule, inp.spec.namespace, inp.spec.name, tuple(sorted((extra or {}).items())))
    # built in key order (what frozen_labels would sort them into): every rule of every service, every tick
    annotations = MappingProxyType(
        {"description": f"{inp.spec.namespace}/{inp.spec.name}: {summary}", "summary": summary}
    )
    return Condition(rule, active, severity, labels, annotations, for_seconds)


@functools.lru_cache(maxsize=1 << 16)
def _labels(rule: str, namespace: str, name: str, extra: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    """A rule's labels for one service (memoised: the same every tick; frozen, so safe to share)."""
    severity = DEFAULT_SEVERITY[rule]
    labels = {
        "alertname": ALERTNAME.get(rule, rule),
        "namespace": namespace,
        "service": name,
        "severity": severity.value,
    }
    return frozen_labels({**labels, **dict(extra)})


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _burn(
    inp: RuleInput,
    rule: str,
    windows: tuple[BurnWindow, ...],
    burn: str,
    history: BudgetHistory | None = None,
    what: str | None = None,
) -> Condition:
    """Multi-window burn of one objective's error budget (the request-latency one unless ``history`` is given)."""
    objective = inp.spec.slo.objective
    what = what or f"{inp.spec.slo.latency_ms:g} ms / {objective:g} latency SLO"
    if history is None and not inp.spec.slo.latency_declared:
        summary = "request latency not declared (only token objectives): not judged"
        return _condition(inp, rule, False, summary, inp.settings.burn_rate_for, {"burn": burn})
    judged = history if history is not None else inp.history
    fired: list[str] = []
    for w in scaled(windows, inp.spec.slo.period_days):
        long = judged.burn_rate(w.long_seconds, inp.now, objective)
        short = judged.burn_rate(w.short_seconds, inp.now, objective)
        if long is not None and short is not None and long > w.factor and short > w.factor:
            fired.append(
                f"{_fmt(long)}× over {w.long_seconds / 3600:.3g} h and {_fmt(short)}× over "
                f"{w.short_seconds / 60:.3g} min (threshold {w.factor}×)"
            )
    summary = f"error budget of the {what} burning: " + "; ".join(fired) if fired else "error budget burn within limits"
    return _condition(inp, rule, bool(fired), summary, inp.settings.burn_rate_for, {"burn": burn})


def slo_burn_page(inp: RuleInput) -> Condition:
    return _burn(inp, "SLOBurnRatePage", PAGE_WINDOWS, "page")


def slo_burn_ticket(inp: RuleInput) -> Condition:
    return _burn(inp, "SLOBurnRateTicket", TICKET_WINDOWS, "ticket")


def _token_burn(inp: RuleInput, name: str, rule: str, windows: tuple[BurnWindow, ...], burn: str) -> Condition:
    """Burn of a TTFT or ITL objective's own error budget; never active when the spec does not declare it."""
    declared = inp.spec.slo.ttft if name == "ttft" else inp.spec.slo.itl
    history = inp.token_histories.get(name)
    if declared is None or history is None:
        return _condition(inp, rule, False, f"no {name.upper()} objective declared", inp.settings.burn_rate_for)
    what = f"{declared.ms:g} ms / {inp.spec.slo.objective:g} {name.upper()} SLO"
    return _burn(inp, rule, windows, burn, history, what)


def ttft_burn_page(inp: RuleInput) -> Condition:
    return _token_burn(inp, "ttft", "TTFTBurnRatePage", PAGE_WINDOWS, "page")


def ttft_burn_ticket(inp: RuleInput) -> Condition:
    return _token_burn(inp, "ttft", "TTFTBurnRateTicket", TICKET_WINDOWS, "ticket")


def itl_burn_page(inp: RuleInput) -> Condition:
    return _token_burn(inp, "itl", "ITLBurnRatePage", PAGE_WINDOWS, "page")


def itl_burn_ticket(inp: RuleInput) -> Condition:
    return _token_burn(inp, "itl", "ITLBurnRateTicket", TICKET_WINDOWS, "ticket")


def _at_max(inp: RuleInput) -> bool:
    if inp.decision is None:
        return False
    return inp.decision.current_replicas >= inp.spec.max_replicas


def _fresh(inp: RuleInput, name: str) -> float | None:
    limit = inp.settings.metrics_stale_seconds
    return inp.observation.fresh(name, inp.stale_seconds if limit is None else limit, inp.now)


def _breaching(inp: RuleInput) -> tuple[bool, str]:
    """Whether a declared objective is breached now, on fresh signals (``governor.model.slo.verdicts``)."""
    judged = verdicts(inp.spec.slo, lambda name: _fresh(inp, name))
    reasons = []
    for v in judged:
        if v.met:
            continue
        if v.share is not None:
            what = "SLO" if v.objective == "latency" else v.objective.upper()
            reasons.append(f"{what} attainment {v.share:.4g} < {inp.spec.slo.objective:g}")
        elif v.objective == "latency":
            reasons.append(f"p99 latency {v.measured_ms:.4g} ms > {v.limit_ms:g} ms")
        else:
            reasons.append(f"{v.objective.upper()} {v.measured_ms:.4g} ms > {v.limit_ms:g} ms")
    if reasons:
        return True, "; ".join(reasons)
    return False, "within every objective" if judged else "no latency signal"


def at_capacity_breaching(inp: RuleInput) -> Condition:
    breaching, why = _breaching(inp)
    active = _at_max(inp) and breaching
    summary = f"at maxReplicas={inp.spec.max_replicas} and still breaching the SLO: {why}"
    return _condition(inp, "AtCapacityBreachingSLO", active, summary, inp.settings.at_capacity_for)


def gpu_saturated(inp: RuleInput) -> Condition:
    util = _fresh(inp, "gpu_utilization_mean")
    threshold = inp.settings.gpu_saturation_threshold
    active = _at_max(inp) and util is not None and util >= threshold
    summary = f"GPU utilisation {_fmt(util)} ≥ {threshold:g} at maxReplicas={inp.spec.max_replicas}"
    return _condition(inp, "GPUSaturated", active, summary, inp.settings.gpu_saturation_for)


def cache_hit_low(inp: RuleInput) -> Condition:
    floor = inp.spec.targets.cache_hit_ratio_floor
    ratio = _fresh(inp, "cache_hit_ratio")
    active = floor is not None and ratio is not None and ratio < floor
    summary = f"cache-hit ratio {_fmt(ratio)} below the floor {_fmt(floor)}"
    return _condition(inp, "CacheHitRatioLow", active, summary, inp.settings.cache_hit_for)


def precision_degraded(inp: RuleInput) -> Condition:
    preferred = inp.spec.precision.preferred
    current = inp.decision.current_precision if inp.decision is not None else preferred
    active = current != preferred
    summary = f"serving {current.value} instead of the preferred {preferred.value}"
    return _condition(inp, "PrecisionDegraded", active, summary, inp.settings.precision_degraded_for)


def metrics_unavailable(inp: RuleInput) -> Condition:
    signals = ("request_rate", "slo_attainment", "latency_p99_ms", "ttft_ms", "itl_ms")
    active = all(_fresh(inp, name) is None for name in signals)
    summary = f"no fresh request rate or latency for this service (source: {inp.observation.source})"
    return _condition(inp, "MetricsUnavailable", active, summary, inp.settings.metrics_unavailable_for)


def rollout_failed(inp: RuleInput) -> Condition:
    message = inp.context.rollout_message or "a rollout did not become ready and was rolled back"
    return _condition(inp, "RolloutFailed", inp.context.rollout_failed, message, inp.settings.rollout_failed_for)


RULES: Mapping[str, Callable[[RuleInput], Condition]] = {
    "SLOBurnRatePage": slo_burn_page,
    "SLOBurnRateTicket": slo_burn_ticket,
    "TTFTBurnRatePage": ttft_burn_page,
    "TTFTBurnRateTicket": ttft_burn_ticket,
    "ITLBurnRatePage": itl_burn_page,
    "ITLBurnRateTicket": itl_burn_ticket,
    "AtCapacityBreachingSLO": at_capacity_breaching,
    "GPUSaturated": gpu_saturated,
    "CacheHitRatioLow": cache_hit_low,
    "PrecisionDegraded": precision_degraded,
    "MetricsUnavailable": metrics_unavailable,
    "RolloutFailed": rollout_failed,
}


def evaluate_rules(inp: RuleInput) -> tuple[Condition, ...]:
    """Every enabled rule's condition, with the service's severity overrides applied."""
    alerts = inp.spec.alerts
    result = []
    for rule, check in RULES.items():
        if rule in alerts.disabled:
            continue
        cond = check(inp)
        override = alerts.severity_overrides.get(rule)
        if override is not None and override in {s.value for s in Severity}:
            severity = Severity(override)
            labels = frozen_labels({**cond.labels, "severity": severity.value})
            cond = Condition(cond.rule, cond.active, severity, labels, cond.annotations, cond.for_seconds)
        result.append(cond)
    return tuple(result)
