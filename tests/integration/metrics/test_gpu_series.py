"""GPU signals from DCGM and agent series written into the session Prometheus by remote write.

Remote write gives exact values at once; three samples 5 s apart keep them inside the
lookback window. DCGM series reach services through kube-state-metrics' ``kube_pod_labels``.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from governor.metrics.client import HttpQueryClient
from governor.metrics.prometheus import PrometheusSource
from governor.model import MetricsPreset, MetricsSpec, ServiceSpec
from governor.settings import PrometheusSettings
from tests.support.prometheus import remote_write


def _points(value: float) -> list[tuple[int, float]]:
    now_ms = int(time.time() * 1000)
    return [(now_ms - 10_000, value), (now_ms - 5_000, value), (now_ms, value)]


def _spec(name: str, gpu_source: str, namespace: str) -> ServiceSpec:
    return ServiceSpec(
        namespace=namespace, name=name, metrics=MetricsSpec(preset=MetricsPreset.VLLM, gpu_source=gpu_source)
    )


async def test_dcgm_and_agent_gpu_signals(prometheus_url: str) -> None:
    dcgm_ns, agent_ns = "gpu-dcgm", "gpu-agent"
    series = []
    # DCGM exporter scraped without honor_labels: the workload pod is in exported_namespace/exported_pod.
    for gpu, (pod, util, used, free) in enumerate([("llm-0", 40.0, 30.0, 70.0), ("llm-1", 80.0, 60.0, 40.0)]):
        base = {"gpu": str(gpu), "Hostname": "node-a", "namespace": "gpu-operator", "pod": "dcgm-exporter-x"}
        base |= {"job": "nvidia-dcgm-exporter"}  # the GPU Operator's exporter (GOVERNOR_PROMETHEUS_DCGM_SELECTOR)
        base |= {"exported_namespace": dcgm_ns, "exported_pod": pod}
        series += [({"__name__": "DCGM_FI_DEV_GPU_UTIL", **base}, _points(util))]
        series += [({"__name__": "DCGM_FI_DEV_FB_USED", **base}, _points(used))]
        series += [({"__name__": "DCGM_FI_DEV_FB_FREE", **base}, _points(free))]
        pod_labels = {
            "namespace": dcgm_ns,
            "pod": pod,
            "label_governor_dev_service": "llm",
            "job": "kube-state-metrics",
        }
        series += [({"__name__": "kube_pod_labels", **pod_labels}, _points(1.0))]
    for gpu, (util, used) in enumerate([(0.5, 20.0), (0.9, 60.0)]):
        labels = {"gpu": str(gpu), "node": "node-b", "namespace": agent_ns, "pod": f"chat-{gpu}", "service": "chat"}
        series += [({"__name__": "governor_gpu_utilization_ratio", **labels}, _points(util))]
        series += [({"__name__": "governor_gpu_memory_used_bytes", **labels}, _points(used))]
        series += [({"__name__": "governor_gpu_memory_total_bytes", **labels}, _points(80.0))]
    remote_write(prometheus_url, series)

    specs = [_spec("llm", "dcgm", dcgm_ns), _spec("chat", "agent", agent_ns), _spec("idle", "agent", agent_ns)]
    src = PrometheusSource(HttpQueryClient(PrometheusSettings(url=prometheus_url)))
    try:
        deadline = time.monotonic() + 15
        while True:  # written samples are queryable at once; allow a busy Prometheus a moment
            obs = await src.observe(specs, time.time())
            if obs[specs[0].key].gpu_utilization_mean is not None or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await src.aclose()
    dcgm, agent, idle = (obs[s.key] for s in specs)
    assert dcgm.gpu_utilization_mean is not None and dcgm.gpu_utilization_mean.value == pytest.approx(0.6)
    assert dcgm.gpu_utilization_max is not None and dcgm.gpu_utilization_max.value == pytest.approx(0.8)
    assert dcgm.gpu_memory_used_mean is not None and dcgm.gpu_memory_used_mean.value == pytest.approx(0.45)
    assert dcgm.gpu_memory_used_max is not None and dcgm.gpu_memory_used_max.value == pytest.approx(0.6)
    assert agent.gpu_utilization_mean is not None and agent.gpu_utilization_mean.value == pytest.approx(0.7)
    assert agent.gpu_memory_used_max is not None and agent.gpu_memory_used_max.value == pytest.approx(0.75)
    assert idle.gpu_utilization_mean is None and idle.gpu_memory_used_mean is None  # no GPU series: missing
