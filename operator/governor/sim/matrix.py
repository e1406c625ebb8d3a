"""The benchmark matrix: every policy on many seeds, scenarios and trace rates, and Governor's targets.

One *cell* is a scenario at a seed (for a trace, also at a rate); every policy runs on the
cell's identical arrivals. A target is a promise about Governor, checked cell by cell against
the cell's best HPA row (fewest violations among the HPAs), the clairvoyant bound, static
provisioning or every baseline, then judged over its cells: the share that must pass, and the
median and worst of its measure. A single seed can flatter or wrong a policy; a matrix shows
both the typical cell and the bad one. Running one cell lives here too, so the benchmark
script only parses arguments, fans cells out to processes and prints.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from governor.sim.engine import RunResult, simulate
from governor.sim.policies import POLICIES, build_controller
from governor.sim.report import Summary, summarize
from governor.sim.scenarios import build_scenario

SEEDED_SCENARIOS = (
    "flash-inplace", "flash-rolling", "heavy-tailed", "diurnal", "step", "cold-40", "cold-80", "cold-120",
)  # fmt: skip
TRACE_SCENARIOS = ("trace", "mooncake")
COLD_SCENARIOS = ("cold-40", "cold-80", "cold-120")
TRACE_RATES = (20.0, 40.0, 80.0)
TRACE_SEEDS = (0, 1, 2)
HPA_ROWS = ("hpa", "hpa-gpu")
BOUNDS = ("oracle", "clairvoyant")  # they see the truth, so they never count as a baseline to beat
ABLATIONS = ("precision-only",)
STEADY_WINDOW_S = 1200  # "steady state": the last 20 minutes of a run
FLAP_WINDOW_S = 600.0
# From when each scenario's load is constant; a swap up then down after it is a flap.
CONSTANT_LOAD_FROM = {"cold-40": 0.0, "cold-80": 0.0, "cold-120": 0.0, "step": 300.0}
ALMOST_NONE = 0.001  # a violating share at or below this is "almost none"
HEAVY_TAILED_CEILING = 0.0005  # heavy-tailed: Governor's violating share that passes when HPA has almost none


@dataclass(frozen=True)
class CellKey:
    scenario: str
    seed: int
    rate: float | None = None  # req/s a trace is rescaled to; None for a synthetic scenario

    def label(self) -> str:
        rate = f" @ {self.rate:g} req/s" if self.rate is not None else ""
        return f"{self.scenario} seed {self.seed}{rate}"

    def sort_key(self) -> tuple[str, float, int]:
        return (self.scenario, self.rate or 0.0, self.seed)


@dataclass(frozen=True)
class PolicyRun:
    """What the targets need from one policy's run of a cell."""

    summary: Summary
    initial_precision: str
    swap_log: tuple[tuple[float, str], ...]  # (time, target precision) per swap started
    steady_replicas: float  # mean replicas alive over the last 20 minutes

    @classmethod
    def of(cls, result: RunResult, initial_precision: str) -> PolicyRun:
        steady = float(result.alive[-STEADY_WINDOW_S:].mean()) if result.alive.size else 0.0
        return cls(summarize(result), initial_precision, result.swap_log, steady)

    def as_dict(self) -> dict[str, Any]:
        out = self.summary.as_dict()
        out.update(steady_replicas=round(self.steady_replicas, 3), swap_log=[list(s) for s in self.swap_log])
        return out


@dataclass(frozen=True)
class Cell:
    key: CellKey
    description: str
    quality: Mapping[str, float]  # relative quality of each precision, by its value ("bf16": 1.0)
    runs: Mapping[str, PolicyRun]  # by policy name, in the order they ran


def run_cell(key: CellKey, policies: Sequence[str] = POLICIES) -> Cell:
    """Every policy on the cell's arrivals (a process-pool worker: arguments and result pickle)."""
    scenario = build_scenario(key.scenario, key.seed, rate=key.rate)
    quality = {v.precision.value: v.relative_quality for v in scenario.spec.precision.variants}
    runs = {}
    for name in policies:
        controller = build_controller(name, scenario)
        initial = getattr(controller, "initial_precision", None) or scenario.spec.precision.preferred
        runs[name] = PolicyRun.of(simulate(scenario, controller), str(initial))
    return Cell(key, scenario.description, quality, runs)


