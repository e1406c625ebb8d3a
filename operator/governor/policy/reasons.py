"""Reasons an SRE can read: why this many replicas, why this precision, what held it back.

Most important first: a precision change, then a hold, then what set the count (the
dominant signal with its numbers), then what limited it (stabilisation, rate limits, bounds).
"""

from __future__ import annotations

from dataclasses import dataclass

from governor.model.decision import ScaleDirection
from governor.model.spec import ServiceSpec, SLOSpec
from governor.policy.signals import SignalView


@dataclass(frozen=True)
class ScaleOutcome:
    """How the replica count came about, step by step."""

    current: int
    raw: int  # largest signal, within bounds, after the hold rules
    stabilized: int
    final: int
    direction: ScaleDirection
    held: str | None  # why scale-down was held (missing data, swap)


def reasons(
    spec: ServiceSpec, view: SignalView, recs: dict[str, int], precision_reason: str | None, outcome: ScaleOutcome
) -> tuple[str, ...]:
    out: list[str] = []
    if precision_reason:
        out.append(precision_reason)
    if outcome.held:
        out.append(outcome.held)
    out.append(_driver(spec, view, recs, outcome))
    out.extend(_limits(spec, outcome))
    return tuple(out)


def _driver(spec: ServiceSpec, view: SignalView, recs: dict[str, int], outcome: ScaleOutcome) -> str:
    if not recs:
        return f"no usable signal: keeping {outcome.current} replicas"
    name = max(recs, key=recs.__getitem__)
    value = recs[name]
    if name == "latency":
        forecast = view.arrival_forecast or 0.0
        now = view.arrival_now or 0.0
        text = (
            f"{_slo_text(spec.slo)} needs {value} replicas "
            f"for {view.arrival_plan or 0.0:.1f} req/s effective (now {now:.1f}, forecast {forecast:.1f})"
        )
    elif name == "gpu":
        util = view.gpu_utilization or 0.0
        target = spec.targets.gpu_utilization or 0.0
        text = f"GPU utilisation {util:.0%} vs target {target:.0%} on {view.ready} ready → {value} replicas"
    elif name == "gpu-guard":
        util = view.gpu_utilization or 0.0
        text = f"GPU utilisation {util:.0%} near saturation on {view.ready} ready → {value} replicas (SLO met)"
    elif name in ("ttft", "itl", "kv-cache"):
        text = _token_text(spec, view, name, value)
    elif name == "step-up":
        text = f"{value} replicas ready before the precision steps up"
    else:
        per = spec.targets.concurrency_per_replica or 0.0
        text = f"{view.in_flight or 0.0:.0f} requests in flight at {per:g} per replica → {value} replicas"
    others = ", ".join(f"{k} {v}" for k, v in recs.items() if k != name)
    return f"{text} (others: {others})" if others else text


def _token_text(spec: ServiceSpec, view: SignalView, name: str, value: int) -> str:
    """``TTFT SLO p90 ≤ 3000 ms binds: 6 replicas for 8.0 req/s of 4000+1000 tokens (12% prefix hits)``."""
    slo = spec.slo
    objective = {
        "ttft": f"TTFT SLO p{slo.ttft.quantile * 100:g} ≤ {slo.ttft.ms:.0f} ms" if slo.ttft else "TTFT SLO",
        "itl": f"ITL SLO p{slo.itl.quantile * 100:g} ≤ {slo.itl.ms:.0f} ms" if slo.itl else "ITL SLO",
        "kv-cache": "KV-cache capacity",
    }[name]
    shape = ""
    if view.tokens is not None:
        load = view.tokens.load
        hits = 1.0 - load.uncached_tokens / load.prompt_tokens if load.prompt_tokens > 0.0 else 0.0
        shape = f" of {load.prompt_tokens:.0f}+{load.output_tokens:.0f} tokens ({hits:.0%} prefix hits)"
    return f"{objective} binds: {value} replicas for {view.arrival_plan or 0.0:.1f} req/s{shape}"


_SLO_TEXT: dict[int, tuple[SLOSpec, str]] = {}


def _slo_text(slo: SLOSpec) -> str:
    """``latency SLO p99 ≤ 8000 ms``, formatted once per SLOSpec object (checked by identity)."""
    entry = _SLO_TEXT.get(id(slo))
    if entry is not None and entry[0] is slo:
        return entry[1]
    if len(_SLO_TEXT) > 100_000:
        _SLO_TEXT.clear()
    text = f"latency SLO p{slo.latency_quantile * 100:g} ≤ {slo.latency_ms:.0f} ms"
    _SLO_TEXT[id(slo)] = (slo, text)
    return text


def _limits(spec: ServiceSpec, o: ScaleOutcome) -> list[str]:
    out: list[str] = []
    b = spec.behavior
    if o.stabilized > o.raw and o.stabilized > o.final - 1 and o.raw < o.current:
        out.append(f"scale-down limited by stabilisation window ({b.scale_down.stabilization_window_seconds} s)")
    if o.stabilized < o.raw and o.raw > o.current:
        out.append(f"scale-up limited by stabilisation window ({b.scale_up.stabilization_window_seconds} s)")
    if o.final < o.stabilized and o.final < spec.max_replicas:
        out.append(f"scale-up rate-limited to {o.final} by behavior.scaleUp policies")
    if o.final > o.stabilized and o.final > spec.min_replicas:
        out.append(f"scale-down rate-limited to {o.final} by behavior.scaleDown policies")
    if o.raw >= spec.max_replicas and o.final == spec.max_replicas:
        out.append(f"at maxReplicas {spec.max_replicas}")
    if o.direction is ScaleDirection.NONE and not out:
        out.append(f"steady at {o.current} replicas")
    return out
