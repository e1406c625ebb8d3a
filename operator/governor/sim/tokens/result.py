"""What one token-mode run leaves behind, and how its requests are judged.

A request that arrived in the measured run is judged on every declared objective: TTFT
(first token − arrival), TPOT (mean decode step: time from the first to the last token over
the tokens after the first) and, when ``latency_declared``, its end-to-end latency. It is
*good* (goodput) when it meets all of them; combined attainment is the good share. A request
its client dropped (queued past the timeout) violates everything. One still unfinished at
the end of the run is left out, unless it has already waited past the TTFT objective
without a first token, which makes it a TTFT (and combined) violation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Outcomes:
    """Per request, what happened to it (mutable, filled by the engine)."""

    started: np.ndarray  # when its prefill was placed on a replica (the last time, if retried)
    first_token: np.ndarray  # nan until its prompt is done
    finish: np.ndarray  # nan until done (or dropped)
    cached: np.ndarray  # prompt tokens served from the prefix cache
    quality: np.ndarray  # relative quality of the replica that finished it
    dropped: np.ndarray  # bool
    retries: np.ndarray  # times its replica stopped serving under it

    @classmethod
    def empty(cls, n: int) -> Outcomes:
        nan = np.full(n, np.nan)
        return cls(nan.copy(), nan.copy(), nan.copy(), np.zeros(n), nan.copy(), np.zeros(n, bool), np.zeros(n, int))

    def part(self, index: slice) -> Outcomes:
        return Outcomes(*(getattr(self, f)[index].copy() for f in self.__dataclass_fields__))


@dataclass(frozen=True, eq=False)
class TokenRunResult:
    policy: str
    configuration: str
    duration_s: int
    arrival_s: np.ndarray  # the measured requests
    isl: np.ndarray
    osl: np.ndarray
    outcomes: Outcomes
    ttft_limit_s: float  # inf when not declared
    itl_limit_s: float
    latency_limit_s: float
    alive: np.ndarray  # pods per second (starting and draining ones included)
    quality: np.ndarray  # mean relative quality of the serving replicas, per second
    kv_usage: np.ndarray  # mean KV-cache usage of the ready replicas, per second
    precision: tuple[str, ...]  # the Deployment's precision, per second
    swaps: int
    swap_log: tuple[tuple[float, str], ...]
    scale_actions: int

    @property
    def ttft_s(self) -> np.ndarray:
        ttft: np.ndarray = self.outcomes.first_token - self.arrival_s
        return ttft

    @property
    def tpot_s(self) -> np.ndarray:
        steps = np.maximum(self.osl - 1, 1)
        tpot = (self.outcomes.finish - self.outcomes.first_token) / steps
        out: np.ndarray = np.where(self.osl > 1, tpot, 0.0)
        return out

    def verdicts(self) -> dict[str, np.ndarray]:
        """Per request: judged and ok masks for ttft, itl and combined (see the module docstring)."""
        out = self.outcomes
        dropped = out.dropped
        finished = ~np.isnan(out.finish) & ~dropped
        has_first = ~np.isnan(out.first_token)
        late_waiting = ~has_first & ~dropped & (self.duration_s - self.arrival_s > self.ttft_limit_s)
        ttft_ok = has_first & (self.ttft_s <= self.ttft_limit_s)
        itl_ok = finished & (self.tpot_s <= self.itl_limit_s)
        latency_ok = finished & (out.finish - self.arrival_s <= self.latency_limit_s)
        ttft_judged = has_first | dropped | late_waiting
        itl_judged = finished | dropped
        combined_judged = finished | dropped | late_waiting | (has_first & ~ttft_ok)
        return {
            "ttft_judged": ttft_judged,
            "ttft_ok": ttft_ok & ttft_judged,
            "itl_judged": itl_judged,
            "itl_ok": itl_ok,
            "combined_judged": combined_judged,
            "combined_ok": ttft_ok & itl_ok & latency_ok,
        }


@dataclass(frozen=True)
class TokenSummary:
    policy: str
    configuration: str
    requests: int  # arrived in the measured run
    judged: int
    good: int
    attainment: float  # combined: share meeting every declared objective
    ttft_attainment: float
    itl_attainment: float
    ttft_violations: int
    ttft_p90_s: float
    tpot_p90_s: float
    dropped: int
    retried: int
    average_replicas: float
    gpu_hours: float
    served_quality: float
    swaps: int

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _share(ok: np.ndarray, judged: np.ndarray) -> float:
    n = int(judged.sum())
    return float(ok.sum()) / n if n else 1.0


def _p90(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(np.quantile(values, 0.9, method="higher")) if values.size else math.nan


def summarize_tokens(result: TokenRunResult) -> TokenSummary:
    v = result.verdicts()
    out = result.outcomes
    finished = ~np.isnan(out.finish) & ~out.dropped
    quality = out.quality[finished & ~np.isnan(out.quality)]
    return TokenSummary(
        policy=result.policy,
        configuration=result.configuration,
        requests=int(result.arrival_s.size),
        judged=int(v["combined_judged"].sum()),
        good=int(v["combined_ok"].sum()),
        attainment=_share(v["combined_ok"], v["combined_judged"]),
        ttft_attainment=_share(v["ttft_ok"], v["ttft_judged"]),
        itl_attainment=_share(v["itl_ok"], v["itl_judged"]),
        ttft_violations=int((v["ttft_judged"] & ~v["ttft_ok"]).sum()),
        ttft_p90_s=_p90(np.where(out.dropped, np.inf, result.ttft_s)),
        tpot_p90_s=_p90(np.where(finished, result.tpot_s, np.nan)),
        dropped=int(out.dropped.sum()),
        retried=int((out.retries > 0).sum()),
        average_replicas=float(result.alive.mean()) if result.alive.size else 0.0,
        gpu_hours=float(result.alive.sum()) / 3600.0,
        served_quality=float(quality.mean()) if quality.size else 1.0,
        swaps=result.swaps,
    )
