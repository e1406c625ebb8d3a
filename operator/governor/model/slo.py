"""How a service stands against its SLO: one place for the rules, shared by the policy, conditions and alerts.

A service may declare a request-latency objective (``latencyMs`` at ``latencyQuantile``), a time
to first token (``ttft``) and an inter-token latency (``itl``); ``objective`` is the share of
requests that must meet all of them (goodput). Each measured value is optional: a missing one
cannot breach.

- ``verdicts``: each declared objective that was measured, judged by its attainment against
  ``objective`` when that is measured, else by its quantile against its threshold. The ``SLOMet``
  condition and the ``AtCapacityBreachingSLO`` alert report these.
- ``breach``: the decision engine's trigger, stricter: any measured signal beyond its limit (the
  quantile even while attainment holds, and goodput), the first found as a one-line reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from governor.model.spec import SLOSpec


@dataclass(frozen=True)
class Verdict:
    """One declared objective, judged."""

    objective: str  # "latency", "ttft" or "itl"
    met: bool
    share: float | None  # the measured attainment, when it judged
    measured_ms: float | None  # the measured quantile, when it judged (no attainment measured)
    limit_ms: float
    quantile: float


def verdicts(slo: SLOSpec, read: Callable[[str], float | None]) -> tuple[Verdict, ...]:
    """Each declared and measured objective, judged; ``read(name)`` gives an ``Observation`` field's value
    (``slo_attainment``, ``latency_p99_ms``, ``ttft_attainment``, ``ttft_ms``, ...) or ``None``.

    Request latency is not judged when the spec declares only token objectives."""
    declared: list[tuple[str, str, str, float, float]] = []
    if slo.latency_declared:
        declared.append(("latency", "slo_attainment", "latency_p99_ms", slo.latency_ms, 0.99))
    for name, token in (("ttft", slo.ttft), ("itl", slo.itl)):
        if token is not None:
            declared.append((name, f"{name}_attainment", f"{name}_ms", token.ms, token.quantile))
    out = []
    for name, share_field, value_field, limit, quantile in declared:
        share = read(share_field)
        if share is not None:
            out.append(Verdict(name, share >= slo.objective, share, None, limit, quantile))
            continue
        value = read(value_field)
        if value is not None:
            out.append(Verdict(name, value <= limit, None, value, limit, quantile))
    return tuple(out)


def breach(
    slo: SLOSpec,
    *,
    latency_ms: float | None = None,
    attainment: float | None = None,
    ttft_ms: float | None = None,
    itl_ms: float | None = None,
    goodput: float | None = None,
) -> str | None:
    """Why the SLO is breaching, or None; ``attainment`` is the request-latency share within ``latencyMs``."""
    if slo.latency_declared:
        if latency_ms is not None and latency_ms > slo.latency_ms:
            return f"p{_pct(slo.latency_quantile)} {latency_ms:.0f} ms > SLO {slo.latency_ms:.0f} ms"
        if attainment is not None and attainment < slo.objective:
            return f"SLO attainment {attainment:.2%} < objective {slo.objective:.2%}"
    if slo.ttft is not None and ttft_ms is not None and ttft_ms > slo.ttft.ms:
        return f"TTFT p{_pct(slo.ttft.quantile)} {ttft_ms:.0f} ms > SLO {slo.ttft.ms:.0f} ms"
    if slo.itl is not None and itl_ms is not None and itl_ms > slo.itl.ms:
        return f"ITL p{_pct(slo.itl.quantile)} {itl_ms:.1f} ms > SLO {slo.itl.ms:.0f} ms"
    if slo.token_objectives and goodput is not None and goodput < slo.objective:
        return f"goodput {goodput:.2%} < objective {slo.objective:.2%}"
    return None


def _pct(quantile: float) -> str:
    return f"{quantile * 100:g}"
