"""Build an InferenceService's ``status`` from what one reconcile saw.

Pure: the control loop and the handlers pass in the registry entry, the workload's state, the
observation and the decision; out comes the whole status dict with conditions per the Kubernetes
API conventions (``governor.model.conditions``: lastTransitionTime moves only on a flip). The
loop hands it to ``governor.kube.status.StatusWriter``, which writes it only when its ``material``
parts differ, or on the slow heartbeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governor.actuate.actuator import OWNED_STATUS_KEYS, ConditionUpdate
from governor.actuate.render import selector_string
from governor.actuate.workloads import WorkloadState
from governor.controller.registry import Entry
from governor.model import Decision, Observation, ServiceSpec
from governor.model import conditions as cond
from governor.model.times import iso

# Status fields other layers own (actuation's swap record, alerting's alerts, the policy's state):
# carried over from the previous status as they are.
CARRIED_KEYS = (*OWNED_STATUS_KEYS, "alerts", "alertBudget", "policyState")


@dataclass(frozen=True)
class Seen:
    """Everything one reconcile of one service saw."""

    entry: Entry
    workload: WorkloadState | None
    workload_error: str | None = None  # why the workload could not be read / does not exist
    observation: Observation | None = None
    decision: Decision | None = None
    conditions: tuple[ConditionUpdate, ...] = ()  # reported by actuation (Swapping, SwapFailed)


def build_status(seen: Seen, previous: Mapping[str, Any], now: float) -> dict[str, Any]:
    entry = seen.entry
    now_iso = iso(now)
    status: dict[str, Any] = {"observedGeneration": entry.generation}
    conditions: list[dict[str, Any]] = list(previous.get("conditions") or [])
    if entry.spec is None:
        message = "; ".join(str(e) for e in entry.errors) or "invalid spec"
        conditions = cond.set_condition(
            conditions, cond.INVALID, True, "InvalidSpec", message, now_iso, entry.generation
        )
        conditions = cond.set_condition(
            conditions, cond.READY, False, "InvalidSpec", message, now_iso, entry.generation
        )
        status["conditions"] = conditions
        return status
    spec = entry.spec
    status.update({k: previous[k] for k in CARRIED_KEYS if previous.get(k) is not None})
    conditions = cond.set_condition(
        conditions, cond.INVALID, False, "SpecValid", "spec is valid", now_iso, entry.generation
    )
    for update in seen.conditions:
        conditions = cond.set_condition(
            conditions, update.type, update.status, update.reason, update.message, now_iso, entry.generation
        )
    status["selector"] = selector_string(spec)
    status["precision"] = str(previous.get("precision") or spec.precision.preferred)
    if seen.workload is not None:
        status["replicas"] = seen.workload.replicas
        status["readyReplicas"] = seen.workload.ready_replicas
    if seen.decision is not None:
        status["desiredReplicas"] = seen.decision.replicas
        status["decision"] = {"reasons": list(seen.decision.reasons), "at": iso(seen.decision.at)}
    elif "desiredReplicas" in previous:
        status["desiredReplicas"] = previous["desiredReplicas"]
    if seen.observation is not None:
        status["metrics"] = metrics_summary(seen.observation)
        conditions = _metrics_condition(conditions, seen.observation, now_iso, entry.generation)
    for kind, (state, reason, message) in service_conditions(spec, seen, status["precision"]).items():
        conditions = cond.set_condition(conditions, kind, state, reason, message, now_iso, entry.generation)
    ready, reason, message = ready_condition(seen)
    conditions = cond.set_condition(conditions, cond.READY, ready, reason, message, now_iso, entry.generation)
    status["conditions"] = conditions
    return status


def slo_verdicts(spec: ServiceSpec, obs: Observation | None) -> list[tuple[bool, str]]:
    """(met, words) for each declared objective that was measured: request latency, TTFT, ITL.

    Each is judged by its attainment against ``objective`` when measured, else by its quantile
    against its threshold. Request latency is not judged when the spec declares only token objectives.
    """
    if obs is None:
        return []
    slo, out = spec.slo, []
    if slo.latency_declared:
        attained, p99 = obs.slo_attainment, obs.latency_p99_ms
        if attained is not None:
            text = f"{attained.value:.2%} of requests within {slo.latency_ms:g} ms (objective {slo.objective:.2%})"
            out.append((attained.value >= slo.objective, text))
        elif p99 is not None:
            out.append((p99.value <= slo.latency_ms, f"p99 {p99.value:.0f} ms vs SLO {slo.latency_ms:g} ms"))
    for name, label, what in (("ttft", "TTFT", "requests' first token"), ("itl", "ITL", "token gaps")):
        declared = slo.ttft if name == "ttft" else slo.itl
        if declared is None:
            continue
        share, measured = getattr(obs, f"{name}_attainment"), getattr(obs, f"{name}_ms")
        if share is not None:
            text = f"{label}: {share.value:.2%} of {what} within {declared.ms:g} ms (objective {slo.objective:.2%})"
            out.append((share.value >= slo.objective, text))
        elif measured is not None:
            text = f"{label} p{declared.quantile * 100:g} {measured.value:.0f} ms vs SLO {declared.ms:g} ms"
            out.append((measured.value <= declared.ms, text))
    return out


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


def _metrics_condition(
    conditions: list[dict[str, Any]], obs: Observation, now_iso: str, gen: int
) -> list[dict[str, Any]]:
    if obs.available:
        return cond.set_condition(
            conditions, cond.METRICS_AVAILABLE, True, "MetricsFresh", f"source: {obs.source}", now_iso, gen
        )
    message = f"no request rate or latency measured (source: {obs.source}); replicas held"
    return cond.set_condition(conditions, cond.METRICS_AVAILABLE, False, "NoMetrics", message, now_iso, gen)


def metrics_summary(obs: Observation) -> dict[str, Any]:
    summary: dict[str, Any] = {"observedAt": iso(obs.at), "source": obs.source}
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
