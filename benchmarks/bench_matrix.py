"""Every policy on every benchmark cell (seeds × scenarios, traces × rates × seeds); Governor's targets.

    .venv/bin/python benchmarks/bench_matrix.py                  # the full matrix, a few minutes
    .venv/bin/python benchmarks/bench_matrix.py --quick          # seeds 0-2, traces at 40 req/s
    .venv/bin/python benchmarks/bench_matrix.py --scenarios flash-inplace,trace --seeds 0-4 --json out.json

Prints every cell (per policy: violating requests, GPU-h, served quality, swaps; Governor's
gap to the clairvoyant), then per target the share of cells passed, the median and the worst
value, PASS/FAIL, and every cell that failed. The targets and the cell runner live in
``governor.sim.matrix``; this script parses arguments, fans cells out to processes and prints.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cells import run_cells, seed_list
from governor.sim.matrix import (
    ABLATIONS,
    BOUNDS,
    SEEDED_SCENARIOS,
    TRACE_RATES,
    TRACE_SCENARIOS,
    Cell,
    TargetVerdict,
    clairvoyant_gap,
    matrix_cells,
    run_cell,
)
from governor.sim.matrix import judge as judge_cells

QUICK_SEEDS = (0, 1, 2)
QUICK_RATES = (40.0,)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    known = (*SEEDED_SCENARIOS, *TRACE_SCENARIOS)
    parser.add_argument("--seeds", type=seed_list, default=None, help="seeds of the synthetic scenarios (0-9)")
    parser.add_argument("--scenarios", default=",".join(known), help=f"comma-separated, from {','.join(known)}")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: CPU count)")
    parser.add_argument("--quick", action="store_true", help="seeds 0-2 and traces at 40 req/s only")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every cell and verdict as JSON")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in args.scenarios if s not in known]
    if unknown:
        parser.error(f"unknown scenarios {', '.join(unknown)}; known: {', '.join(known)}")
    if args.seeds is None:
        args.seeds = list(QUICK_SEEDS) if args.quick else list(range(10))
    args.rates = QUICK_RATES if args.quick else TRACE_RATES
    return args


def _times(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.2f}×"


def print_cell(cell: Cell) -> None:
    gap = clairvoyant_gap(cell)
    gap_text = f"governor ÷ clairvoyant: violations {_times(gap[0])}, GPU-h {_times(gap[1])}" if gap else ""
    print(f"\n{cell.key.label()}   {gap_text}")
    for name, run in cell.runs.items():
        s = run.summary
        mark = " (ablation)" if name in ABLATIONS else " (bound)" if name in BOUNDS else ""
        print(
            f"  {name + mark:<26} violating {round(s.violations):8d}  GPU-h {s.gpu_hours:6.2f}  "
            f"served q. {s.served_quality:.4f}  swaps {s.swaps:2d}"
        )


def _value(value: float, measure: str) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞"
    if measure == "attainment" or measure == "share captured":
        return f"{value:.2%}"
    return f"{value:.2f}"


def print_verdicts(verdicts: list[TargetVerdict]) -> None:
    print("\ntargets (Governor; median and worst over the cells each target is judged on):")
    for v in verdicts:
        t = v.target
        where = ", ".join(t.scenarios) if t.scenarios else "every cell"
        print(
            f"  {'PASS' if v.passed else 'FAIL'}  [{where}] {t.promise}\n"
            f"        {v.passed_cells}/{len(v.checks)} cells; {t.measure}: median {_value(v.median, t.measure)}, "
            f"worst {_value(v.worst, t.measure)}"
        )
        for check in v.failing:
            print(f"        failed: {check.key.label()}: {check.detail}")
    print(f"\n{sum(v.passed for v in verdicts)}/{len(verdicts)} targets met")


def print_gaps(cells: list[Cell]) -> None:
    print("\ngap to the clairvoyant (governor ÷ clairvoyant, median over seeds):")
    groups: dict[tuple[str, float | None], list[tuple[float, float]]] = {}
    for cell in cells:
        gap = clairvoyant_gap(cell)
        if gap is not None:
            groups.setdefault((cell.key.scenario, cell.key.rate), []).append(gap)
    for (scenario, rate), gaps in groups.items():
        name = scenario + (f" @ {rate:g} req/s" if rate is not None else "")
        violations = statistics.median(g[0] for g in gaps)
        gpu = statistics.median(g[1] for g in gaps)
        print(f"  {name:<24} violations {_times(violations):>8}  GPU-h {_times(gpu):>7}  ({len(gaps)} cells)")


def as_json(cells: list[Cell], verdicts: list[TargetVerdict]) -> dict[str, object]:
    def number(value: float) -> float | str:
        return value if math.isfinite(value) else str(value)

    return {
        "cells": [
            {
                "scenario": c.key.scenario,
                "seed": c.key.seed,
                "rate": c.key.rate,
                "description": c.description,
                "clairvoyant_gap": [number(x) for x in gap] if (gap := clairvoyant_gap(c)) else None,
                "policies": {name: run.as_dict() for name, run in c.runs.items()},
            }
            for c in cells
        ],
        "targets": [
            {
                "promise": v.target.promise,
                "scenarios": list(v.target.scenarios) if v.target.scenarios else "every cell",
                "passed": v.passed,
                "cells_passed": v.passed_cells,
                "cells": len(v.checks),
                "median": number(v.median),
                "worst": number(v.worst),
                "failing": [{"cell": c.key.label(), "detail": c.detail} for c in v.failing],
            }
            for v in verdicts
        ],
    }


def _plain(value: object) -> object:
    """numpy scalars as Python numbers, for json."""
    item = getattr(value, "item", None)
    if item is None:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return item()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    keys = matrix_cells(args.seeds, args.scenarios, args.rates)
    print(f"{len(keys)} cells on {args.jobs} processes", file=sys.stderr)
    cells = run_cells(run_cell, keys, args.jobs, lambda c: c.key.sort_key())
    for cell in cells:
        print_cell(cell)
    verdicts = judge_cells(cells)
    print_gaps(cells)
    print_verdicts(verdicts)
    print(f"{len(cells)} cells in {time.monotonic() - started:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(cells, verdicts), indent=2, default=_plain))
    return 0 if all(v.passed for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
