"""What both sources derive alike from a token-streaming server's series, given the service's SLO.

A TTFT or ITL quantile is measured at the quantile the service's objective names (0.9 when it
declares none, so status still shows one); its attainment is the share at or under the objective's
threshold, from the same bucket arithmetic as the request-latency SLO (``histogram.py``).

Goodput — the share of requests meeting every declared objective — needs to know, per request,
whether it met all of them at once. A server's histograms only give each objective's share on its
own, so both sources report the lower bound ``1 − Σ(1 − attainmentᵢ)`` (every miss counted as a
different request), which equals the truth when misses coincide least and is never above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from governor.model import SLOSpec, TokenLatencySLO

TOKEN_HISTOGRAMS: Final = ("ttft", "itl")
DEFAULT_QUANTILE: Final = TokenLatencySLO(ms=1.0).quantile


def objective(slo: SLOSpec, name: str) -> TokenLatencySLO | None:
    """The service's ``ttft`` or ``itl`` objective, if it declares one."""
    return slo.ttft if name == "ttft" else slo.itl


def quantile_for(slo: SLOSpec, name: str) -> float:
    """The quantile at which ``<name>_ms`` is reported for this service."""
    declared = objective(slo, name)
    return declared.quantile if declared is not None else DEFAULT_QUANTILE


def quantile_signal(name: str, q: float) -> str:
    """The tag of a batched query's rows holding the ``q``-quantile of ``name`` (``ttft_ms@0.9``)."""
    return f"{name}_ms@{q:g}"


def goodput_lower_bound(slo: SLOSpec, attainment: Mapping[str, float | None]) -> float | None:
    """Share meeting every declared objective, as the lower bound ``1 − Σ(1 − aᵢ)``; ``None`` if one is missing.

    ``attainment`` maps ``slo_attainment``, ``ttft_attainment`` and ``itl_attainment`` to their
    shares; only the objectives the service declares count.
    """
    judged = (
        ("slo_attainment", slo.latency_declared),
        ("ttft_attainment", slo.ttft is not None),
        ("itl_attainment", slo.itl is not None),
    )
    shares = [attainment.get(name) for name, declared in judged if declared]
    if not shares:
        return None
    present = [s for s in shares if s is not None]
    if len(present) != len(shares):
        return None
    return min(1.0, max(0.0, 1.0 - sum(1.0 - s for s in present)))
