"""``governor simulate`` end to end on a short scenario, through the real CLI dispatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from governor.cli import main

TRACE = Path(__file__).resolve().parents[4] / "shared" / "traces" / "azure-llm-2023-conv.csv"


def test_simulate_json_compares_every_policy_on_the_same_arrivals(capsys: pytest.CaptureFixture[str]) -> None:
    policies = "governor,hpa,kpa,static-peak,oracle"
    assert main(["simulate", "--scenario", "smoke", "--policies", policies, "--seed", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["policy"]: row for row in report["policies"]}
    assert list(rows) == policies.split(",")
    assert len({row["requests"] for row in rows.values()}) == 1  # identical arrivals
    for row in rows.values():
        assert 0.0 <= row["attainment"] <= 1.0
        assert row["gpu_hours"] > 0
        assert row["quality_min"] >= 0.97
    assert rows["static-peak"]["scale_actions_per_hour"] == 0
    assert "KPA" in rows["kpa"]["configuration"] and "HPA" in rows["hpa"]["configuration"]


def test_simulate_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "smoke.png"
    assert main(["simulate", "--scenario", "smoke", "--policies", "hpa,oracle", "--plot", str(out)]) == 0
    text = capsys.readouterr().out
    assert "SLO att." in text and "oracle" in text and "configured as:" in text
    assert out.stat().st_size > 10_000


@pytest.mark.skipif(not TRACE.exists(), reason="the shared trace is not checked out next to the repository")
def test_simulate_a_trace_file(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--trace", str(TRACE), "--duration", "300", "--policies", "hpa", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["duration_s"] == 300
    assert "azure-llm-2023-conv" in report["description"]


def test_unknown_policy_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--scenario", "smoke", "--policies", "hpa,magic"]) == 2
    assert "magic" in capsys.readouterr().err