def matrix_cells(
    seeds: Sequence[int], scenarios: Sequence[str], rates: Sequence[float], trace_seeds: Sequence[int] = TRACE_SEEDS
) -> list[CellKey]:
    """The cells to run: seeded scenarios × seeds, traces × rates × trace seeds."""
    keys = [CellKey(s, seed) for s in SEEDED_SCENARIOS if s in scenarios for seed in seeds]
    keys += [CellKey(s, seed, r) for s in TRACE_SCENARIOS if s in scenarios for r in rates for seed in trace_seeds]
    return keys


# --- measures on one cell ------------------------------------------------------------------


def whole(requests: float) -> int:
    """A fluid request count as whole requests, so that 1e-11 left by floating point counts as none."""
    return round(requests)


def times_fewer(than: float, ours: float) -> float:
    """How many times fewer ``ours`` is than ``than`` (∞ when ours is 0 and theirs is not; 1 when both are 0).

    Both are counts of requests, compared as whole requests.
    """
    than, ours = whole(than), whole(ours)
    if ours > 0:
        return than / ours
    return math.inf if than > 0 else 1.0


def best_hpa(cell: Cell) -> PolicyRun | None:
    """The HPA row with the fewest violations (then the fewest GPU-hours)."""
    rows = [cell.runs[name] for name in HPA_ROWS if name in cell.runs]
    return min(rows, key=lambda r: (r.summary.violations, r.summary.gpu_hours), default=None)


def captured(hpa: float, ours: float, bound: float) -> float:
    """Share of the reduction from HPA to the bound that ``ours`` achieves (1 when there is none to make)."""
    if hpa - bound <= 0:
        return 1.0 if ours <= hpa else 0.0
    return (hpa - ours) / (hpa - bound)


def flaps(
    swap_log: Sequence[tuple[float, str]], initial: str, quality: Mapping[str, float], since: float, window: float
) -> list[tuple[float, float]]:
    """(up, down) times of each swap to a lower quality that comes within ``window`` after one to a higher.

    Only swaps from ``since`` on count; the direction of each swap comes from the precision
    before it (``initial`` for the first), so the log needs no other state.
    """
    last_up: float | None = None
    found: list[tuple[float, float]] = []
    previous = initial
    for at, target in swap_log:
        step = quality[target] - quality[previous]
        previous = target
        if at < since or step == 0:
            continue
        if step < 0 and last_up is not None and at - last_up <= window:
            found.append((last_up, at))
        last_up = at if step > 0 else None
    return found


def swaps_before(swap_log: Sequence[tuple[float, str]], until: float) -> int:
    return sum(1 for at, _ in swap_log if at < until)


def dominators(cell: Cell, ours: str = "governor") -> list[str]:
    """Baselines with fewer violations, fewer GPU-hours and at least our served quality."""
    gov = cell.runs[ours].summary
    return [
        name
        for name, run in cell.runs.items()
        if name != ours
        and name not in BOUNDS
        and whole(run.summary.violations) < whole(gov.violations)
        and run.summary.gpu_hours < gov.gpu_hours
        and run.summary.served_quality >= gov.served_quality
    ]


def clairvoyant_gap(cell: Cell) -> tuple[float, float] | None:
    """Governor's violations and GPU-hours, each as a multiple of the clairvoyant's."""
    if "governor" not in cell.runs or "clairvoyant" not in cell.runs:
        return None
    gov, bound = cell.runs["governor"].summary, cell.runs["clairvoyant"].summary
    violations = times_fewer(gov.violations, bound.violations)  # gov ÷ bound, with 0 ÷ 0 = 1
    return violations, gov.gpu_hours / bound.gpu_hours if bound.gpu_hours > 0 else math.inf


# --- targets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellCheck:
    key: CellKey
    value: float  # the target's measure in this cell (nan when a row it needs is missing)
    passed: bool
    detail: str


Check = Callable[[Cell], CellCheck]


@dataclass(frozen=True)
class Target:
    promise: str
    scenarios: tuple[str, ...] | None  # the cells it is judged on; None: every cell
    measure: str
    higher_is_better: bool
    check: Check
    min_share: float = 1.0  # of its cells that must pass
    worst_at_least: float | None = None  # with higher_is_better
    median_at_least: float | None = None

    def applies(self, key: CellKey) -> bool:
        return self.scenarios is None or key.scenario in self.scenarios


def _missing(cell: Cell, *names: str) -> CellCheck | None:
    absent = [n for n in names if n not in cell.runs]
    return CellCheck(cell.key, math.nan, False, f"no {', '.join(absent)} row") if absent else None


