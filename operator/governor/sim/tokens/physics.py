"""Token-level physics of one model-server replica: continuous batching, prefill and decode.

A replica runs *steps*. Each step decodes one token for every sequence in the batch and,
with chunked prefill, spends the rest of its token budget (``chunk_tokens``) on prompts.
A step costs a fixed part (reading the weights), a part per sequence and a part per token
of KV cache read (attention), plus the prompt tokens it prefills::

    step = (base + per_seq * batch + per_kv_token * kv_tokens + prefill_token * chunk) / speed

``speed`` is the variant's ``relative_throughput``: a faster precision makes every part
cheaper. The KV cache holds ``kv_tokens`` tokens at the preferred precision; lower
precisions hold more (``KV_SCALE``: fp8 stores the cache itself at 8 bits, weight-only
int8/int4 free the memory their smaller weights leave).

The same constants give a closed-form capacity (``work_s`` and ``replica_capacity``): at a
steady rate λ a replica decodes with ``ITL = base / (1 − λ·w)`` where ``w`` is a request's
GPU work (prefill plus its share of every decode step it sits in), so the rate that keeps
ITL within ``S`` is ``(1 − base/S) / w``. Static sizing and the clairvoyant bound plan with
it; the simulation itself steps the batches.

The defaults are calibrated against llm-d's published operating point (see
docs/simulation.md, *Token mode*): about 1.45 req/s per replica at ISL 4000 / OSL 1000 with
P90 TTFT ≤ 3 s and P90 TPOT ≤ 100 ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from governor.model.spec import Precision

# KV-cache capacity of a variant relative to the preferred (16-bit) one.
KV_SCALE = {Precision.BF16: 1.0, Precision.FP16: 1.0, Precision.FP8: 2.0, Precision.INT8: 1.3, Precision.INT4: 1.4}
BLOCK_TOKENS = 512  # prefix-cache block (the Mooncake trace's hash_ids granularity)


@dataclass(frozen=True)
class TokenPhysics:
    """One replica at the preferred precision (relative throughput 1.0)."""

    step_base_s: float = 0.020  # weights read once per step
    step_per_seq_s: float = 0.000_1  # per sequence in the batch (sampling, activations)
    step_per_kv_token_s: float = 0.000_000_05  # per token of KV cache read by attention
    prefill_token_s: float = 0.000_05  # per prompt token computed (20k tokens/s alone)
    chunk_tokens: int = 2048  # token budget of one step (max_num_batched_tokens)
    max_seqs: int = 256  # sequences in the batch at most (max_num_seqs)
    kv_tokens: int = 900_000  # KV-cache capacity in tokens
    block_tokens: int = BLOCK_TOKENS

    def kv_capacity(self, precision: Precision) -> int:
        return int(self.kv_tokens * KV_SCALE.get(precision, 1.0))

    def decode_step_s(self, speed: float | np.ndarray, batch: np.ndarray, kv_tokens: np.ndarray) -> np.ndarray:
        """Seconds of one step that decodes ``batch`` sequences holding ``kv_tokens``, no prompt work."""
        return (self.step_base_s + self.step_per_seq_s * batch + self.step_per_kv_token_s * kv_tokens) / speed

    def work_s(self, isl: np.ndarray, osl: np.ndarray, cached: np.ndarray | float = 0.0) -> np.ndarray:
        """GPU seconds (at speed 1, base excluded) each request adds: its prefill and its decode share.

        While it decodes ``osl`` tokens a request adds its per-sequence cost and the KV it holds
        (the prompt and, on average, half its output) to every step it sits in.
        """
        isl = np.asarray(isl, dtype=float)
        osl = np.asarray(osl, dtype=float)
        per_step = self.step_per_seq_s + self.step_per_kv_token_s * (isl + osl / 2.0)
        return np.asarray((isl - cached) * self.prefill_token_s + osl * per_step, dtype=float)

    def replica_capacity(self, speed: float, itl_s: float) -> float:
        """Work (in ``work_s`` seconds) one replica at ``speed`` absorbs per second with ITL ≤ ``itl_s``."""
        return max(0.0, speed - self.step_base_s / itl_s)

    def sustainable_rate(
        self, isl: float, osl: float, itl_s: float, speed: float = 1.0, kv_scale: float = 1.0
    ) -> float:
        """Requests/s one replica carries with mean ITL ≤ ``itl_s`` and every sequence's KV reserved."""
        work = float(self.work_s(np.array([isl]), np.array([osl]))[0])
        by_itl = self.replica_capacity(speed, itl_s) / work if work > 0 else float("inf")
        seqs = min(self.max_seqs, self.kv_tokens * kv_scale / max(1.0, isl + osl))
        by_kv = seqs / max(1e-9, osl * itl_s)
        return min(by_itl, by_kv)
