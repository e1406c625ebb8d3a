"""Token mode: the simulator at the level of prompt and output tokens (TTFT, ITL, KV cache, prefix cache)."""
