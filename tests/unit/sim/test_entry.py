"""``governor simulate`` end to end on a short scenario, through the real CLI dispatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from governor.cli import main

TRACE = Path(__file__).resolve().parents[4] / "shared" / "traces" / "azure-llm-2023-conv.csv"
MOONCAKE = TRACE.with_name("mooncake-conversation.jsonl")


def test_simulate_json_compares_every_policy_on_the_same_arrivals(capsys: pytest.CaptureFixture[str]) -> None:
    policies = "governor,hpa,kpa,static-peak,oracle"
    assert main(["simulate", "--scenario", "smoke", "--policies", policies, "--seed", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["policy"]: row for row in report["policies"]}
    assert list(rows) == policies.split(",")
    assert len({row["arrived"] for row in rows.values()}) == 1  # identical arrivals
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
@pytest.mark.parametrize(("rate", "expected"), [([], 40.0), (["--rate", "12.5"], 12.5)])
def test_simulate_a_trace_file(capsys: pytest.CaptureFixture[str], rate: list[str], expected: float) -> None:
    args = ["simulate", "--trace", str(TRACE), *rate, "--duration", "300", "--policies", "governor", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["duration_s"] == 300
    assert "azure-llm-2023-conv" in report["description"]
    assert report["policies"][0]["requests"] == pytest.approx(expected * 300, rel=0.03)


@pytest.mark.skipif(not MOONCAKE.exists(), reason="the shared trace is not checked out next to the repository")
def test_simulate_the_mooncake_scenario_at_a_rate(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--scenario", "mooncake", "--rate", "20", "--duration", "240", "--policies", "governor"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("scenario mooncake: trace mooncake-conversation.jsonl")
    assert "20.0 req/s" in text


def test_simulate_a_jsonl_trace_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "calls.jsonl"
    line = '{{"timestamp": {ms}, "input_length": 500, "output_length": 50, "hash_ids": [1, 2]}}\n'
    path.write_text("".join(line.format(ms=ms) for ms in range(0, 180_000, 250)))  # 4 req/s for 3 min
    args = ["simulate", "--trace", str(path), "--rate", "8", "--policies", "governor", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scenario"] == "trace" and "calls.jsonl" in report["description"]
    assert report["duration_s"] == 180
    assert report["policies"][0]["requests"] == pytest.approx(8 * 180, rel=0.03)


def test_a_malformed_trace_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text('{"timestamp": 0, "input_length": 1, "output_length": 1}\nnot json\n')
    assert main(["simulate", "--trace", str(path), "--policies", "governor"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{path}: line 2: bad JSON" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "smoke", "--rate", "20"], "--rate applies only to --trace or --scenario trace|mooncake"),
        (["--rate", "20"], "--rate applies only to"),  # the default scenario is not a trace
        (["--scenario", "mooncake", "--rate", "-5"], "--rate must be positive"),
    ],
)
def test_rate_without_a_trace_is_refused(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", *args, "--policies", "governor"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unknown_policy_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--scenario", "smoke", "--policies", "hpa,magic"]) == 2
    assert "magic" in capsys.readouterr().err


def test_simulate_token_mode_prints_the_published_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ramp.png"
    args = ["simulate", "--scenario", "llmd-staged-ramp", "--policies", "llmd-slo,static-peak", "--plot", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "P90 TTFT ≤ 3000 ms and P90 TPOT ≤ 100 ms" in text and "no request-latency objective" in text
    assert "llm-d (published)" in text and "5.93" in text and "static peak: 8 replicas" in text
    assert out.stat().st_size > 10_000


def test_simulate_token_mode_refuses_request_level_policies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--scenario", "llmd-staged-ramp", "--policies", "kpa"]) == 2
    assert "unknown policies: kpa" in capsys.readouterr().err
