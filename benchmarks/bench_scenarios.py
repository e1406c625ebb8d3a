"""Run every benchmark scenario of issue #5 and print the tables plus PASS/FAIL per target.

    .venv/bin/python benchmarks/bench_scenarios.py [--seed N] [--json OUT.json]

Every policy runs on identical arrivals per scenario. Violations are requests that finished
later than the SLO latency or were dropped after the client timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from governor.sim.entry import run_all
from governor.sim.policies import POLICIES
from governor.sim.report import Summary, as_json, configurations, summarize, table
from governor.sim.scenarios import build_scenario

SCENARIOS = ("diurnal", "flash-inplace", "flash-rolling", "heavy-tailed", "trace")


@dataclass(frozen=True)
class Check:
    scenario: str
    target: str
    passed: bool
    detail: str


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (float("inf") if a > 0 else 1.0)


def checks_for(name: str, rows: dict[str, Summary]) -> list[Check]:
    gov, hpa, kpa = rows["governor"], rows["hpa"], rows["kpa"]
    out: list[Check] = []

    def fewer(factor: float, than: Summary, cost: bool) -> None:
        better = _ratio(than.violations, gov.violations)
        ok = better >= factor and (not cost or gov.gpu_hours <= than.gpu_hours)
        cost_text = f", GPU-h {gov.gpu_hours:.2f} vs {than.gpu_hours:.2f}" if cost else ""
        target = f"≥{factor:g}× fewer violations than {than.policy}" + (" at ≤ its GPU-h" if cost else "")
        out.append(Check(name, target, ok, f"{gov.violations:.0f} vs {than.violations:.0f} ({better:.1f}×){cost_text}"))

    if name == "flash-inplace":
        fewer(5.0, hpa, cost=True)
        oracle = rows["oracle"]
        ok = gov.violations <= 1.5 * oracle.violations
        times = _ratio(gov.violations, oracle.violations)
        detail = f"{gov.violations:.0f} vs oracle {oracle.violations:.0f} ({times:.2f}×)"
        out.append(Check(name, "≤1.5× the oracle's violations", ok, detail))
    if name == "flash-rolling":
        fewer(2.0, hpa, cost=False)
    if name == "heavy-tailed":
        fewer(2.0, hpa, cost=True)
    if name == "diurnal":
        peak = rows["static-peak"]
        ok = gov.attainment >= 0.99 and gov.gpu_hours <= 0.7 * peak.gpu_hours and gov.swaps == 0
        detail = (
            f"attainment {gov.attainment:.4%}, GPU-h {gov.gpu_hours:.2f} = "
            f"{_ratio(gov.gpu_hours, peak.gpu_hours):.2f}× "
            f"static-peak, swaps {gov.swaps}"
        )
        out.append(Check(name, "≥99% attainment, ≤0.7× static-peak GPU-h, no swap", ok, detail))
    ok = gov.attainment > kpa.attainment and gov.gpu_hours <= kpa.gpu_hours
    detail = f"attainment {gov.attainment:.4%} vs {kpa.attainment:.4%}, "
    detail += f"GPU-h {gov.gpu_hours:.2f} vs {kpa.gpu_hours:.2f}"
    out.append(Check(name, "ahead of KPA at ≤ its GPU-h", ok, detail))
    most = gov.max_swaps_in_an_hour
    text = f"at most {most} in any sliding hour ({gov.swaps} in the run; {gov.swaps_per_hour:.2f}/h extrapolated)"
    out.append(Check(name, "≤4 swaps in any hour", most <= 4, text))
    out.append(Check(name, "quality floor 0.97 never crossed", gov.quality_min >= 0.97, f"min {gov.quality_min:.3f}"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write every table as JSON")
    args = parser.parse_args()
    checks: list[Check] = []
    dump = []
    started = time.monotonic()
    for name in SCENARIOS:
        scenario = build_scenario(name, args.seed)
        t0 = time.monotonic()
        summaries = [summarize(r) for r in run_all(scenario, list(POLICIES), verbose=False)]
        print(f"\n=== {name}: {scenario.description}")
        print(
            f"SLO p99 ≤ {scenario.slo_latency_s:g} s; replicas {scenario.spec.min_replicas}.."
            f"{scenario.spec.max_replicas}; start-up {scenario.spec.startup_seconds:g} s; "
            f"{scenario.arrivals.duration_s} s simulated in {time.monotonic() - t0:.1f} s"
        )
        print(table(summaries))
        checks += checks_for(name, {s.policy: s for s in summaries})
        dump.append(as_json(scenario, args.seed, summaries))
    print("\nconfigured as (last scenario):")
    print(configurations(summaries))
    print("\ntargets (Governor):")
    for check in checks:
        print(f"  {'PASS' if check.passed else 'FAIL'}  {check.scenario:<14} {check.target:<55} {check.detail}")
    print(f"\n{sum(c.passed for c in checks)}/{len(checks)} targets met; {time.monotonic() - started:.1f} s in all")
    if args.json is not None:
        args.json.write_text(json.dumps(dump, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
