"""The NVML agent: a small per-node server that reads GPU utilisation and memory through ``pynvml``.

Why it exists: a cluster without DCGM still needs per-pod GPU figures, and only a process on the
node can ask the driver. The agent maps each GPU process to its pod (``pods``), serves the
figures on ``/metrics`` and a JSON endpoint (``server``), and never lets one pod's numbers speak
for another's. ``governor agent`` runs it (``entry``); the operator reads it through
``governor.metrics``.
"""
