"""Compose an InferenceService's ``ServiceStatus`` from what one reconcile saw and what each layer produced.

Pure: the reconcile passes in the registry entry, the workload's state, the observation, the decision,
the conditions other layers reported, and the parts the policy, the Actuator and the alert engine own;
out comes the whole typed status, conditions per the Kubernetes API conventions
(``governor.model.conditions``: lastTransitionTime moves only on a flip). What this reconcile did not
see (no workload, no observation, no decision) is carried over from the prior status. The reconcile
hands the result to ``governor.kube.status.StatusWriter``, which writes it only when its material
parts differ, or on the slow heartbeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from governor.actuate.render import selector_string
from governor.actuate.workloads import WorkloadState
from governor.controller.registry import Entry
from governor.model import Decision, Observation, ServiceSpec
from governor.model import conditions as cond
from governor.model.conditions import ConditionUpdate
from governor.model.slo import verdicts
from governor.model.status import (
    ActuationStatus,
    AlertStatus,
    DecisionStatus,
    JsonObject,
    ServiceStatus,
    WorkloadStatus,
)
from governor.model.times import iso


@dataclass(frozen=True)
class Seen:
    """Everything one reconcile of one service saw."""

    entry: Entry
    workload: WorkloadState | None
    workload_error: str | None = None  # why the workload could not be read / does not exist
    observation: Observation | None = None
    decision: Decision | None = None
    conditions: tuple[ConditionUpdate, ...] = ()  # reported by actuation (Swapping, SwapFailed) and alerting


@dataclass(frozen=True)
class Parts:
    """The parts of the status that other layers own, as they produced them this reconcile."""

    policy: JsonObject | None = None
    actuation: ActuationStatus = field(default_factory=ActuationStatus)
    alerts: AlertStatus = field(default_factory=AlertStatus)

    @classmethod
    def of(cls, status: ServiceStatus) -> Parts:
        return cls(status.policy, status.actuation, status.alerts)


def compose_status(seen: Seen, prior: ServiceStatus, parts: Parts, now: float) -> ServiceStatus:
    entry = seen.entry
    now_iso, generation = iso(now), entry.generation
    updates: list[tuple[str, bool | str, str, str]] = []
    if entry.spec is None:
        message = "; ".join(str(e) for e in entry.errors) or "invalid spec"
        updates += [(cond.INVALID, True, "InvalidSpec", message), (cond.READY, False, "InvalidSpec", message)]
        conditions = _set(prior.conditions, updates, now_iso, generation)
        return ServiceStatus(generation, conditions, prior.workload, prior.metrics, prior.decision, *_owned(parts))
    spec = entry.spec
    updates.append((cond.INVALID, False, "SpecValid", "spec is valid"))
    updates += [(u.type, u.status, u.reason, u.message) for u in seen.conditions]
    actuation = parts.actuation
    if actuation.precision is None:
        actuation = replace(actuation, precision=spec.precision.preferred.value)
    observed = seen.workload
    workload = WorkloadStatus(
        selector_string(spec),
        observed.replicas if observed is not None else prior.workload.replicas,
        observed.ready_replicas if observed is not None else prior.workload.ready_replicas,
    )
    decision = prior.decision
    if seen.decision is not None:
        decision = DecisionStatus(seen.decision.replicas, seen.decision.reasons, iso(seen.decision.at))
    metrics = prior.metrics
    if seen.observation is not None:
        metrics = metrics_summary(seen.observation)
        updates.append((cond.METRICS_AVAILABLE, *metrics_condition(seen.observation)))
    precision = actuation.precision or spec.precision.preferred.value
    updates += [(kind, *verdict) for kind, verdict in service_conditions(spec, seen, precision).items()]
    updates.append((cond.READY, *ready_condition(seen)))
    conditions = _set(prior.conditions, updates, now_iso, generation)
    return ServiceStatus(generation, conditions, workload, metrics, decision, parts.policy, actuation, parts.alerts)


def _owned(parts: Parts) -> tuple[JsonObject | None, ActuationStatus, AlertStatus]:
    return parts.policy, parts.actuation, parts.alerts


def _set(
    conditions: Sequence[JsonObject], updates: Sequence[tuple[str, bool | str, str, str]], now_iso: str, gen: int
) -> tuple[JsonObject, ...]:
    return tuple(cond.set_conditions(conditions, updates, now_iso, gen))


WHAT = {"latency": "requests", "ttft": "requests' first token", "itl": "token gaps"}


def slo_verdicts(spec: ServiceSpec, obs: Observation | None) -> list[tuple[bool, str]]:
    """(met, words) for each declared objective that was measured (``governor.model.slo.verdicts``)."""
    if obs is None:
        return []
    slo, out = spec.slo, []
    for v in verdicts(slo, lambda name: _value(obs, name)):
        label = "" if v.objective == "latency" else f"{v.objective.upper()}: "
        if v.share is not None:
            text = (
                f"{label}{v.share:.2%} of {WHAT[v.objective]} within {v.limit_ms:g} ms (objective {slo.objective:.2%})"
            )
        elif v.objective == "latency":
            text = f"p99 {v.measured_ms:.0f} ms vs SLO {v.limit_ms:g} ms"
        else:
            text = f"{v.objective.upper()} p{v.quantile * 100:g} {v.measured_ms:.0f} ms vs SLO {v.limit_ms:g} ms"
        out.append((v.met, text))
    return out


def _value(obs: Observation, name: str) -> float | None:
    sample = getattr(obs, name)
    return sample.value if sample is not None else None


def service_conditions(spec: ServiceSpec, seen: Seen, precision: str) -> dict[str, tuple[str, str, str]]:
    """SLOMet, AtCapacity and PrecisionDegraded: how the service stands against its SLO and its budget."""
    out: dict[str, tuple[str, str, str]] = {}
    verdicts = slo_verdicts(spec, seen.observation)
    if verdicts:
        met = all(ok for ok, _ in verdicts)
        text = "; ".join(words for ok, words in sorted(verdicts, key=lambda v: v[0]))  # breaches first
        out[cond.SLO_MET] = (cond.TRUE if met else cond.FALSE, "WithinSLO" if met else "SLOBreached", text)
    else:
        out[cond.SLO_MET] = (cond.UNKNOWN, "NoLatencyData", "no latency measured; replicas held")
    decision = seen.decision
    if decision is not None:
        wanted = max(decision.recommendations.values(), default=decision.replicas)
        at_max = decision.replicas >= spec.max_replicas
        if at_max and wanted > spec.max_replicas:
            text = f"{spec.max_replicas}/{spec.max_replicas} replicas; the SLO asks for {wanted}"
            out[cond.AT_CAPACITY] = (cond.TRUE, "MaxReplicasReached", text)
        else:
            text = f"{decision.replicas}/{spec.max_replicas} replicas"
            out[cond.AT_CAPACITY] = (cond.FALSE, "WithinCapacity", text)
    preferred = str(spec.precision.preferred)
    if precision != preferred:
        text = f"serving {precision} instead of the preferred {preferred}"
        out[cond.PRECISION_DEGRADED] = (cond.TRUE, "PrecisionLowered", text)
    else:
        out[cond.PRECISION_DEGRADED] = (cond.FALSE, "PreferredPrecision", f"serving {preferred}")
    return out


def ready_condition(seen: Seen) -> tuple[bool, str, str]:
    spec = seen.entry.spec
    if spec is None:
        return False, "InvalidSpec", "spec is invalid"
    if seen.workload is None:
        if spec.owned and seen.workload_error:
            return False, "WorkloadNotOwned", seen.workload_error
        if spec.owned:
            return False, "WorkloadMissing", f"Deployment {spec.name} does not exist yet"
        return False, "TargetNotFound", seen.workload_error or "scaleTargetRef not found"
    workload = seen.workload
    text = f"{workload.ready_replicas}/{workload.replicas} replicas ready"
    if workload.replicas == 0 or workload.ready_replicas >= 1:
        return True, "ReplicasReady", text
    return False, "ReplicasNotReady", text


def metrics_condition(obs: Observation) -> tuple[bool, str, str]:
    if obs.available:
        return True, "MetricsFresh", f"source: {obs.source}"
    return False, "NoMetrics", f"no request rate or latency measured (source: {obs.source}); replicas held"


def metrics_summary(obs: Observation) -> dict[str, str | float]:
    summary: dict[str, str | float] = {"observedAt": iso(obs.at), "source": obs.source}
    for key, sample in (
        ("rps", obs.request_rate),
        ("latencyP99Ms", obs.latency_p99_ms),
        ("cacheHitRatio", obs.cache_hit_ratio),
        ("gpuUtilization", obs.gpu_utilization_mean),
        ("ttftMs", obs.ttft_ms),
        ("itlMs", obs.itl_ms),
        ("ttftAttainment", obs.ttft_attainment),
        ("itlAttainment", obs.itl_attainment),
        ("goodput", obs.goodput_attainment),
        ("queueWaitMs", obs.queue_wait_ms),
        ("promptTokensPerSecond", obs.prompt_tokens_rate),
        ("generationTokensPerSecond", obs.generation_tokens_rate),
        ("prefixCacheHitRatio", obs.prefix_cache_hit_ratio),
        ("kvCacheUsage", obs.kv_cache_usage_mean),
        ("kvCacheUsageMax", obs.kv_cache_usage_max),
    ):
        if sample is not None:
            summary[key] = round(sample.value, 4)
    return summary
