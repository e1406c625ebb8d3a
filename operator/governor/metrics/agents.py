"""GPU signals per service from the NVML node agents' ``/v1/gpus`` JSON (used while Prometheus is down).

The agent reports every GPU with its utilisation, memory and the pods running on it
(``namespace``/``pod``/``service``); a GPU serves a service when one of its pods runs on it.
A GPU the agent marks unavailable contributes nothing, so its service's signal stays missing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from governor.model import Sample, ServiceKey


def by_service(reports: Iterable[Any], now: float) -> dict[ServiceKey, dict[str, Sample]]:
    util: dict[ServiceKey, list[float]] = defaultdict(list)
    memory: dict[ServiceKey, list[float]] = defaultdict(list)
    for report in reports:
        if not isinstance(report, dict) or not report.get("available"):
            continue
        for gpu in report.get("gpus", []):
            if not gpu.get("available"):
                continue
            keys = {
                ServiceKey(pod.get("namespace", ""), pod.get("service", ""))
                for pod in gpu.get("pods", [])
                if pod.get("service")
            }
            total = float(gpu.get("memory_total_bytes") or 0)
            for key in keys:
                util[key].append(float(gpu["utilization"]))
                if total > 0:
                    memory[key].append(float(gpu["memory_used_bytes"]) / total)
    out: dict[ServiceKey, dict[str, Sample]] = defaultdict(dict)
    for key, values in util.items():
        out[key]["gpu_utilization_mean"] = Sample(sum(values) / len(values), now)
        out[key]["gpu_utilization_max"] = Sample(max(values), now)
    for key, values in memory.items():
        out[key]["gpu_memory_used_mean"] = Sample(sum(values) / len(values), now)
        out[key]["gpu_memory_used_max"] = Sample(max(values), now)
    return dict(out)
