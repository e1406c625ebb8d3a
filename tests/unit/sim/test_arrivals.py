"""Trace reading (CSV and JSONL) and rescaling on request timestamps.

Rescaling must move the mean rate to the target while keeping the trace's own burstiness
(variance over mean of per-second counts); multiplying each second's count by the factor,
as the simulator once did, multiplies that burstiness by the factor instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from governor.sim.arrivals import (
    Trace,
    TraceError,
    burstiness,
    read_trace,
    rescale_trace,
    spread_ticks,
    trace_arrivals,
)

TRACES = Path(__file__).resolve().parents[4] / "shared" / "traces"
AZURE = TRACES / "azure-llm-2023-conv.csv"
MOONCAKE = TRACES / "mooncake-conversation.jsonl"
needs_traces = pytest.mark.skipif(
    not (AZURE.exists() and MOONCAKE.exists()), reason="the shared traces are not checked out next to the repository"
)


def bursty_trace(seed: int = 0, span_s: int = 3600) -> Trace:
    """Gamma renewal arrivals (inter-arrival CV 2) at about 5 req/s, with distinct token lengths."""
    rng = np.random.default_rng(seed)
    gaps = rng.gamma(0.25, 0.8, size=30_000)
    offsets = np.cumsum(gaps)
    offsets = offsets[offsets < span_s] - offsets[0]
    index = np.arange(offsets.size, dtype=np.int64)
    return Trace("synthetic", offsets, span_s, index + 1000, index + 10)


GOOD_LINE = '{"timestamp": 0, "input_length": 1, "output_length": 1}\n'


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize("factor", [1.5, 2.0, 7.3])
def test_rescaling_keeps_burstiness_and_hits_the_rate(factor: float) -> None:
    trace = bursty_trace()
    native = burstiness(trace.counts())
    assert native > 2.5  # the fixture is clearly burstier than Poisson
    scaled = rescale_trace(trace, factor, np.random.default_rng(1)).counts()
    assert scaled.size == trace.span_s
    assert scaled.mean() == pytest.approx(factor * trace.native_rate, rel=0.03)
    assert native / 1.5 < burstiness(scaled) < native * 1.5


def test_thinning_moves_burstiness_towards_poisson_as_it_must() -> None:
    trace = bursty_trace()
    native = burstiness(trace.counts())
    thinned = rescale_trace(trace, 0.4, np.random.default_rng(1)).counts()
    assert thinned.mean() == pytest.approx(0.4 * trace.native_rate, rel=0.03)
    assert burstiness(thinned) == pytest.approx(1 + 0.4 * (native - 1), rel=0.1)


def test_per_second_multiplication_would_have_inflated_burstiness() -> None:
    trace = bursty_trace()
    native = burstiness(trace.counts())
    assert burstiness(trace.counts() * 7) == pytest.approx(7 * native)
    assert burstiness(rescale_trace(trace, 7.0, np.random.default_rng(0)).counts()) < 1.5 * native


def test_rescaling_is_reproducible_per_seed() -> None:
    trace = bursty_trace()
    first = rescale_trace(trace, 3.6, np.random.default_rng(5)).counts()
    again = rescale_trace(trace, 3.6, np.random.default_rng(5)).counts()
    other = rescale_trace(trace, 3.6, np.random.default_rng(6)).counts()
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_thinning_keeps_a_subset_and_the_first_copy_is_unshifted() -> None:
    trace = bursty_trace()
    thinned = rescale_trace(trace, 0.5, np.random.default_rng(2))
    assert set(thinned.offsets_s.tolist()) <= set(trace.offsets_s.tolist())
    assert thinned.size == pytest.approx(trace.size / 2, rel=0.05)
    same = rescale_trace(trace, 1.0, np.random.default_rng(2))
    assert np.array_equal(same.offsets_s, trace.offsets_s)


def test_token_lengths_travel_with_their_requests() -> None:
    trace = bursty_trace()
    doubled = rescale_trace(trace, 2.0, np.random.default_rng(3))
    assert doubled.input_tokens is not None and doubled.output_tokens is not None
    assert np.array_equal(np.sort(doubled.input_tokens), np.sort(np.repeat(trace.input_tokens, 2)))
    assert np.array_equal(doubled.input_tokens - doubled.output_tokens, np.full(doubled.size, 990))
    assert np.all(np.diff(doubled.offsets_s) >= 0)
    assert doubled.offsets_s.min() >= 0 and doubled.offsets_s.max() < trace.span_s


def test_rescaling_refuses_a_non_positive_factor() -> None:
    with pytest.raises(ValueError, match="positive"):
        rescale_trace(bursty_trace(), 0.0, np.random.default_rng(0))


def test_jsonl_offsets_in_seconds_sorted_with_their_tokens(tmp_path: Path) -> None:
    records = [
        {"timestamp": 2500, "input_length": 30, "output_length": 3, "hash_ids": [1]},
        {"timestamp": 500, "input_length": 10, "output_length": 1, "hash_ids": []},
        {"timestamp": 1500, "input_length": 20, "output_length": 2, "hash_ids": [0]},
    ]
    trace = read_trace(write_jsonl(tmp_path / "t.jsonl", records))
    assert trace.offsets_s.tolist() == [0.0, 1.0, 2.0]
    assert trace.span_s == 3
    assert trace.input_tokens is not None and trace.input_tokens.tolist() == [10, 20, 30]
    assert trace.output_tokens is not None and trace.output_tokens.tolist() == [1, 2, 3]
    assert trace.counts().tolist() == [1, 1, 1]


def test_csv_carries_token_lengths_when_it_has_them(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 18:15:48.1000000,300,30\n"
        "2023-11-16 18:15:46.6805900,374,44\n"
    )
    trace = read_trace(path)
    assert trace.offsets_s.tolist() == pytest.approx([0.0, 1.41941])
    assert trace.input_tokens is not None and trace.input_tokens.tolist() == [374, 300]
    bare = tmp_path / "bare.csv"
    bare.write_text("TIMESTAMP\n2023-11-16 18:15:46\n")
    assert read_trace(bare).input_tokens is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("empty.jsonl", "", "no requests"),
        ("blank.jsonl", "\n\n", "no requests"),
        ("bad.jsonl", GOOD_LINE + '{"timestamp": 5,\n', "line 2: bad JSON"),
        ("missing.jsonl", '{"timestamp": 0, "input_length": 1}\n', "line 1: missing field 'output_length'"),
        ("text.jsonl", '{"timestamp": "0", "input_length": 1, "output_length": 1}\n', "'timestamp' is not a finite"),
        ("list.jsonl", "[1, 2]\n", "line 1: not a JSON object"),
        ("half.jsonl", '{"timestamp": 0, "input_length": 1.5, "output_length": 1}\n', "not a token count"),
        ("empty.csv", "", "no TIMESTAMP column"),
        ("nostamp.csv", "TIME,ContextTokens\n1,2\n", "no TIMESTAMP column"),
        ("stamp.csv", "TIMESTAMP\n2023-11-16 18:15:46\nyesterday\n", "line 3"),
        ("tokens.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,\n", "line 2: empty field"),
        ("trace.parquet", "x", "unknown trace format '.parquet'"),
    ],
)
def test_malformed_traces_say_why_in_one_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TraceError, match=message) as raised:
        read_trace(path)
    assert "\n" not in str(raised.value)
    assert str(path) in str(raised.value)


def test_a_missing_file_is_a_trace_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="No such file"):
        read_trace(tmp_path / "absent.jsonl")


def test_ticked_timestamps_are_spread_over_their_tick(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ticks = np.arange(0, 3000, 3)
    records = [
        {"timestamp": int(t) * 1000, "input_length": 1, "output_length": 1}
        for t in ticks
        for _ in range(rng.poisson(9))
    ]
    trace = read_trace(write_jsonl(tmp_path / "ticked.jsonl", records))
    assert trace.tick_s == 3.0
    assert burstiness(trace.counts()) > 5  # a burst every third second
    spread = spread_ticks(trace, np.random.default_rng(1))
    assert spread.tick_s == 0.0 and spread.size == trace.size
    assert burstiness(spread.counts()) < 1.3
    assert burstiness(rescale_trace(trace, 5.0, np.random.default_rng(1)).counts()) < 1.3
    assert bursty_trace().tick_s == 0.0


@needs_traces
def test_azure_at_40_keeps_its_native_burstiness() -> None:
    trace = read_trace(AZURE)
    native = burstiness(trace.counts())
    assert trace.native_rate == pytest.approx(5.5, abs=0.2) and native == pytest.approx(1.4, abs=0.1)
    for seed in range(3):
        arrivals = trace_arrivals(AZURE, np.random.default_rng(seed), mean_rate=40.0)
        assert arrivals.mean_rate == pytest.approx(40.0, rel=0.03)
        assert native / 1.5 < burstiness(arrivals.counts) < native * 1.5
        assert arrivals.requests is not None and arrivals.requests.input_tokens is not None


@needs_traces
def test_mooncake_reads_as_poisson_on_3_s_ticks_and_stays_so_at_40() -> None:
    trace = read_trace(MOONCAKE)
    assert trace.size == 12_031 and trace.tick_s == 3.0
    assert trace.native_rate == pytest.approx(3.4, abs=0.1)
    native = burstiness(spread_ticks(trace, np.random.default_rng(0)).counts())
    arrivals = trace_arrivals(MOONCAKE, np.random.default_rng(0), mean_rate=40.0, duration_s=1800)
    assert arrivals.duration_s == 1800
    assert arrivals.mean_rate == pytest.approx(40.0, rel=0.03)
    assert native / 1.5 < burstiness(arrivals.counts) < native * 1.5
    assert "3 s ticks spread" in arrivals.description
