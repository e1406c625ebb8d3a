"""``governor demo``: a live demo of the whole operator on one laptop — no cluster, no GPU, no Prometheus.

Starts the embedded Kubernetes emulator, a small simulated world (one vLLM-like model server per
service, standing in for its fleet), the real operator in-process with the direct-scrape metrics
source and the alerting hook, and plays a three-minute story: steady load, a ramp, a
flash crowd that eight replicas at bf16 cannot carry, calm again. Every tick it prints one row
per service (load, replicas, precision, p99 against the SLO, GPU, the decision's reason), and
Events and alerts as they happen; at the end, a summary. Exits 0 and stops everything it started.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from governor.demo import report
from governor.demo.backends import CHOICES, BackendUnavailable
from governor.demo.session import DemoOptions, DemoSession, load_manifests
from governor.demo.story import DEMO_POLICY, DEMO_RULES
from governor.settings import Settings


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
    parser.add_argument("--plot", type=Path, default=None, help="draw load, replicas, precision and p99 to a PNG")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--quiet", action="store_true", help="print Events, alerts and the summary only")
    output.add_argument("--json", action="store_true", help="one JSON object per line (ticks, Events, alerts, summary)")
    parser.add_argument("--verbose", action="store_true", help="show the operator's logs")


class Printer:
    """The session's sink: text (a row per tick, a line per Event or alert) or JSON lines."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.json, self.quiet = bool(args.json), bool(args.quiet)
        self.rows = 0

    def __call__(self, kind: str, payload: Any) -> None:
        if self.json:
            print(report.as_json(kind, payload), flush=True)
        elif kind == "start":
            print(f"governor demo: {payload['backend']}; services {', '.join(payload['services'])}")
        elif kind == "tick" and not self.quiet:
            if self.rows % report.HEADER_EVERY == 0:
                print(report.header(payload.slo_ms))
            self.rows += 1
            print(report.row(payload), flush=True)
        elif kind == "event":
            print(
                f"  ⮑ Event {payload['type']} {payload['reason']} {payload['object']}: {payload['message']}", flush=True
            )
        elif kind == "alert":
            state = "FIRING" if payload["status"] == "firing" else "resolved"
            what = f"{payload['alertname']} [{payload['severity']}] {payload['service']}"
            print(f"  ⚑ alert {state} {what}: {payload['summary']}", flush=True)


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
    return (
        f"governor demo: {options.wall_seconds:.0f} s at speed ×{options.speed:g} "
        f"({options.wall_seconds * options.speed:.0f} simulated seconds; request rates per wall-clock second).\n"
        "  compressed for the demo: the service's startupSeconds 20, minDwellSeconds 30, scale-down window 30 s;"
        f" policy headroom {DEMO_POLICY.headroom_seconds:g} s, swaps/hour {DEMO_POLICY.max_swaps_per_hour};"
        f" alert rules {', '.join(f'{k}={v}' for k, v in DEMO_RULES.items())}"
    )


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
    options = options_from(args)
    printer = Printer(args)
    if not args.json:
        print(preamble(options))
    try:
        outcome = DemoSession(settings, options, printer).run()
    except BackendUnavailable as exc:
        print(f"governor demo --cluster real: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if outcome.operator_error is not None:
        print(f"governor demo: the operator failed: {outcome.operator_error!r}", file=sys.stderr)
        return 1
    objective = min((s.slo.objective for s in outcome.specs), default=0.0)
    summary = report.summarise(outcome.ledger, outcome.records, outcome.events, outcome.alerts, objective)
    printer("summary", summary) if args.json else print("\n" + report.summary_text(summary))
    if args.plot is not None and outcome.records:
        report.plot(outcome.records, args.plot)
        if not args.json:
            print(f"plot written to {args.plot}")
    return 0
