"""What the benchmark matrices share: a seed list from the command line, and running cells on processes.

``bench_matrix.py`` (request mode) and ``bench_tokens.py`` (token mode) import it from beside them.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Key = TypeVar("Key")
Cell = TypeVar("Cell")


def seed_list(text: str) -> list[int]:
    """``0-9`` or ``0,3,5`` (or both: ``0-2,7``)."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return seeds


def run_cells(
    run: Callable[[Key], Cell],
    keys: Sequence[Key],
    jobs: int,
    sort_key: Callable[[Cell], Any],
    label: Callable[[Cell], str] | None = None,
) -> list[Cell]:
    """``run`` on every key, on ``jobs`` processes (in this one when ``jobs`` ≤ 1), progress on stderr;
    the cells sorted by ``sort_key``. On a terminal the progress line is rewritten in place."""
    started = time.monotonic()
    live = sys.stderr.isatty()
    cells: list[Cell] = []

    def progress(cell: Cell) -> None:
        named = f" ({label(cell)})" if label is not None else ""
        text = f"cells {len(cells)}/{len(keys)} done{named}, {time.monotonic() - started:.0f} s elapsed"
        print(f"\r{text}" if live else text, end="" if live else "\n", file=sys.stderr, flush=True)

    if jobs <= 1:
        for key in keys:
            cells.append(run(key))
            progress(cells[-1])
    else:
        with multiprocessing.Pool(jobs) as pool:
            for cell in pool.imap_unordered(run, keys):
                cells.append(cell)
                progress(cell)
    if live:
        print(file=sys.stderr)
    return sorted(cells, key=sort_key)
