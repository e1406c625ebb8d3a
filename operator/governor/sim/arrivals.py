"""Request arrivals for the simulator, as integer counts per one-second step.

The simulator works on per-second cohorts rather than request objects, so every source of
load (a real trace or a generator) reduces to one ``numpy`` array of counts. Generators are
seeded from one ``numpy.random.Generator`` so a run is reproducible with ``--seed``.

Recorded traces (Azure LLM CSV, Mooncake JSONL) are read as requests with their token
lengths, rescaled to a target rate on the request timestamps (so a faster replay is no
burstier than the recording) and only then binned into seconds.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

from governor.model.errors import GovernorError

DAY_S = 86_400.0
_T = TypeVar("_T")


class TraceError(GovernorError):
    """A trace file cannot be read as request arrivals."""


@dataclass(frozen=True)
class Arrivals:
    """Requests arriving in each second ``[t, t+1)`` of the run, and how they were made."""

    counts: np.ndarray  # int64, one entry per second
    description: str
    requests: Trace | None = None  # the requests behind the counts, when they come from a trace

    @property
    def duration_s(self) -> int:
        return int(self.counts.size)

    @property
    def mean_rate(self) -> float:
        return float(self.counts.mean()) if self.counts.size else 0.0

    def peak_rate(self, window_s: int = 60) -> float:
        """The highest mean rate over any ``window_s`` seconds (a one-minute peak by default)."""
        if self.counts.size < window_s:
            return self.mean_rate
        kernel = np.ones(window_s) / window_s
        return float(np.convolve(self.counts, kernel, mode="valid").max())


def diurnal_rate(duration_s: int, mean_rate: float, peak_to_trough: float, day_s: float) -> np.ndarray:
    """A smooth day: trough at t=0, peak half a (compressed) day later, ``peak/trough`` as given."""
    trough = 2.0 * mean_rate / (1.0 + peak_to_trough)
    peak = trough * peak_to_trough
    t = np.arange(duration_s, dtype=float)
    return trough + (peak - trough) * (1.0 - np.cos(2.0 * np.pi * t / day_s)) / 2.0


def flash_rate(duration_s: int, base_rate: float, factor: float, start_s: int, ramp_s: int, hold_s: int) -> np.ndarray:
    """Base load, then ×``factor`` reached linearly within ``ramp_s``, held, then back down as fast."""
    t = np.arange(duration_s, dtype=float)
    up = np.clip((t - start_s) / ramp_s, 0.0, 1.0)
    down = np.clip((t - (start_s + ramp_s + hold_s)) / ramp_s, 0.0, 1.0)
    return base_rate * (1.0 + (factor - 1.0) * (up - down))


def step_rate(duration_s: int, base_rate: float, factor: float, start_s: int) -> np.ndarray:
    """Base load that jumps to ×``factor`` at ``start_s`` and stays there."""
    rate = np.full(duration_s, base_rate, dtype=float)
    rate[start_s:] *= factor
    return rate


def poisson_counts(rate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson arrivals (CV 1) at a per-second rate."""
    return rng.poisson(rate).astype(np.int64)


def gamma_renewal_counts(rate: np.ndarray, cv: float, rng: np.random.Generator) -> np.ndarray:
    """Gamma renewal arrivals with inter-arrival CV ``cv``, following a time-varying mean rate.

    A unit-rate renewal process (Gamma inter-arrivals with shape 1/cv²) is mapped onto real
    time through the cumulative intensity (time rescaling), so the mean follows ``rate`` while
    bursts keep the chosen coefficient of variation.
    """
    shape = 1.0 / (cv * cv)
    cumulative = np.concatenate(([0.0], np.cumsum(rate)))
    total = cumulative[-1]
    expected = int(total * 1.2) + 1000
    operational = np.cumsum(rng.gamma(shape, 1.0 / shape, size=expected))
    while operational[-1] < total:
        more = np.cumsum(rng.gamma(shape, 1.0 / shape, size=expected)) + operational[-1]
        operational = np.concatenate((operational, more))
    operational = operational[operational < total]
    seconds = np.searchsorted(cumulative, operational, side="right") - 1
    return np.bincount(seconds, minlength=rate.size).astype(np.int64)[: rate.size]


