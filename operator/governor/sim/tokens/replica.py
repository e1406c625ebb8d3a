"""One serving replica in token mode: its prompt FIFO, its KV budget and its prefix cache.

Decoding sequences live in the engine's shared arrays (so a tick advances every replica's
batch in a few vectorised operations); a ``Replica`` keeps what is per replica and small:
the prompts being prefilled, in order, and the prefix cache.

The prefix cache is an LRU of 512-token prompt blocks bounded by the replica's KV capacity
(a block stays cached while nothing needs its memory): a request reuses the leading run of
its blocks that the replica holds, and only the rest of its prompt is computed.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np

from governor.model.spec import Precision
from governor.sim.fleet import Pod


class PrefixCache:
    """LRU of prompt-block ids, at most ``capacity`` blocks."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._blocks: OrderedDict[int, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._blocks)

    def leading_hits(self, blocks: np.ndarray) -> int:
        """How many of ``blocks``, from the first, are cached."""
        held = self._blocks
        hits = 0
        for block in blocks.tolist():
            if block not in held:
                break
            hits += 1
        return hits

    def touch(self, blocks: np.ndarray) -> None:
        """Make ``blocks`` the most recently used (caching the new ones), evicting the oldest."""
        held = self._blocks
        for block in blocks.tolist():
            if block in held:
                held.move_to_end(block)
            else:
                held[block] = None
        while len(held) > self.capacity:
            held.popitem(last=False)


@dataclass(eq=False)
class Replica:
    """A serving (or draining) pod: its slot in the engine's arrays, speed, KV budget and prompt FIFO."""

    slot: int
    pod: Pod
    precision: Precision
    speed: float
    kv_capacity: int
    quality: float
    cache: PrefixCache
    draining: bool = False  # removed by a scale-down: finishes what it holds, takes nothing new
    prefill: deque[list[float]] = field(default_factory=deque)  # [request, prompt tokens still to compute]
