"""``governor demo`` tells its story end to end: load arrives, Governor measures it, scales, swaps, alerts; exit 0.

One short run at high speed (about 15 s of wall clock: 280 simulated seconds at ×20) with JSON
output, so the assertions read what happened rather than parse the table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

SLO_MS = 2000.0


@pytest.fixture(scope="module")
def run() -> dict[str, list[dict[str, Any]]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "governor",
            "demo",
            "--duration",
            "14",
            "--speed",
            "20",
            "--tick-seconds",
            "0.5",
            "--json",
            "--cluster",
            "emulator",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    kinds: dict[str, list[dict[str, Any]]] = {}
    for line in proc.stdout.splitlines():
        doc = json.loads(line)
        kinds.setdefault(doc["kind"], []).append(doc)
    return kinds


def test_metrics_flow_from_the_simulated_fleet_into_status(run: dict[str, list[dict[str, Any]]]) -> None:
    ticks = run["tick"]
    measured = [t for t in ticks if t["rps"] is not None and t["p99_ms"] is not None and t["gpu"] is not None]
    assert len(measured) >= len(ticks) // 2, ticks[-1]
    busiest = max(measured, key=lambda t: t["rps"])
    assert busiest["rps"] > 3 * ticks[0]["offered_rps"] * 0.9, busiest  # the flash crowd was measured


def test_governor_scales_up_with_the_ramp(run: dict[str, list[dict[str, Any]]]) -> None:
    reasons = [e["reason"] for e in run["event"]]
    assert "ScaledUp" in reasons, reasons
    assert max(t["ready"] for t in run["tick"]) > 2
    assert run["summary"][0]["max_ready"] == 8  # maxReplicas of the demo service


def test_precision_steps_down_when_max_replicas_cannot_carry_the_flash_crowd(
    run: dict[str, list[dict[str, Any]]],
) -> None:
    started = [e["message"] for e in run["event"] if e["reason"] == "PrecisionSwapStarted"]
    assert any(m.startswith("bf16 → ") for m in started), started
    assert {"fp8", "int4"} & {t["precision"] for t in run["tick"]}, "no swap completed"


def test_alerts_reach_the_webhook_and_the_summary_adds_up(run: dict[str, list[dict[str, Any]]]) -> None:
    firing = [a for a in run.get("alert", []) if a["status"] == "firing"]
    assert firing, run.get("alert")
    assert {a["service"] for a in firing} == {"ml/chat"}
    summary = run["summary"][0]
    assert summary["alerts_fired"] == len(firing)
    assert 0.0 < summary["slo_attainment"] < 1.0  # the flash crowd cost some requests
    assert 0.0 < summary["gpu_seconds"] < summary["peak_gpu_seconds"]
    assert any(t["p99_ms"] is not None and t["p99_ms"] > SLO_MS for t in run["tick"])