@dataclass(frozen=True, eq=False)
class Trace:
    """The requests of a recorded trace: when each one arrived and, where the trace says, its tokens.

    ``offsets_s`` is sorted, in seconds from the first request, and every offset lies in
    ``[0, span_s)``. Token lengths are per request in the same order, or None when the trace
    does not carry them; arrivals use only the offsets, a token-level model can use the rest.
    ``tick_s`` is the clock of a trace whose timestamps were rounded to a regular tick
    (Mooncake: every 3 s), 0 when they are continuous.
    """

    name: str
    offsets_s: np.ndarray  # float64
    span_s: int
    input_tokens: np.ndarray | None = None  # int64
    output_tokens: np.ndarray | None = None  # int64
    tick_s: float = 0.0
    # Per request, the ids of its 512-token prompt blocks (Mooncake ``hash_ids``): an object array
    # of int64 arrays, None when the trace does not carry them. Equal leading ids are a shared prefix.
    prefix_blocks: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.offsets_s.size)

    @property
    def native_rate(self) -> float:
        return self.size / self.span_s if self.span_s else 0.0

    def take(self, index: np.ndarray, offsets_s: np.ndarray, span_s: int) -> Trace:
        """Requests ``index`` of this trace (repeats allowed) at new offsets, sorted by arrival."""
        order = np.argsort(offsets_s, kind="stable")
        chosen = index[order]
        inputs = None if self.input_tokens is None else self.input_tokens[chosen]
        outputs = None if self.output_tokens is None else self.output_tokens[chosen]
        blocks = None if self.prefix_blocks is None else self.prefix_blocks[chosen]
        return Trace(self.name, offsets_s[order], span_s, inputs, outputs, self.tick_s, blocks)

    def cut(self, duration_s: int) -> Trace:
        """The first ``duration_s`` seconds of the trace (all of it if it is shorter)."""
        span = min(self.span_s, duration_s)
        index = np.flatnonzero(self.offsets_s < span)
        return self.take(index, self.offsets_s[index], span)

    def counts(self) -> np.ndarray:
        """Requests arriving in each second of the span."""
        seconds = np.floor(self.offsets_s).astype(np.int64)
        return np.bincount(seconds, minlength=self.span_s).astype(np.int64)[: self.span_s]


def rescale_trace(trace: Trace, factor: float, rng: np.random.Generator) -> Trace:
    """The trace at ``factor`` times its rate over the same span, keeping its own burstiness.

    Multiplying each second's count by the factor would multiply the variance by factor² but
    the mean only by factor, so a trace played 7× faster would look 7× burstier than it is.
    Instead whole copies of the trace are superposed, each but the first shifted by a random
    offset (circularly within the span) so the copies are independent, and the last copy is
    thinned to the fractional part: keep each of its requests with that probability. Below
    ×1 this is plain thinning of the trace itself. Variance and mean then grow alike above
    ×1; thinning with probability p takes var/mean b to 1 + p(b − 1), as any thinning does.
    A ticked trace is spread over its ticks first (see ``spread_ticks``).
    """
    if factor <= 0:
        raise ValueError(f"rescale factor must be positive, not {factor:g}")
    trace = spread_ticks(trace, rng)
    if trace.size == 0:
        return trace
    indices, offsets = [], []
    for copy in range(math.ceil(factor)):
        keep = np.flatnonzero(rng.random(trace.size) < min(1.0, factor - copy))
        shift = rng.uniform(0.0, trace.span_s) if copy else 0.0
        indices.append(keep)
        offsets.append((trace.offsets_s[keep] + shift) % trace.span_s)
    return trace.take(np.concatenate(indices), np.concatenate(offsets), trace.span_s)


def spread_ticks(trace: Trace, rng: np.random.Generator) -> Trace:
    """Each request of a ticked trace at a uniform moment within its tick (circularly in the span).

    Mooncake's timestamps were rounded to 3 s ticks: per-second counts of the file are a
    burst every third second (var/mean 7.9), yet spread over their ticks they are Poisson
    (var/mean 1.05). The rounding is the release's, not the traffic's; kept, it would also
    make the per-second var/mean grow with the rate (1 + 2·rate for 3 s ticks), because
    superposed copies either pile onto the same seconds or, shifted by part of a tick,
    interleave by an amount that depends on the seed.
    """
    if trace.tick_s <= 0 or trace.size == 0:
        return trace
    offsets = (trace.offsets_s + rng.uniform(0.0, trace.tick_s, trace.size)) % trace.span_s
    spread = trace.take(np.arange(trace.size), offsets, trace.span_s)
    return replace(spread, tick_s=0.0)


def _tick(offsets: np.ndarray) -> float:
    """The regular tick (≥ 1 s) that nine in ten gaps between distinct timestamps follow, else 0."""
    gaps = np.diff(np.unique(np.round(offsets, 3)))
    if gaps.size < 10:
        return 0.0
    median = float(np.median(gaps))
    regular = np.abs(gaps - median) <= 0.01 * median
    return round(median, 3) if median >= 1.0 and regular.mean() >= 0.9 else 0.0


def burstiness(counts: np.ndarray) -> float:
    """Variance over mean of per-second counts: 1 for Poisson arrivals, more for bursty ones."""
    mean = float(counts.mean()) if counts.size else 0.0
    return float(counts.var()) / mean if mean > 0 else 0.0


def read_trace(path: Path) -> Trace:
    """A trace file as requests, by suffix: ``.csv`` (Azure LLM) or ``.jsonl`` (Mooncake).

    The CSV needs a TIMESTAMP column (ContextTokens and GeneratedTokens give token lengths);
    each JSONL line is an object with ``timestamp`` (ms from the start), ``input_length`` and
    ``output_length``, and optionally ``hash_ids`` (prompt block ids, kept when every line has
    them). A malformed file raises TraceError with a one-line reason.
    """
    readers = {".csv": _read_csv, ".jsonl": _read_jsonl}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise TraceError(f"{path}: unknown trace format {path.suffix!r}; use .csv or .jsonl")
    try:
        stamps, inputs, outputs, blocks = reader(path)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise TraceError(f"{path}: {reason}") from error
    if not stamps:
        raise TraceError(f"{path}: no requests")
    return _trace_from(path.stem, stamps, inputs, outputs, blocks)


