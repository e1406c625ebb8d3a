"""``governor simulate``: every chosen policy on identical arrivals, one comparison table.

Examples::

    governor simulate --scenario flash-inplace
    governor simulate --scenario mooncake --rate 80
    governor simulate --trace ../shared/traces/azure-llm-2023-conv.csv --rate 20 --policies governor,kpa --json
    governor simulate --scenario cold-120
    governor simulate --scenario diurnal --plot diurnal.png --seed 7
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from governor.sim.arrivals import TraceError
from governor.sim.engine import RunResult, simulate
from governor.sim.policies import POLICIES, build_controller
from governor.sim.report import as_json, configurations, plot, summarize, table
from governor.sim.scenario import Scenario
from governor.sim.scenarios import DEFAULT_TRACE_RATE, SCENARIOS, TRACE_SCENARIOS, build_scenario


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--scenario", choices=SCENARIOS, default="diurnal", help="named load scenario")
    source.add_argument(
        "--trace",
        type=Path,
        metavar="PATH",
        help="replay a trace file: .csv with a TIMESTAMP column (Azure LLM) or .jsonl with timestamp in ms, "
        "input_length and output_length per line (Mooncake)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        metavar="REQ_PER_S",
        help=f"mean arrival rate a trace is rescaled to, keeping its burstiness (default {DEFAULT_TRACE_RATE:g}); "
        f"only with --trace or --scenario {'|'.join(TRACE_SCENARIOS)}",
    )
    parser.add_argument("--policies", default=",".join(POLICIES), help=f"comma-separated, from {','.join(POLICIES)}")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the arrivals")
    parser.add_argument("--duration", type=int, help="seconds of simulated time (default: the scenario's)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--plot", type=Path, metavar="OUT.png", help="write load/replicas/precision/p99 over time")


def run_all(scenario: Scenario, policies: list[str], verbose: bool) -> list[RunResult]:
    """Run each policy on the scenario; progress goes to stderr when a run is long."""
    results = []
    show = verbose and scenario.arrivals.duration_s >= 3600
    live = show and sys.stderr.isatty()
    for name in policies:
        started = time.monotonic()

        def progress(done: int, total: int, name: str = name) -> None:
            if live:
                print(f"\r  {name}: {done * 100 // total:3d}%", end="", file=sys.stderr, flush=True)

        results.append(simulate(scenario, build_controller(name, scenario), progress))
        if show:
            print(f"\r  {name}: done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return results


def main(args: argparse.Namespace) -> int:
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        given = ", ".join(unknown) or "(none given)"
        print(f"unknown policies: {given}; known: {', '.join(POLICIES)}", file=sys.stderr)
        return 2
    if args.rate is not None and args.trace is None and args.scenario not in TRACE_SCENARIOS:
        print(f"--rate applies only to --trace or --scenario {'|'.join(TRACE_SCENARIOS)}", file=sys.stderr)
        return 2
    if args.rate is not None and not args.rate > 0:
        print(f"--rate must be positive, not {args.rate:g}", file=sys.stderr)
        return 2
    try:
        scenario = build_scenario(args.scenario, args.seed, args.duration, args.trace, args.rate)
    except (ValueError, OSError, TraceError) as error:
        print(f"cannot build the scenario: {error}", file=sys.stderr)
        return 2
    results = run_all(scenario, policies, verbose=True)
    summaries = [summarize(r) for r in results]
    if args.json:
        print(json.dumps(as_json(scenario, args.seed, summaries), indent=2))
    else:
        print(f"scenario {scenario.name}: {scenario.description}")
        print(
            f"SLO p{scenario.spec.slo.latency_quantile * 100:g} ≤ {scenario.slo_latency_s:g} s; "
            f"replicas {scenario.spec.min_replicas}..{scenario.spec.max_replicas}; "
            f"start-up {scenario.spec.startup_seconds:g} s; client timeout {scenario.timeout_s:g} s; seed {args.seed}"
        )
        print(table(summaries))
        print("configured as:")
        print(configurations(summaries))
    if args.plot is not None:
        plot(scenario, results, args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0
