"""The simulator: Governor's decision engine against HPA, KPA, static and bound policies on the same load.

Why it exists: autoscaling claims are made on seeds and traces, in ratios against fair baselines
run on the same physics, never on one lucky run. Request mode (``engine``, ``fleet``,
``queueing``) serves requests from a pooled queue; token mode (``tokens/``) serves LLM requests
with continuous batching, a KV cache and a prefix cache. ``policies`` names every row,
``matrix`` and ``tokens.matrix`` hold the benchmark cells and targets, ``governor simulate``
(``entry``) prints one comparison. The policy under test is the real ``governor.policy``.
"""
