"""The demo world's pure pieces: the load story, the fleet's queueing arithmetic, the ledger, the row format."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governor.demo import report
from governor.demo.scenario import DemoScenario, StoryPhase, flash_crowd
from governor.demo.session import ready_by_precision
from governor.demo.world import FleetParams, Ledger, queue_wait, step

PARAMS = FleetParams(capacity_rps=5.0, service_seconds=0.5, throughput={"bf16": 1.0, "fp8": 1.6, "int4": 2.0})


def test_scenario_interpolates_inside_a_phase_and_holds_after_the_end() -> None:
    scenario = DemoScenario((StoryPhase("a", 0.5, 10.0, 20.0), StoryPhase("b", 1.0, 20.0, 20.0)))
    assert scenario.at(25.0, 100.0) == (15.0, "a")
    assert scenario.at(75.0, 100.0) == (20.0, "b")
    assert scenario.at(500.0, 100.0) == (20.0, "b")


def test_flash_crowd_is_a_multiple_of_the_ramp_and_ends_calm() -> None:
    story = flash_crowd(base_rps=6.0, ramp_rps=20.0, crowd_factor=3.0)
    phases = [story.at(t, 100.0)[1] for t in range(0, 101, 5)]
    assert phases[0] == "steady" and phases[-1] == "steady"
    assert "ramp" in phases and "flash-crowd" in phases
    assert story.peak_rps == pytest.approx(60.0)
    assert story.at(100.0, 100.0)[0] < story.peak_rps / 4


def test_more_replicas_and_lower_precision_mean_lower_latency_under_the_same_load() -> None:
    two = step(PARAMS, 0.0, 9.0, {"bf16": 2}, 1.0)
    four = step(PARAMS, 0.0, 9.0, {"bf16": 4}, 1.0)
    int4 = step(PARAMS, 0.0, 9.0, {"int4": 2}, 1.0)
    assert four.p99_seconds < two.p99_seconds
    assert int4.p99_seconds < two.p99_seconds
    assert int4.capacity == pytest.approx(2 * two.capacity)


def test_overload_builds_a_backlog_that_drains_when_capacity_returns() -> None:
    over = step(PARAMS, 0.0, 60.0, {"bf16": 8}, 2.0)  # 40 req/s of capacity
    assert over.served == pytest.approx(40.0)
    assert over.backlog == pytest.approx(40.0)
    assert over.utilisation == pytest.approx(1.0)
    relieved = step(PARAMS, over.backlog, 10.0, {"int4": 8}, 2.0)  # 80 req/s of capacity
    assert relieved.backlog == 0.0
    assert relieved.served == pytest.approx(30.0)  # 10 arriving + 40 waiting, over 2 s


def test_no_ready_replica_serves_nothing_and_queues_nothing() -> None:
    view = step(PARAMS, 100.0, 6.0, {"bf16": 0}, 1.0)
    assert (view.served, view.backlog, view.capacity) == (0.0, 0.0, 0.0)


def test_a_rolling_swap_mixes_capacities() -> None:
    view = step(PARAMS, 0.0, 1.0, {"int4": 3, "bf16": 5}, 1.0)
    assert view.capacity == pytest.approx(3 * 10.0 + 5 * 5.0)


@given(st.integers(1, 32), st.floats(0.01, 0.96))
def test_queue_wait_grows_with_utilisation(replicas: int, rho: float) -> None:
    assert queue_wait(0.5, replicas, rho) < queue_wait(0.5, replicas, min(0.97, rho + 0.01))


def test_ledger_counts_good_requests_gpu_seconds_and_refused_requests() -> None:
    calm = step(PARAMS, 0.0, 5.0, {"bf16": 4}, 1.0)
    down = step(PARAMS, 0.0, 5.0, {"bf16": 0}, 1.0)
    ledger = Ledger().add(calm, 4, 8, 2.0, 10.0).add(down, 0, 8, 2.0, 10.0)
    assert ledger.requests == pytest.approx(100.0)
    assert ledger.attainment == pytest.approx(0.5 * calm.within(2.0))
    assert (ledger.gpu_seconds, ledger.peak_gpu_seconds, ledger.seconds) == (40.0, 160.0, 20.0)


def test_ready_pods_split_by_precision_while_a_swap_rolls() -> None:
    rolling = {"precision": "bf16", "swap": {"phase": "Rolling", "from": "bf16", "to": "int4"}}
    assert ready_by_precision((3, 5), rolling) == {"int4": 3, "bf16": 5}
    back = {"precision": "bf16", "swap": {"phase": "RollingBack", "from": "bf16", "to": "int4"}}
    assert ready_by_precision((2, 1), back) == {"bf16": 2, "int4": 1}
    assert ready_by_precision((4, 0), {"precision": "fp8"}) == {"fp8": 4}


def _record(**changes: object) -> report.TickRecord:
    base: dict[str, object] = {
        "t": 75.0,
        "service": "chat",
        "phase": "ramp",
        "offered_rps": 12.0,
        "ready": 3,
        "desired": 5,
        "precision": "bf16",
        "rps": 11.5,
        "p99_ms": 2400.0,
        "gpu": 0.81,
        "true_p99_ms": 2300.0,
        "slo_ms": 2000.0,
        "reason": "latency SLO needs 5 replicas",
    }
    base.update(changes)
    return report.TickRecord(**base)  # type: ignore[arg-type]


def test_row_shows_breach_replicas_and_reason() -> None:
    line = report.row(_record())
    assert line.startswith(" 1:15")
    assert "3/5" in line and "BREACH" in line and "81%" in line and line.endswith("needs 5 replicas")
    assert " ok " in report.row(_record(p99_ms=900.0))
    assert "BREACH" not in report.row(_record(p99_ms=None))


def test_summary_counts_swaps_scale_events_and_alerts() -> None:
    records = [_record(precision=p) for p in ("bf16", "bf16", "int4", "fp8")]
    events = [{"reason": r} for r in ("ScaledUp", "ScaledUp", "PrecisionSwapped", "PrecisionSwapped", "Created")]
    alerts = [{"status": "firing"}, {"status": "firing"}, {"status": "resolved"}]
    summary = report.summarise(Ledger(), records, events, alerts, objective=0.99)
    assert (summary.scale_events, summary.swaps) == (2, 2)
    assert summary.precisions == ("bf16", "int4", "fp8")
    assert (summary.alerts_fired, summary.alerts_resolved) == (2, 1)
    assert "bf16 → int4 → fp8" in report.summary_text(summary)


def test_plot_draws_a_png(tmp_path: Path) -> None:
    path = tmp_path / "demo.png"
    report.plot([_record(t=float(i), ready=2 + i % 3, precision="bf16" if i < 5 else "int4") for i in range(10)], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
