"""What the demo shows: rows that fit 120 columns, reasons cut at a word, change-only rows, the live
block, set-up progress, the summary's HPA yardstick, the default plot path."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governor.demo import baseline, console, entry, report, story
from governor.demo.scenario import flash_crowd
from governor.demo.world import Ledger
from governor.model import ServiceSpec
from governor.model.parse import parse_service

LONG = (
    "p99 9706 ms > SLO 2000 ms at 7/8 replicas; int4 adds 100% capacity; rolling 4 pods at once (the smallest "
    "batch that carries the load after one start-up); no scale-down during a precision swap; at maxReplicas 8"
)


def _record(**changes: object) -> report.TickRecord:
    base: dict[str, object] = {
        "t": 75.0,
        "service": "chat",
        "phase": "flash-crowd",
        "offered_rps": 60.0,
        "ready": 8,
        "desired": 8,
        "precision": "int4",
        "rps": 41.5,
        "p99_ms": 12400.0,
        "gpu": 1.0,
        "true_p99_ms": 12300.0,
        "slo_ms": 2000.0,
        "reason": LONG,
    }
    base.update(changes)
    return report.TickRecord(**base)  # type: ignore[arg-type]


def test_a_row_with_a_long_reason_fits_120_columns_and_ends_in_an_ellipsis() -> None:
    line = report.row(_record())
    assert len(line) <= 120 and line.endswith("…")
    assert len(report.header(2000.0)) <= 120
    assert len(report.row(_record(reason="x" * 500, service="a-very-long-service", phase="p" * 30))) <= 120


@given(st.text(alphabet="ab ;", min_size=0, max_size=80), st.integers(2, 60))
def test_shorten_never_cuts_a_word(text: str, width: int) -> None:
    short = report.shorten(text, width)
    assert len(short) <= width
    if short == text:
        return
    assert short.endswith("…")
    head = short[:-1]
    assert text.startswith(head)
    if " " in text[: width - 1] or text[width - 1 : width] == " ":  # a word boundary was in reach
        assert head == "" or text[len(head)] in " ;"  # the cut fell between words, never inside one


def test_shorten_cuts_at_the_last_whole_word() -> None:
    assert report.shorten("needs 12 replicas at bf16", 16) == "needs 12…"
    assert report.shorten("needs 12 replicas at bf16", 18) == "needs 12 replicas…"
    assert report.shorten("short", 10) == "short"


def test_change_filter_prints_changes_and_a_heartbeat_only() -> None:
    f = console.ChangeFilter(heartbeat_seconds=60.0)
    same = [_record(t=float(t)) for t in range(0, 60, 4)]
    assert [f.wanted(r) for r in same] == [True] + [False] * (len(same) - 1)
    assert f.wanted(_record(t=61.0))  # heartbeat
    assert f.wanted(_record(t=62.0, ready=7))  # replicas changed
    assert f.wanted(_record(t=63.0, ready=7, p99_ms=900.0))  # SLO state changed
    assert not f.wanted(_record(t=64.0, ready=7, p99_ms=950.0, rps=44.0, reason="other"))  # only numbers moved
    assert f.wanted(_record(t=65.0, ready=7, p99_ms=950.0, precision="fp8"))
    assert f.wanted(_record(t=66.0, ready=7, p99_ms=950.0, precision="fp8", phase="steady"))


def test_piped_output_prints_a_header_once_and_rows_only_on_change() -> None:
    out = io.StringIO()
    printer = console.Printer("changes", out, width=120)
    printer("setup", {"step": "starting the Kubernetes emulator", "elapsed_s": 0.4})
    for t in range(0, 180):
        printer("tick", _record(t=float(t), rps=40.0 + t % 3))
    lines = out.getvalue().splitlines()
    assert lines[0] == "  [   0.4 s] starting the Kubernetes emulator"
    assert sum(line.lstrip().startswith("time") for line in lines) == 1
    assert len(lines) == 2 + 3  # header, first row, heartbeats at 60 and 120 (+ the set-up line)
    assert all(len(line) <= 120 for line in lines)


def test_the_live_view_redraws_its_block_in_place() -> None:
    out = io.StringIO()
    printer = console.Printer("live", out, width=120)
    printer("story", {"start": 4.0, "simulated_seconds": 600.0})
    printer("tick", _record(t=10.0))
    printer("tick", _record(t=14.0))
    printer("event", {"type": "Normal", "reason": "ScaledUp", "object": "ml/chat", "message": "2 → 3"})
    text = out.getvalue()
    assert text.count("\x1b[3F\x1b[J") == 2  # the 3-line block (header, row, progress) erased, then drawn again
    assert "phase: flash-crowd" in text and "ScaledUp" in text
    printer("event", {"type": "Normal", "reason": "ScaledUp", "object": "ml/chat", "message": LONG})
    assert all(len(line) <= 120 for line in out.getvalue().replace("\x1b[3F\x1b[J", "").splitlines())
    assert text.rstrip().endswith("0:10 / 10:00 simulated")


def test_quiet_and_json_modes() -> None:
    assert console.mode_for(True, False, io.StringIO()) == "json"
    assert console.mode_for(False, True, io.StringIO()) == "quiet"
    assert console.mode_for(False, False, io.StringIO()) == "changes"  # not a terminal
    out = io.StringIO()
    console.Printer("json", out)("setup", {"step": "x", "elapsed_s": 1.0})
    assert out.getvalue().startswith('{"kind": "setup"')


def _spec() -> ServiceSpec:
    return parse_service(story.demo_service())


def test_the_hpa_baseline_is_deterministic_and_cannot_carry_the_crowd_at_bf16() -> None:
    spec = _spec()
    params = story.fleet_params(spec)
    one = baseline.hpa_run(spec, params, flash_crowd(), 600.0)
    assert one == baseline.hpa_run(spec, params, flash_crowd(), 600.0)
    assert one.precision == "bf16" and one.max_ready == spec.max_replicas
    assert one.slo_attainment is not None and one.slo_attainment < spec.slo.objective
    assert 0 < one.gpu_seconds <= spec.max_replicas * 600.0
    assert one.breach_seconds > 0


def _summary(gpu_seconds: float, attainment_good: float) -> report.RunSummary:
    hpa = baseline.BaselineResult("HPA (simulated)", "HPA on GPU utilisation 75%", 0.30, 300.0, 2000.0, 8, "bf16")
    ledger = Ledger(seconds=600.0, requests=100.0, good=attainment_good, gpu_seconds=gpu_seconds)
    ledger = Ledger(**{**ledger.__dict__, "peak_gpu_seconds": 4800.0, "breach_seconds": 120.0})
    return report.summarise(ledger, [_record()], [], [], 0.99, hpa, 40.0)


def test_the_summary_sets_governor_beside_the_simulated_hpa() -> None:
    text = report.summary_text(_summary(gpu_seconds=1500.0, attainment_good=70.0))
    governor = next(line for line in text.splitlines() if "Governor (this run" in line)
    hpa = next(line for line in text.splitlines() if line.strip().startswith("HPA (simulated)"))
    assert "70.0%" in governor and "120 s" in governor and "1500" in governor
    assert "30.0%" in hpa and "300 s" in hpa and "2000" in hpa and "bf16 only" in hpa
    assert "Governor did no worse on any figure" in text
    assert "objective 99% not met: the flash crowd (60 req/s)" in text


def test_the_summary_says_where_governor_loses() -> None:
    text = report.summary_text(_summary(gpu_seconds=2400.0, attainment_good=20.0))
    assert "Governor did worse on: lower SLO attainment (20.0% vs 30.0%); 20% more GPU-seconds" in text


def test_the_plot_is_written_by_default_except_under_json_or_no_plot() -> None:
    def args(**kw: object) -> argparse.Namespace:
        return argparse.Namespace(**{"no_plot": False, "plot": None, "json": False, **kw})

    assert entry.plot_path(args()) == Path("governor-demo.png")
    assert entry.plot_path(args(plot=Path("docs/demo.png"))) == Path("docs/demo.png")
    assert entry.plot_path(args(no_plot=True)) is None
    assert entry.plot_path(args(json=True)) is None
    assert entry.plot_path(args(json=True, plot=Path("x.png"))) == Path("x.png")


@pytest.mark.parametrize("flags", [["--plot", "a.png", "--no-plot"]])
def test_plot_and_no_plot_exclude_each_other(flags: list[str]) -> None:
    parser = argparse.ArgumentParser()
    entry.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(flags)
    assert parser.parse_args(["--seed", "7"]).seed == 7