_Columns = tuple[list[float], list[int] | None, list[int] | None, list[np.ndarray] | None]


def _trace_from(
    name: str,
    stamps: list[float],
    inputs: list[int] | None,
    outputs: list[int] | None,
    blocks: list[np.ndarray] | None = None,
) -> Trace:
    times = np.array(stamps, dtype=float)
    order = np.argsort(times, kind="stable")
    offsets = times[order] - times[order[0]]
    span = int(np.floor(offsets[-1])) + 1
    tokens_in = None if inputs is None else np.array(inputs, dtype=np.int64)[order]
    tokens_out = None if outputs is None else np.array(outputs, dtype=np.int64)[order]
    prefix = None
    if blocks is not None:
        prefix = np.empty(len(blocks), dtype=object)
        prefix[:] = blocks
        prefix = prefix[order]
    return Trace(name, offsets, span, tokens_in, tokens_out, _tick(offsets), prefix)


def _parse_timestamp(text: str) -> float:
    # The Azure trace carries 7 fractional digits; datetime accepts at most 6.
    head, _, frac = text.strip().partition(".")
    base = datetime.fromisoformat(head).timestamp()
    return base + (float("0." + frac) if frac else 0.0)


def _read_csv(path: Path) -> _Columns:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        if "TIMESTAMP" not in columns:
            raise TraceError(f"{path}: no TIMESTAMP column (columns: {', '.join(columns) or 'none'})")
        tokens = "ContextTokens" in columns and "GeneratedTokens" in columns
        stamps: list[float] = []
        inputs: list[int] = []
        outputs: list[int] = []
        for row in reader:
            where = f"{path}: line {reader.line_num}"
            stamps.append(_parsed(where, row.get("TIMESTAMP"), _parse_timestamp))
            if tokens:
                inputs.append(_parsed(where, row.get("ContextTokens"), int))
                outputs.append(_parsed(where, row.get("GeneratedTokens"), int))
    return stamps, inputs if tokens else None, outputs if tokens else None, None


def _parsed(where: str, text: str | None, parse: Callable[[str], _T]) -> _T:
    if text is None or not text.strip():
        raise TraceError(f"{where}: empty field")
    try:
        return parse(text)
    except ValueError as error:
        raise TraceError(f"{where}: {error}") from error


def _read_jsonl(path: Path) -> _Columns:
    stamps: list[float] = []
    inputs: list[int] = []
    outputs: list[int] = []
    blocks: list[np.ndarray] | None = []
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}: line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise TraceError(f"{where}: bad JSON ({error.msg})") from error
            if not isinstance(record, dict):
                raise TraceError(f"{where}: not a JSON object")
            stamps.append(_json_number(where, record, "timestamp") / 1000.0)
            inputs.append(_json_tokens(where, record, "input_length"))
            outputs.append(_json_tokens(where, record, "output_length"))
            blocks = _json_blocks(where, record, blocks)
    return stamps, inputs, outputs, blocks


def _json_blocks(where: str, record: dict[str, object], blocks: list[np.ndarray] | None) -> list[np.ndarray] | None:
    """``blocks`` with this line's ``hash_ids`` appended; None once a line lacks them."""
    ids = record.get("hash_ids")
    if blocks is None or ids is None:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise TraceError(f"{where}: 'hash_ids' is not a list of integers")
    blocks.append(np.array(ids, dtype=np.int64))
    return blocks


def _json_number(where: str, record: dict[str, object], key: str) -> float:
    if key not in record:
        raise TraceError(f"{where}: missing field {key!r}")
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TraceError(f"{where}: {key!r} is not a finite number: {value!r}")
    return float(value)


def _json_tokens(where: str, record: dict[str, object], key: str) -> int:
    value = _json_number(where, record, key)
    if value < 0 or not value.is_integer():
        raise TraceError(f"{where}: {key!r} is not a token count: {record[key]!r}")
    return int(value)


def trace_arrivals(
    path: Path, rng: np.random.Generator, mean_rate: float | None = None, duration_s: int | None = None
) -> Arrivals:
    """A trace file as per-second counts, cut to ``duration_s`` and rescaled to ``mean_rate`` if given."""
    trace = read_trace(path)
    if duration_s is not None:
        trace = trace.cut(duration_s)
    native = trace.native_rate
    description = f"trace {path.name}: {trace.span_s} s, native {native:.2f} req/s"
    if trace.tick_s > 0:
        description += f", {trace.tick_s:g} s ticks spread"
    trace = spread_ticks(trace, rng)
    if mean_rate is not None and native > 0:
        factor = mean_rate / native
        trace = rescale_trace(trace, factor, rng)
        description += f", rescaled ×{factor:.2f} on timestamps (shifted copies, thinning)"
    counts = trace.counts()
    description += f", {counts.mean():.1f} req/s, var/mean {burstiness(counts):.1f}"
    return Arrivals(counts, description, trace)
