"""One rule for "is the SLO breaching now", shared by the policy, conditions and alerts.

A service may declare a request-latency objective (``latencyMs`` at ``latencyQuantile``), a time
to first token (``ttft``) and an inter-token latency (``itl``); ``objective`` is the share of
requests that must meet all of them (goodput). Each measured value is optional: a missing one
cannot breach. The first breach found is returned as a one-line reason.
"""

from __future__ import annotations

from governor.model.spec import SLOSpec


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
