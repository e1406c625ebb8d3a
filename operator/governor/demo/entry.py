"""``governor demo``: a live demo of the whole operator on one laptop — no cluster, no GPU, no Prometheus.

Starts the embedded Kubernetes emulator, a small simulated world (one vLLM-like model server per
service, standing in for its fleet), the real operator in-process with the direct-scrape metrics
source and the alerting hook, and plays a three-minute story: steady load, a ramp, a
flash crowd that eight replicas at bf16 cannot carry, calm again. Set-up steps print with their
elapsed seconds; then a live status block on a terminal, or a row per change elsewhere
(``governor.demo.console``), with Events and alerts as they happen; at the end a summary that sets
Governor beside the HPA it replaces on the same load (``governor.demo.baseline``), and a plot.
Exits 0 and stops everything it started.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import textwrap
from pathlib import Path

from governor.demo import baseline, report
from governor.demo.backends import CHOICES, BackendUnavailable
from governor.demo.console import Printer, mode_for
from governor.demo.scenario import DemoScenario
from governor.demo.session import DemoOptions, DemoOutcome, DemoSession, load_manifests
from governor.demo.story import DEMO_POLICY, DEMO_RULES, fleet_params
from governor.settings import Settings

DEFAULT_PLOT = Path("governor-demo.png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=180.0, help="wall-clock seconds to run (default 180)")
    parser.add_argument("--speed", type=float, default=4.0, help="simulated seconds per wall-clock second (default 4)")
    parser.add_argument("--ticks", type=int, default=None, help="stop after this many ticks instead")
    parser.add_argument("--tick-seconds", type=float, default=1.0, help="control-loop period, wall clock (default 1)")
    parser.add_argument(
        "--startup-seconds", type=float, default=None, help="simulated pod start-up (default: spec.startupSeconds)"
    )
    parser.add_argument(
        "--example", action="append", type=Path, help="InferenceService manifest(s) instead of the demo's service"
    )
    parser.add_argument(
        "--cluster",
        choices=CHOICES,
        default="auto",
        help="Kubernetes to run on: the real control plane built by scripts/control-plane.sh, the embedded "
        "emulator, or auto (the real one when it is built, default)",
    )
    plot = parser.add_mutually_exclusive_group()
    plot.add_argument(
        "--plot",
        type=Path,
        default=None,
        help=f"draw load, replicas, precision and p99 to this PNG (default {DEFAULT_PLOT}; under --json only if given)",
    )
    plot.add_argument("--no-plot", action="store_true", help="do not draw the plot")
    parser.add_argument("--seed", type=int, default=0, help="seed for every random source the demo uses (default 0)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--quiet", action="store_true", help="print Events, alerts and the summary only")
    output.add_argument("--json", action="store_true", help="one JSON object per line (ticks, Events, alerts, summary)")
    parser.add_argument("--verbose", action="store_true", help="show the operator's logs")


def options_from(args: argparse.Namespace) -> DemoOptions:
    services = tuple(load_manifests(args.example)) if args.example else ()
    return DemoOptions(
        duration=args.duration,
        speed=args.speed,
        ticks=args.ticks,
        tick_seconds=args.tick_seconds,
        startup_seconds=args.startup_seconds,
        services=services,
        cluster=args.cluster,
    )


def preamble(options: DemoOptions) -> str:
    compressed = (
        "compressed for the demo: the service's startupSeconds 20, minDwellSeconds 30, scale-down window 30 s;"
        f" policy headroom {DEMO_POLICY.headroom_seconds:g} s, swaps/hour {DEMO_POLICY.max_swaps_per_hour};"
        f" alert rules {', '.join(f'{k}={v}' for k, v in DEMO_RULES.items())}"
    )
    first = (
        f"governor demo: {options.wall_seconds:.0f} s at speed ×{options.speed:g} "
        f"({options.wall_seconds * options.speed:.0f} simulated seconds; request rates per wall-clock second)."
    )
    return "\n".join([first, *textwrap.wrap(compressed, report.ROW_WIDTH, initial_indent="  ", subsequent_indent="  ")])


def plot_path(args: argparse.Namespace) -> Path | None:
    """Where the plot goes: ``--plot``, else the default in text mode; none with ``--no-plot``."""
    if args.no_plot:
        return None
    if args.plot is not None:
        return Path(args.plot)
    return None if args.json else DEFAULT_PLOT


def summarise(outcome: DemoOutcome, scenario: DemoScenario) -> report.RunSummary:
    """The run's summary, with the HPA it replaces simulated on the same story for the first service."""
    objective = min((s.slo.objective for s in outcome.specs), default=0.0)
    hpa, capacity = None, 0.0
    if outcome.specs and outcome.story_seconds > 0:
        spec = outcome.specs[0]
        params = fleet_params(spec)
        hpa = baseline.hpa_run(spec, params, scenario, outcome.ledger.seconds, outcome.story_seconds)
        capacity = spec.max_replicas * params.capacity_rps * params.relative(spec.precision.preferred.value)
    ledger, records, events, alerts = outcome.ledger, outcome.records, outcome.events, outcome.alerts
    return report.summarise(ledger, records, events, alerts, objective, hpa, capacity)


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.speed <= 0 or args.tick_seconds <= 0 or args.duration <= 0:
        print("governor demo: --speed, --tick-seconds and --duration must be positive", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:
        logging.getLogger("kopf").setLevel(logging.ERROR)
    random.seed(args.seed)  # alert delivery jitter, peering priority, the emulator's generated names
    options = options_from(args)
    printer = Printer(mode_for(args.json, args.quiet, sys.stdout))
    if not args.json:
        print(preamble(options), flush=True)
    try:
        outcome = DemoSession(settings, options, printer).run()
    except BackendUnavailable as exc:
        print(f"governor demo --cluster real: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        printer.finish()
    if outcome.operator_error is not None:
        print(f"governor demo: the operator failed: {outcome.operator_error!r}", file=sys.stderr)
        return 1
    summary = summarise(outcome, options.scenario)
    printer("summary", summary) if args.json else print("\n" + report.summary_text(summary))
    path = plot_path(args)
    if path is not None and outcome.records:
        write_plot(outcome, path, quiet=bool(args.json))
    return 0


def write_plot(outcome: DemoOutcome, path: Path, quiet: bool) -> None:
    try:
        report.plot(outcome.records, path)
    except ImportError:
        print("governor demo: no plot: matplotlib is not installed (pip install 'governor[demo]')", file=sys.stderr)
        return
    if not quiet:
        print(f"plot written to {path}")
