"""Requests with their token lengths: what token mode replays instead of per-second counts.

Every request has an arrival time, a prompt length (ISL), an output length (OSL) and, when
its source says, the ids of its 512-token prompt blocks (a shared leading run of ids is a
prefix a replica's cache can reuse). Synthetic loads draw lengths from a normal distribution;
traces keep each request's own lengths and blocks (``governor.sim.arrivals`` reads and
rescales them on their timestamps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from governor.sim.arrivals import Trace


@dataclass(frozen=True, eq=False)
class TokenRequests:
    """Requests sorted by arrival (seconds); ``blocks`` is an object array of int64 id arrays or None."""

    arrival_s: np.ndarray  # float64, sorted
    isl: np.ndarray  # int64, prompt tokens
    osl: np.ndarray  # int64 ≥ 1, output tokens
    blocks: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.arrival_s.size)

    def counts(self, start_s: float, duration_s: int) -> np.ndarray:
        """Arrivals in each second ``[start + k, start + k + 1)`` for ``k < duration_s``."""
        seconds = np.floor(self.arrival_s - start_s).astype(np.int64)
        seconds = seconds[(seconds >= 0) & (seconds < duration_s)]
        return np.bincount(seconds, minlength=duration_s).astype(np.int64)

    def then(self, later: TokenRequests) -> TokenRequests:
        """These requests followed by ``later`` (both sorted, ``later`` arriving after these)."""
        blocks = None
        if self.blocks is not None and later.blocks is not None:
            blocks = np.concatenate([self.blocks, later.blocks])
        return TokenRequests(
            np.concatenate([self.arrival_s, later.arrival_s]),
            np.concatenate([self.isl, later.isl]),
            np.concatenate([self.osl, later.osl]),
            blocks,
        )


def staged_rate(rates: Sequence[float], durations_s: Sequence[int]) -> np.ndarray:
    """A per-second rate that holds ``rates[k]`` for ``durations_s[k]`` seconds, stage after stage."""
    return np.concatenate([np.full(int(d), float(r)) for r, d in zip(rates, durations_s, strict=True)])


def poisson_times(rate: np.ndarray, rng: np.random.Generator, start_s: float = 0.0) -> np.ndarray:
    """Poisson arrival times on a per-second rate curve, uniform inside each second, sorted."""
    counts = rng.poisson(rate)
    seconds = np.repeat(np.arange(rate.size, dtype=float), counts)
    return np.sort(seconds + rng.random(seconds.size)) + start_s


def normal_lengths(rng: np.random.Generator, n: int, mean: float, sd: float) -> np.ndarray:
    """Token lengths ~ N(mean, sd), rounded, at least one token."""
    return np.maximum(1, np.rint(rng.normal(mean, sd, n))).astype(np.int64)


def synthetic(
    rate: np.ndarray,
    rng: np.random.Generator,
    isl: tuple[float, float],
    osl: tuple[float, float],
    start_s: float = 0.0,
) -> TokenRequests:
    """Poisson requests on ``rate`` with normal (mean, sd) prompt and output lengths, no shared prefixes."""
    times = poisson_times(rate, rng, start_s)
    return TokenRequests(times, normal_lengths(rng, times.size, *isl), normal_lengths(rng, times.size, *osl))


def from_trace(trace: Trace, start_s: float = 0.0) -> TokenRequests:
    """A trace's requests with their own lengths and prompt blocks (a trace without lengths is refused)."""
    if trace.input_tokens is None or trace.output_tokens is None:
        raise ValueError(f"trace {trace.name} carries no token lengths; token mode needs them")
    return TokenRequests(
        trace.offsets_s + start_s,
        trace.input_tokens.astype(np.int64),
        np.maximum(1, trace.output_tokens).astype(np.int64),
        trace.prefix_blocks,
    )


def resampled(source: TokenRequests, times: np.ndarray, rng: np.random.Generator) -> TokenRequests:
    """Requests at ``times`` whose lengths and blocks are drawn from ``source`` (a warm-up like the run)."""
    if source.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return TokenRequests(times, empty[: times.size], empty[: times.size])
    pick = rng.integers(0, source.size, times.size)
    blocks = None if source.blocks is None else source.blocks[pick]
    return TokenRequests(times, source.isl[pick], source.osl[pick], blocks)
