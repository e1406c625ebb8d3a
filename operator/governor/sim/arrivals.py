"""Request arrivals for the simulator, as integer counts per one-second step.

The simulator works on per-second cohorts rather than request objects, so every source of
load (a real trace or a generator) reduces to one ``numpy`` array of counts. Generators are
seeded from one ``numpy.random.Generator`` so a run is reproducible with ``--seed``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from governor.model.errors import GovernorError

DAY_S = 86_400.0


class TraceError(GovernorError):
    """A trace file cannot be read as request arrivals."""


@dataclass(frozen=True)
class Arrivals:
    """Requests arriving in each second ``[t, t+1)`` of the run, and how they were made."""

    counts: np.ndarray  # int64, one entry per second
    description: str

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


def _parse_timestamp(text: str) -> float:
    # The Azure trace carries 7 fractional digits; datetime accepts at most 6.
    head, _, frac = text.strip().partition(".")
    base = datetime.fromisoformat(head).timestamp()
    return base + (float("0." + frac) if frac else 0.0)


def read_trace_seconds(path: Path) -> np.ndarray:
    """Arrival offsets in seconds from the first request, from a CSV with a TIMESTAMP column."""
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "TIMESTAMP" not in reader.fieldnames:
                raise TraceError(f"{path}: no TIMESTAMP column (columns: {reader.fieldnames})")
            stamps = np.array([_parse_timestamp(row["TIMESTAMP"]) for row in reader], dtype=float)
    except (OSError, ValueError) as error:
        raise TraceError(f"{path}: {error}") from error
    if stamps.size == 0:
        raise TraceError(f"{path}: no requests")
    stamps.sort()
    offsets: np.ndarray = stamps - stamps[0]
    return offsets


def rescale_counts(counts: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Multiply per-second counts by ``factor`` with stochastic rounding, keeping the burst shape."""
    whole = np.floor(factor)
    extra = rng.binomial(counts, factor - whole)
    return (counts * int(whole) + extra).astype(np.int64)


def trace_arrivals(
    path: Path, rng: np.random.Generator, mean_rate: float | None = None, duration_s: int | None = None
) -> Arrivals:
    """A real trace as per-second counts, optionally cut to ``duration_s`` and rescaled to ``mean_rate``."""
    offsets = read_trace_seconds(path)
    length = int(np.floor(offsets[-1])) + 1
    counts = np.bincount(np.floor(offsets).astype(np.int64), minlength=length).astype(np.int64)
    if duration_s is not None:
        counts = counts[:duration_s]
    native = float(counts.mean())
    description = f"trace {path.name}: {counts.size} s, native mean {native:.2f} req/s"
    if mean_rate is not None and native > 0:
        counts = rescale_counts(counts, mean_rate / native, rng)
        description += f", rescaled ×{mean_rate / native:.2f} to {counts.mean():.1f} req/s"
    return Arrivals(counts, description)
