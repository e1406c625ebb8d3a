"""Token mode: every token policy on llm-d's staged ramp (10 seeds) and the token trace cells; Governor's targets.

    .venv/bin/python benchmarks/bench_tokens.py                    # ramp × 10 seeds + traces × 3 rates × 3 seeds
    .venv/bin/python benchmarks/bench_tokens.py --ramp-only         # the ramp only
    .venv/bin/python benchmarks/bench_tokens.py --seeds 0-4 --jobs 2 --json tokens.json

Prints every cell (per policy: combined, TTFT and ITL attainment, average replicas, GPU-h,
served quality, swaps), the ramp's median and worst per policy beside llm-d's published
figure, then each target with PASS/FAIL and its failing cells. Progress goes to stderr; the
exit status is 1 when a target fails. The cells and targets live in
``governor.sim.tokens.matrix``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cells import run_cells, seed_list
from governor.sim.tokens.matrix import (
    TRACE_SEEDS,
    RampRow,
    TokenCell,
    TokenVerdict,
    judge_tokens,
    ramp_rows,
    run_token_cell,
    token_cells,
)
from governor.sim.tokens.scenarios import LLMD_PUBLISHED
from governor.sim.tokens.shift import run_shift

SHIFT_SEEDS = (0, 1, 2)
SHIFT_AFTER_S = 300.0


def shift_verdict() -> TokenVerdict:
    """The capacity estimate within 10 % of the simulator's value 5 minutes after a length shift."""
    print("\ncapacity estimate after a shift in lengths (req/s per replica within the ITL objective):")
    failing: list[str] = []
    runs = [(seed, to_chat) for to_chat in (True, False) for seed in SHIFT_SEEDS]
    for seed, to_chat in runs:
        result = run_shift(seed, to_chat)
        errors = [result.error_at(s) for s in (0.0, 60.0, 120.0, SHIFT_AFTER_S)]
        label = f"{'documents → chat' if to_chat else 'chat → documents'} seed {seed}"
        cells = "  ".join(f"{e:6.1%}" for e in errors)
        print(f"  {label:<26} error at 0 / 60 / 120 / 300 s: {cells}")
        if errors[-1] > 0.10:
            failing.append(f"{label}: {errors[-1]:.1%} off at {SHIFT_AFTER_S:.0f} s")
    promise = "capacity estimate within 10 % of the simulator's value 5 minutes after a shift in lengths"
    return TokenVerdict(promise, not failing, len(runs) - len(failing), len(runs), tuple(failing))


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=seed_list, default=list(range(10)), help="seeds of the ramp (0-9)")
    parser.add_argument("--trace-seeds", type=seed_list, default=list(TRACE_SEEDS), help="seeds of the trace cells")
    parser.add_argument("--ramp-only", action="store_true", help="skip the trace cells")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: CPU count)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every cell and verdict as JSON")
    return parser.parse_args(argv)


def print_cell(cell: TokenCell) -> None:
    print(f"\n{cell.key.label()}")
    for name, s in cell.runs.items():
        mark = " (bound)" if name == "clairvoyant" else ""
        print(
            f"  {name + mark:<32} combined {s.attainment:7.2%}  TTFT {s.ttft_attainment:7.2%}  "
            f"ITL {s.itl_attainment:7.2%}  TTFT-violating {s.ttft_violations:6d}  avg repl. {s.average_replicas:5.2f}  "
            f"GPU-h {s.gpu_hours:6.2f}  served q. {s.served_quality:.4f}  swaps {s.swaps:2d}"
        )


def print_ramp(rows: list[RampRow], seeds: int) -> None:
    if not rows:
        return
    print(f"\nllmd-staged-ramp over {seeds} seeds (combined attainment and average replicas: median, worst):")
    for r in rows:
        print(
            f"  {r.policy:<24} {r.median_attainment:7.2%} (worst {r.worst_attainment:7.2%})   "
            f"{r.median_replicas:5.2f} replicas (worst {r.worst_replicas:5.2f})"
        )
    p = LLMD_PUBLISHED
    print(f"  {'llm-d (published)':<24} {p.attainment:7.2%}                    {p.average_replicas:5.2f} replicas")
    print(f"  {'static peak (published)':<24} {'':>26} {p.static_replicas:5d} replicas")


def print_verdicts(verdicts: list[TokenVerdict]) -> None:
    print("\ntargets (Governor):")
    for v in verdicts:
        print(f"  {'PASS' if v.passed else 'FAIL'}  {v.promise}\n        {v.cells_passed}/{v.cells} cells")
        for line in v.failing:
            print(f"        failed: {line}")
    print(f"\n{sum(v.passed for v in verdicts)}/{len(verdicts)} targets met")


def as_json(cells: list[TokenCell], verdicts: list[TokenVerdict]) -> dict[str, object]:
    return {
        "cells": [
            {
                "scenario": c.key.scenario,
                "seed": c.key.seed,
                "rate": c.key.rate,
                "description": c.description,
                "policies": {name: s.as_dict() for name, s in c.runs.items()},
            }
            for c in cells
        ],
        "ramp": [r.__dict__ for r in ramp_rows(cells)],
        "published": LLMD_PUBLISHED.__dict__,
        "targets": [v.as_dict() for v in verdicts],
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    keys = token_cells(args.seeds, args.trace_seeds, traces=not args.ramp_only)
    print(f"{len(keys)} cells on {args.jobs} processes", file=sys.stderr)
    cells = run_cells(run_token_cell, keys, args.jobs, lambda c: c.key.sort_key(), label=lambda c: c.key.label())
    for cell in cells:
        print_cell(cell)
    print_ramp(ramp_rows(cells), sum(1 for c in cells if c.key.scenario == "llmd-staged-ramp"))
    verdicts = [*judge_tokens(cells), shift_verdict()]
    print_verdicts(verdicts)
    print(f"{len(cells)} cells in {time.monotonic() - started:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(cells, verdicts), indent=2))
    return 0 if all(v.passed for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
