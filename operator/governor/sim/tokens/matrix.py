"""The token-mode benchmark: every token policy on llm-d's ramp (many seeds) and the trace cells.

A *cell* is a token scenario at a seed (a trace also at a rate); every policy runs on its
identical requests. The targets are promises about Governor, judged over the cells:

* on ``llmd-staged-ramp`` Governor with precision swaps off (``governor-bf16``) reaches, as the
  median over the seeds, ≥ 98 % combined attainment at ≤ 5.93 average replicas (llm-d's
  published replica count) or ≥ 95.8 % (llm-d's published attainment) at ≤ 5.0;
* on every trace cell no baseline dominates Governor: none has higher combined attainment,
  fewer GPU-hours and at least its served quality all at once;
* on every cell Governor has ≥ 3× fewer TTFT-violating requests than the same engine on its
  request-rate model (``governor-request-model``) at no more GPU-hours (none against none
  counts as met).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from governor.sim.policies import TOKEN_POLICIES, build_token_controller
from governor.sim.tokens.engine import simulate_tokens
from governor.sim.tokens.result import TokenSummary, summarize_tokens
from governor.sim.tokens.scenarios import LLMD_PUBLISHED, TOKEN_TRACE_RATES, build_token_scenario

RAMP = "llmd-staged-ramp"
TRACE_SEEDS = (0, 1, 2)
BASELINES = ("llmd-slo", "keda-queue", "keda-kv", "static-peak")  # rows that could dominate Governor
RAMP_ROW = "governor-bf16"
REQUEST_MODEL_ROW = "governor-request-model"
TTFT_FACTOR = 3.0
# (attainment at least, average replicas at most): either pair meets the ramp target.
RAMP_GOALS = ((0.98, LLMD_PUBLISHED.average_replicas), (LLMD_PUBLISHED.attainment, 5.0))


@dataclass(frozen=True)
class TokenCellKey:
    scenario: str
    seed: int
    rate: float | None = None

    def label(self) -> str:
        return f"{self.scenario} seed {self.seed}" + (f" @ {self.rate:g} req/s" if self.rate is not None else "")

    def sort_key(self) -> tuple[str, float, int]:
        return (self.scenario, self.rate or 0.0, self.seed)


@dataclass(frozen=True)
class TokenCell:
    key: TokenCellKey
    description: str
    runs: dict[str, TokenSummary]


def token_cells(ramp_seeds: list[int], trace_seeds: list[int], traces: bool = True) -> list[TokenCellKey]:
    keys = [TokenCellKey(RAMP, s) for s in ramp_seeds]
    if traces:
        for name, rates in TOKEN_TRACE_RATES.items():
            keys += [TokenCellKey(name, s, r) for r in rates for s in trace_seeds]
    return keys


def run_token_cell(key: TokenCellKey) -> TokenCell:
    scenario = build_token_scenario(key.scenario, key.seed, key.rate)
    runs = {p: summarize_tokens(simulate_tokens(scenario, build_token_controller(p, scenario))) for p in TOKEN_POLICIES}
    return TokenCell(key, scenario.description, runs)


@dataclass(frozen=True)
class RampRow:
    policy: str
    median_attainment: float
    worst_attainment: float
    median_replicas: float
    worst_replicas: float


def ramp_rows(cells: list[TokenCell]) -> list[RampRow]:
    ramp = [c for c in cells if c.key.scenario == RAMP]
    rows = []
    for policy in TOKEN_POLICIES:
        runs = [c.runs[policy] for c in ramp if policy in c.runs]
        if runs:
            att = [r.attainment for r in runs]
            reps = [r.average_replicas for r in runs]
            rows.append(RampRow(policy, statistics.median(att), min(att), statistics.median(reps), max(reps)))
    return rows


@dataclass(frozen=True)
class TokenVerdict:
    promise: str
    passed: bool
    cells_passed: int
    cells: int
    failing: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, failing=list(self.failing))


def _ramp_target(cells: list[TokenCell]) -> TokenVerdict:
    promise = (
        f"{RAMP}, {RAMP_ROW}: median combined attainment ≥ 98 % at ≤ {LLMD_PUBLISHED.average_replicas} average "
        f"replicas, or ≥ {LLMD_PUBLISHED.attainment:.1%} at ≤ 5.0"
    )
    row = next((r for r in ramp_rows(cells) if r.policy == RAMP_ROW), None)
    if row is None:
        return TokenVerdict(promise, False, 0, 0, ("no ramp cells",))
    ok = any(row.median_attainment >= a and row.median_replicas <= n for a, n in RAMP_GOALS)
    detail = f"median {row.median_attainment:.2%} at {row.median_replicas:.2f} replicas"
    n = sum(1 for c in cells if c.key.scenario == RAMP)
    return TokenVerdict(promise, ok, n if ok else 0, n, () if ok else (detail,))


def dominated_by(cell: TokenCell, policy: str = "governor") -> list[str]:
    """Baselines with higher attainment, fewer GPU-hours and at least the served quality of ``policy``."""
    g = cell.runs[policy]
    return [
        name
        for name in BASELINES
        if (b := cell.runs.get(name)) is not None
        and b.attainment > g.attainment
        and b.gpu_hours < g.gpu_hours
        and b.served_quality >= g.served_quality
    ]


def _undominated_target(cells: list[TokenCell]) -> TokenVerdict:
    traces = [c for c in cells if c.key.scenario != RAMP]
    failing = []
    for cell in traces:
        by = dominated_by(cell)
        if by:
            failing.append(f"{cell.key.label()}: dominated by {', '.join(by)}")
    promise = f"trace cells: governor not dominated by {', '.join(BASELINES)} on (attainment, GPU-h, served quality)"
    return TokenVerdict(promise, not failing and bool(traces), len(traces) - len(failing), len(traces), tuple(failing))


def ttft_ratio(cell: TokenCell) -> float:
    """TTFT-violating requests of the request-model row ÷ Governor's (∞ for none against some, 1 for none each)."""
    g, r = cell.runs["governor"].ttft_violations, cell.runs[REQUEST_MODEL_ROW].ttft_violations
    if g == 0:
        return 1.0 if r == 0 else math.inf
    return r / g


def _ttft_target(cells: list[TokenCell]) -> TokenVerdict:
    failing = []
    for cell in cells:
        g, r = cell.runs["governor"], cell.runs[REQUEST_MODEL_ROW]
        ratio = ttft_ratio(cell)
        none_each = g.ttft_violations == 0 and r.ttft_violations == 0
        if not ((ratio >= TTFT_FACTOR or none_each) and g.gpu_hours <= r.gpu_hours * (1 + 1e-9)):
            failing.append(
                f"{cell.key.label()}: {g.ttft_violations} vs {r.ttft_violations} TTFT-violating "
                f"({ratio:.2f}×), GPU-h {g.gpu_hours:.2f} vs {r.gpu_hours:.2f}"
            )
    promise = (
        f"every cell: governor ≥ {TTFT_FACTOR:g}× fewer TTFT-violating requests than {REQUEST_MODEL_ROW} at ≤ its GPU-h"
    )
    return TokenVerdict(promise, not failing and bool(cells), len(cells) - len(failing), len(cells), tuple(failing))


def judge_tokens(cells: list[TokenCell]) -> list[TokenVerdict]:
    return [_ramp_target(cells), _undominated_target(cells), _ttft_target(cells)]