def _hpa_missing(cell: Cell) -> CellCheck:
    return CellCheck(cell.key, math.nan, False, f"no HPA row ({' or '.join(HPA_ROWS)})")


def fewer_than_best_hpa(factor: float, cost: bool) -> Check:
    def check(cell: Cell) -> CellCheck:
        hpa = best_hpa(cell)
        if hpa is None:
            return _hpa_missing(cell)
        missing = _missing(cell, "governor")
        if missing:
            return missing
        gov, them = cell.runs["governor"].summary, hpa.summary
        ratio = times_fewer(them.violations, gov.violations)
        ok = ratio >= factor and (not cost or gov.gpu_hours <= them.gpu_hours)
        detail = f"{whole(gov.violations)} vs {them.policy} {whole(them.violations)} ({ratio:.1f}×)"
        detail += f", GPU-h {gov.gpu_hours:.2f} vs {them.gpu_hours:.2f}"
        return CellCheck(cell.key, ratio, ok, detail)

    return check


def _capture(cell: Cell) -> CellCheck:
    hpa = best_hpa(cell)
    if hpa is None:
        return _hpa_missing(cell)
    missing = _missing(cell, "governor", "clairvoyant")
    if missing:
        return missing
    gov, bound = cell.runs["governor"].summary.violations, cell.runs["clairvoyant"].summary.violations
    share = captured(hpa.summary.violations, gov, bound)
    detail = f"{hpa.summary.policy} {whole(hpa.summary.violations)} → governor {whole(gov)}, clairvoyant {whole(bound)}"
    return CellCheck(cell.key, share, share >= 0.8, f"{share:.0%} captured ({detail})")


def _heavy_tailed(cell: Cell) -> CellCheck:
    base = fewer_than_best_hpa(2.0, cost=True)(cell)
    hpa = best_hpa(cell)
    if base.passed or hpa is None or "governor" not in cell.runs:
        return base
    gov, them = cell.runs["governor"].summary, hpa.summary
    share, theirs = _share(gov), _share(them)
    ok = theirs <= ALMOST_NONE and share <= HEAVY_TAILED_CEILING and gov.gpu_hours <= them.gpu_hours
    text = f"; violating {share:.3%} (HPA {theirs:.3%})"
    return CellCheck(cell.key, base.value, ok, base.detail + text)


def _share(summary: Summary) -> float:
    return summary.violations / summary.requests if summary.requests > 0 else 0.0


def _governor(cell: Cell, judge: Callable[[PolicyRun], tuple[float, bool, str]]) -> CellCheck:
    if "governor" not in cell.runs:
        return CellCheck(cell.key, math.nan, False, "no governor row")
    value, ok, detail = judge(cell.runs["governor"])
    return CellCheck(cell.key, value, ok, detail)


def _attainment(cell: Cell) -> CellCheck:
    return _governor(
        cell, lambda g: (g.summary.attainment, g.summary.attainment >= 0.995, f"{g.summary.attainment:.3%}")
    )


def _versus_peak(cell: Cell) -> CellCheck:
    missing = _missing(cell, "governor", "static-peak")
    if missing:
        return missing
    gov, peak = cell.runs["governor"].summary.gpu_hours, cell.runs["static-peak"].summary.gpu_hours
    ratio = gov / peak if peak > 0 else math.inf
    return CellCheck(cell.key, ratio, ratio <= 0.65, f"GPU-h {gov:.2f} vs static-peak {peak:.2f} ({ratio:.2f}×)")


def _no_swap(cell: Cell) -> CellCheck:
    return _governor(cell, lambda g: (g.summary.swaps, g.summary.swaps == 0, f"{g.summary.swaps} swaps"))


def _steady(cell: Cell) -> CellCheck:
    missing = _missing(cell, "governor", "clairvoyant")
    if missing:
        return missing
    gov, bound = cell.runs["governor"].steady_replicas, cell.runs["clairvoyant"].steady_replicas
    ratio = gov / bound if bound > 0 else math.inf
    return CellCheck(cell.key, ratio, ratio <= 1.2, f"{gov:.1f} vs clairvoyant {bound:.1f} replicas ({ratio:.2f}×)")


def _first_hour(cell: Cell) -> CellCheck:
    def judge(g: PolicyRun) -> tuple[float, bool, str]:
        n = swaps_before(g.swap_log, 3600.0)
        return n, n <= 2, f"{n} swaps in the first hour"

    return _governor(cell, judge)


