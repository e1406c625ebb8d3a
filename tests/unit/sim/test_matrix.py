"""The benchmark matrix's target logic on hand-made cells, and one real cell end to end."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from governor.sim.matrix import (
    TARGETS,
    Cell,
    CellKey,
    PolicyRun,
    Target,
    best_hpa,
    captured,
    clairvoyant_gap,
    dominators,
    flaps,
    judge,
    matrix_cells,
    run_cell,
    swaps_before,
    times_fewer,
)
from governor.sim.report import Summary

QUALITY = {"bf16": 1.0, "fp8": 0.995, "int4": 0.97}


def summary(
    policy: str, violations: float, gpu_hours: float, served_quality: float = 1.0, swaps: int = 0, requests: float = 1e5
) -> Summary:
    return Summary(
        policy=policy,
        configuration="hand-made",
        arrived=requests,
        requests=requests,
        violations=violations,
        dropped=0.0,
        attainment=1.0 - violations / requests,
        p99_s=1.0,
        gpu_hours=gpu_hours,
        quality_lost=1.0 - served_quality,
        quality_min=served_quality,
        served_quality=served_quality,
        swaps_per_hour=float(swaps),
        swaps=swaps,
        max_swaps_in_an_hour=swaps,
        scale_actions_per_hour=0.0,
    )


def run(
    policy: str,
    violations: float,
    gpu_hours: float,
    served_quality: float = 1.0,
    swap_log: tuple[tuple[float, str], ...] = (),
    steady: float = 10.0,
) -> PolicyRun:
    return PolicyRun(summary(policy, violations, gpu_hours, served_quality, len(swap_log)), "bf16", swap_log, steady)


def cell(scenario: str, seed: int, *runs: PolicyRun, rate: float | None = None) -> Cell:
    return Cell(CellKey(scenario, seed, rate), "hand-made", QUALITY, {r.summary.policy: r for r in runs})


def target(promise_start: str) -> Target:
    return next(t for t in TARGETS if t.promise.startswith(promise_start))


def flash(seed: int, hpa: float, gov: float, gov_gpu: float = 10.0, clairvoyant: float = 0.0) -> Cell:
    return cell(
        "flash-inplace",
        seed,
        run("governor", gov, gov_gpu),
        run("hpa", hpa * 2, 12.0),
        run("hpa-gpu", hpa, 11.0),
        run("clairvoyant", clairvoyant, 9.0),
    )


def test_a_dominated_trace_cell_is_detected_and_named() -> None:
    dominated = cell(
        "trace",
        1,
        run("governor", 100, 10.0, 0.99),
        run("kpa", 50, 9.0, 0.995),  # fewer, cheaper, better quality: dominates
        run("static-lowest", 0, 5.0, 0.97),  # fewer and cheaper but lower quality: does not
        run("hpa", 50, 11.0),  # fewer but dearer: does not
        run("clairvoyant", 0, 8.0),  # a bound sees the truth: never counted
        rate=80.0,
    )
    clean = cell("mooncake", 0, run("governor", 100, 10.0, 0.99), run("kpa", 50, 10.0), rate=20.0)
    assert dominators(dominated) == ["kpa"]
    assert dominators(clean) == []
    [verdict] = judge([dominated, clean], [target("no baseline")])
    assert not verdict.passed
    assert [c.key.label() for c in verdict.failing] == ["trace seed 1 @ 80 req/s"]
    assert "kpa" in verdict.failing[0].detail
    assert verdict.worst == 1 and verdict.median == 0.5


def test_equal_violations_up_to_floating_point_do_not_dominate() -> None:
    tie = cell("trace", 0, run("governor", 1e-11, 10.0), run("kpa", 0.0, 9.0), rate=40.0)
    assert dominators(tie) == []


def test_step_up_then_down_within_ten_minutes_is_a_flap() -> None:
    log = ((100.0, "int4"), (400.0, "bf16"), (700.0, "int4"))
    assert flaps(log, "bf16", QUALITY, since=0.0, window=600.0) == [(400.0, 700.0)]
    later = ((100.0, "int4"), (400.0, "bf16"), (1100.0, "int4"))
    assert flaps(later, "bf16", QUALITY, since=0.0, window=600.0) == []
    # before the load is constant, the same moves are not judged
    assert flaps(log, "bf16", QUALITY, since=500.0, window=600.0) == []
    # down then up (recovering quality) is not a flap, and a lower step after it starts a new count
    assert flaps(((100.0, "fp8"), (200.0, "int4"), (300.0, "fp8")), "bf16", QUALITY, 0.0, 600.0) == []
    assert flaps(((10.0, "fp8"), (20.0, "bf16"), (30.0, "fp8")), "int4", QUALITY, 0.0, 600.0) == [(20.0, 30.0)]


def test_the_flap_target_applies_to_constant_load_cells_only() -> None:
    log = ((100.0, "int4"), (400.0, "bf16"), (700.0, "int4"))
    cold = cell("cold-80", 0, run("governor", 0, 10.0, swap_log=log))
    step = cell("step", 0, run("governor", 0, 10.0, swap_log=((200.0, "int4"), (250.0, "bf16"), (290.0, "int4"))))
    diurnal = cell("diurnal", 0, run("governor", 0, 10.0, swap_log=log))
    [verdict] = judge([cold, step, diurnal], [target("no swap up then down")])
    assert [c.key.scenario for c in verdict.checks] == ["cold-80", "step"]  # diurnal is not judged
    assert [c.passed for c in verdict.checks] == [False, True]  # step's moves are before its step
    assert "up at 400 s, down at 700 s" in verdict.failing[0].detail


def test_median_and_worst_and_the_share_of_cells() -> None:
    rule = target("≥5× fewer")
    nine_and_one_close = [flash(s, 600, 100) for s in range(9)] + [flash(9, 450, 100)]
    [verdict] = judge(nine_and_one_close, [rule])
    assert verdict.passed and verdict.passed_cells == 9
    assert verdict.median == pytest.approx(6.0) and verdict.worst == pytest.approx(4.5)
    one_far = [flash(s, 600, 100) for s in range(9)] + [flash(9, 300, 100)]
    assert not judge(one_far, [rule])[0].passed  # 9/10, but the worst is 3× < 4×
    two_short = [flash(s, 600, 100) for s in range(8)] + [flash(s, 450, 100) for s in (8, 9)]
    assert not judge(two_short, [rule])[0].passed  # only 8/10 reach 5×


def test_fewer_violations_must_come_at_no_more_gpu_hours_than_the_best_hpa() -> None:
    [verdict] = judge([flash(0, 1000, 10, gov_gpu=11.5)], [target("≥5× fewer")])
    assert verdict.checks[0].value == pytest.approx(100.0) and not verdict.passed
    assert "hpa-gpu" in verdict.checks[0].detail  # compared with the better HPA row


def test_best_hpa_is_the_row_with_fewest_violations() -> None:
    c = flash(0, 1000, 10)
    best = best_hpa(c)
    assert best is not None and best.summary.policy == "hpa-gpu"
    assert best_hpa(cell("trace", 0, run("governor", 0, 1.0))) is None


def test_capture_of_the_reduction_to_the_clairvoyant() -> None:
    assert captured(100, 20, 0) == pytest.approx(0.8)
    assert captured(100, 20, 50) == pytest.approx(1.6)
    assert captured(10, 5, 10) == 1.0 and captured(10, 20, 10) == 0.0  # no reduction to make
    cells = [flash(0, 1000, 300, clairvoyant=0), flash(1, 1000, 100, clairvoyant=0), flash(2, 1000, 50)]
    [verdict] = judge(cells, [target("captures")])
    assert verdict.median == pytest.approx(0.9) and verdict.worst == pytest.approx(0.7) and verdict.passed


def test_times_fewer_and_the_clairvoyant_gap_count_whole_requests() -> None:
    assert times_fewer(100, 1e-11) == math.inf
    assert times_fewer(0.2, 1e-11) == 1.0
    assert times_fewer(100, 25) == 4.0
    gap = clairvoyant_gap(flash(0, 1000, 300, gov_gpu=18.0, clairvoyant=100))
    assert gap == (pytest.approx(3.0), pytest.approx(2.0))
    assert clairvoyant_gap(cell("trace", 0, run("governor", 0, 1.0))) is None


def test_heavy_tailed_passes_with_almost_no_violations_where_hpa_has_almost_none() -> None:
    rule = target("≥2× fewer violating at")
    quiet = cell("heavy-tailed", 0, run("governor", 40, 10.0), run("hpa", 60, 11.0))  # 0.04 % vs 0.06 %
    noisy = cell("heavy-tailed", 1, run("governor", 80, 10.0), run("hpa", 90, 11.0))  # 0.08 % > 0.05 %
    assert [c.passed for c in judge([quiet, noisy], [rule])[0].checks] == [True, False]


def test_cold_start_targets_read_steady_replicas_and_early_swaps() -> None:
    log = ((60.0, "int4"), (900.0, "fp8"), (2000.0, "bf16"), (3700.0, "fp8"))
    assert swaps_before(log, 3600.0) == 3
    c = cell("cold-120", 0, run("governor", 0, 10.0, swap_log=log, steady=36.0), run("clairvoyant", 0, 9.0, steady=30))
    steady, early = judge([c], [target("steady-state"), target("≤ 2 swaps")])
    assert steady.worst == pytest.approx(1.2) and steady.passed
    assert early.worst == 3 and not early.passed


def test_a_missing_row_fails_the_target_instead_of_raising() -> None:
    [verdict] = judge([cell("flash-inplace", 0, run("governor", 1, 1.0), run("hpa", 10, 1.0))], [target("captures")])
    assert not verdict.passed and "clairvoyant" in verdict.failing[0].detail


def test_the_full_matrix_and_the_quick_one() -> None:
    full = matrix_cells(range(10), ("flash-inplace", "cold-40", "trace", "mooncake"), (20.0, 40.0, 80.0))
    assert len(full) == 2 * 10 + 2 * 3 * 3
    assert CellKey("mooncake", 2, 80.0) in full and CellKey("cold-40", 9) in full
    assert len(matrix_cells(range(3), ("diurnal", "trace"), (40.0,))) == 3 + 3


def test_one_real_cell_runs_every_named_policy_on_the_same_arrivals() -> None:
    result = run_cell(CellKey("smoke", 1), ("governor", "hpa", "static-peak"))
    assert list(result.runs) == ["governor", "hpa", "static-peak"]
    assert len({r.summary.arrived for r in result.runs.values()}) == 1
    peak = result.runs["static-peak"]
    assert peak.swap_log == () and peak.steady_replicas > 0 and peak.initial_precision == "bf16"
    assert result.quality["int4"] < result.quality["fp8"] < result.quality["bf16"]
    assert "swap_log" in result.runs["governor"].as_dict()


def _bench_script() -> ModuleType:
    path = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_matrix.py"
    if str(path.parent) not in sys.path:  # as when run as a script: its helpers (cells.py) sit beside it
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("bench_matrix", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_script_parses_seeds_and_writes_json_with_every_verdict() -> None:
    bench = _bench_script()
    assert bench.seed_list("0-2,7") == [0, 1, 2, 7]
    quick = bench.parse(["--quick", "--scenarios", "flash-inplace,trace"])
    assert quick.seeds == [0, 1, 2] and quick.rates == (40.0,)
    cells = [flash(0, 1000, 10), cell("trace", 0, run("governor", 5, 10.0), run("kpa", 1, 9.0), rate=20.0)]
    text = json.dumps(bench.as_json(cells, judge(cells)), default=bench._plain)
    report = json.loads(text)
    assert len(report["cells"]) == 2 and report["cells"][1]["rate"] == 20.0
    dominated = next(t for t in report["targets"] if t["promise"].startswith("no baseline"))
    assert dominated["failing"] == [{"cell": "trace seed 0 @ 20 req/s", "detail": "dominated by kpa"}]
    assert json.loads(json.dumps({"n": np.int64(3)}, default=bench._plain)) == {"n": 3}
