"""``governor simulate``: every chosen policy on identical arrivals, one comparison table.

Examples::

    governor simulate --scenario flash-inplace
    governor simulate --scenario mooncake --rate 80
    governor simulate --trace ../shared/traces/azure-llm-2023-conv.csv --rate 20 --policies governor,kpa --json
    governor simulate --scenario cold-120
    governor simulate --scenario diurnal --plot diurnal.png --seed 7
    governor simulate --scenario llmd-staged-ramp --plot ramp.png      # token mode (TTFT / ITL)
    governor simulate --scenario tokens-mooncake --rate 8 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from governor.sim.arrivals import TraceError
from governor.sim.engine import RunResult, simulate
from governor.sim.policies import POLICIES, TOKEN_POLICIES, build_controller, build_token_controller
from governor.sim.report import as_json, configurations, plot, summarize, table
from governor.sim.scenario import Scenario
from governor.sim.scenarios import DEFAULT_TRACE_RATE, SCENARIOS, TRACE_SCENARIOS, build_scenario
from governor.sim.tokens import report as token_report
from governor.sim.tokens.engine import simulate_tokens
from governor.sim.tokens.result import TokenRunResult, summarize_tokens
from governor.sim.tokens.scenario import TokenScenario
from governor.sim.tokens.scenarios import TOKEN_SCENARIOS, TOKEN_TRACES, build_token_scenario


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--scenario",
        choices=(*SCENARIOS, *TOKEN_SCENARIOS),
        default="diurnal",
        help=f"named load scenario ({', '.join(TOKEN_SCENARIOS)}: token mode, TTFT / ITL objectives)",
    )
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
        f"only with --trace or --scenario {'|'.join((*TRACE_SCENARIOS, *TOKEN_TRACES))}",
    )
    parser.add_argument(
        "--policies",
        default=None,
        help=f"comma-separated, from {','.join(POLICIES)} (token mode: {','.join(TOKEN_POLICIES)}); default all",
    )
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


def _policies(text: str | None, known: tuple[str, ...]) -> list[str] | None:
    policies = list(known) if text is None else [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in policies if p not in known]
    if unknown or not policies:
        given = ", ".join(unknown) or "(none given)"
        print(f"unknown policies: {given}; known: {', '.join(known)}", file=sys.stderr)
        return None
    return policies


def main(args: argparse.Namespace) -> int:
    tokens = args.trace is None and args.scenario in TOKEN_SCENARIOS
    policies = _policies(args.policies, TOKEN_POLICIES if tokens else POLICIES)
    if policies is None:
        return 2
    rated = (*TRACE_SCENARIOS, *TOKEN_TRACES)
    if args.rate is not None and args.trace is None and args.scenario not in rated:
        print(f"--rate applies only to --trace or --scenario {'|'.join(rated)}", file=sys.stderr)
        return 2
    if args.rate is not None and not args.rate > 0:
        print(f"--rate must be positive, not {args.rate:g}", file=sys.stderr)
        return 2
    if tokens:
        return main_tokens(args, policies)
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


def run_tokens(scenario: TokenScenario, policies: list[str]) -> list[TokenRunResult]:
    """Each policy on the token-mode scenario; a line per policy on stderr."""
    results = []
    for name in policies:
        started = time.monotonic()
        results.append(simulate_tokens(scenario, build_token_controller(name, scenario)))
        print(f"  {name}: done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return results


def main_tokens(args: argparse.Namespace, policies: list[str]) -> int:
    """Token mode: TTFT / ITL objectives, the LLM-native autoscalers, a published figure where there is one."""
    try:
        scenario = build_token_scenario(args.scenario, args.seed, args.rate, args.duration)
    except (ValueError, OSError, TraceError) as error:
        print(f"cannot build the scenario: {error}", file=sys.stderr)
        return 2
    results = run_tokens(scenario, policies)
    summaries = [summarize_tokens(r) for r in results]
    if args.json:
        print(json.dumps(token_report.as_json(scenario, args.seed, summaries), indent=2))
    else:
        slo = scenario.spec.slo
        objectives = [
            f"P{o.quantile * 100:g} {label} ≤ {o.ms:g} ms" for label, o in (("TTFT", slo.ttft), ("TPOT", slo.itl)) if o
        ]
        print(f"scenario {scenario.name} (token mode): {scenario.description}")
        print(
            f"SLO {' and '.join(objectives)}{'' if slo.latency_declared else ', no request-latency objective'}; "
            f"replicas {scenario.spec.min_replicas}..{scenario.spec.max_replicas}; "
            f"start-up {scenario.spec.startup_seconds:g} s; warm-up {scenario.warmup_s} s; seed {args.seed}"
        )
        print(token_report.table(summaries, scenario))
        print("configured as:")
        print(token_report.configurations(summaries))
    if args.plot is not None:
        token_report.plot(scenario, results, args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0