def _swap_cap(cell: Cell) -> CellCheck:
    def judge(g: PolicyRun) -> tuple[float, bool, str]:
        most = g.summary.max_swaps_in_an_hour
        return most, most <= 4, f"at most {most} in a sliding hour ({g.summary.swaps} in all)"

    return _governor(cell, judge)


def _no_flap(cell: Cell) -> CellCheck:
    since = CONSTANT_LOAD_FROM.get(cell.key.scenario, math.inf)

    def judge(g: PolicyRun) -> tuple[float, bool, str]:
        found = flaps(g.swap_log, g.initial_precision, cell.quality, since, FLAP_WINDOW_S)
        text = ", ".join(f"up at {up:.0f} s, down at {down:.0f} s" for up, down in found) or "none"
        return len(found), not found, f"flaps: {text}"

    return _governor(cell, judge)


def _undominated(cell: Cell) -> CellCheck:
    missing = _missing(cell, "governor")
    if missing:
        return missing
    found = dominators(cell)
    return CellCheck(cell.key, len(found), not found, f"dominated by {', '.join(found)}" if found else "not dominated")


TARGETS = (
    Target(
        "≥5× fewer violating requests than the best HPA at ≤ its GPU-h (≥ 9/10 cells, worst ≥ 4×)",
        ("flash-inplace",), "× fewer", True, fewer_than_best_hpa(5.0, cost=True), min_share=0.9, worst_at_least=4.0,
    ),
    Target(
        "captures ≥ 80 % of the best-HPA → clairvoyant reduction (median)",
        ("flash-inplace",), "share captured", True, _capture, min_share=0.0, median_at_least=0.8,
    ),
    Target("≥2× fewer violating requests than the best HPA", ("flash-rolling",), "× fewer", True,
           fewer_than_best_hpa(2.0, cost=False)),
    Target(
        "≥2× fewer violating at ≤ the best HPA's GPU-h, or ≤ 0.05 % violating where it has ≤ 0.1 %",
        ("heavy-tailed",), "× fewer", True, _heavy_tailed,
    ),
    Target("≥ 99.5 % SLO attainment", ("diurnal",), "attainment", True, _attainment),
    Target("≤ 0.65× static-peak GPU-h", ("diurnal",), "× static-peak GPU-h", False, _versus_peak),
    Target("no swap", ("diurnal",), "swaps", False, _no_swap),
    Target("steady-state replicas ≤ 1.2× the clairvoyant's", COLD_SCENARIOS, "× clairvoyant", False, _steady),
    Target("≤ 2 swaps in the first hour", COLD_SCENARIOS, "swaps", False, _first_hour),
    Target("≤ 4 swaps in any sliding hour", None, "max swaps in 1 h", False, _swap_cap),
    Target("no swap up then down within 10 min at constant load", (*COLD_SCENARIOS, "step"), "flaps", False, _no_flap),
    Target(
        "no baseline has fewer violations, fewer GPU-h and ≥ served quality",
        TRACE_SCENARIOS, "dominating baselines", False, _undominated,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class TargetVerdict:
    target: Target
    checks: tuple[CellCheck, ...]

    @property
    def values(self) -> list[float]:
        return [c.value for c in self.checks if not math.isnan(c.value)]

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    @property
    def worst(self) -> float:
        if not self.values:
            return math.nan
        return min(self.values) if self.target.higher_is_better else max(self.values)

    @property
    def passed_cells(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def failing(self) -> list[CellCheck]:
        return [c for c in self.checks if not c.passed]

    @property
    def passed(self) -> bool:
        target = self.target
        enough = self.passed_cells >= math.ceil(target.min_share * len(self.checks) - 1e-9)
        worst_ok = target.worst_at_least is None or self.worst >= target.worst_at_least
        median_ok = target.median_at_least is None or self.median >= target.median_at_least
        return bool(self.checks) and enough and worst_ok and median_ok


def judge(cells: Sequence[Cell], targets: Sequence[Target] = TARGETS) -> list[TargetVerdict]:
    """Each target over the cells it applies to; targets with no such cell are left out."""
    verdicts = []
    for target in targets:
        checks = tuple(target.check(c) for c in cells if target.applies(c.key))
        if checks:
            verdicts.append(TargetVerdict(target, checks))
    return verdicts
