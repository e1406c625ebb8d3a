"""A tenant's pod cannot move another service's GPU signal by exporting DCGM-shaped series.

A pod Prometheus scrapes without ``honor_labels`` gets its labels that clash with target labels
renamed, so a page that says ``DCGM_FI_DEV_GPU_UTIL{namespace="victim", pod="victim-0"}`` is
stored as ``{exported_namespace="victim", exported_pod="victim-0", namespace=<its own>, job=<the
pods' job>}``: exactly what the DCGM exporter's own series look like, apart from the job. So only
series of the exporter's job count (``GOVERNOR_PROMETHEUS_DCGM_SELECTOR``), and pods map to
services only through kube-state-metrics' own ``kube_pod_labels``
(``GOVERNOR_PROMETHEUS_POD_LABELS_SELECTOR``).

Its own Prometheus (remote write, Governor's rules evaluated every second) so forged series never
reach the session one; the raw and the recorded path are both checked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import yaml

from governor.metrics.client import HttpQueryClient
from governor.metrics.prometheus import PrometheusSource
from governor.metrics.queries import QueryBuilder
from governor.metrics.rules import RecordedQueries, rules_file
from governor.model import MetricsPreset, MetricsSpec, Observation, ServiceKey, ServiceSpec
from governor.settings import PrometheusSettings
from tests.support.prometheus import Labels, Points, prometheus, query, remote_write

VICTIM = ServiceSpec(namespace="gpu-victim", name="llm", metrics=MetricsSpec(MetricsPreset.VLLM, "dcgm"))
TENANT = ServiceSpec(namespace="gpu-tenant", name="chat", metrics=MetricsSpec(MetricsPreset.VLLM, "dcgm"))
EXPORTER = {"job": "dcgm-exporter", "namespace": "gpu-operator", "pod": "dcgm-exporter-abcde", "Hostname": "node-a"}
KSM = {"job": "kube-state-metrics", "instance": "10.0.0.2:8080"}
TENANT_POD = {"job": "models", "namespace": "gpu-tenant", "pod": "chat-0", "instance": "10.0.0.9:8000"}


def _points(value: float) -> Points:
    now_ms = int(time.time() * 1000)
    return [(now_ms + step, value) for step in range(-60_000, 60_001, 5_000)]


def _gpu(gpu: int, namespace: str, pod: str, util: float, used: float, total: float = 100.0) -> list[Labels]:
    """The three DCGM series of one GPU as the exporter's own job stores them (workload in exported_*)."""
    labels = {**EXPORTER, "gpu": str(gpu), "exported_namespace": namespace, "exported_pod": pod}
    return [
        {"__name__": "DCGM_FI_DEV_GPU_UTIL", "value": str(util), **labels},
        {"__name__": "DCGM_FI_DEV_FB_USED", "value": str(used), **labels},
        {"__name__": "DCGM_FI_DEV_FB_FREE", "value": str(total - used), **labels},
    ]


def _forged(kind: str) -> list[Labels]:
    if kind == "exported_labels":
        # What the tenant's pod chat-0 exports on its own /metrics page, as Prometheus stores it:
        # its own namespace and pod are target labels, the ones it wrote became exported_*.
        forged = {**TENANT_POD, "gpu": "0", "exported_namespace": VICTIM.namespace, "exported_pod": "llm-0"}
        pairs = (("DCGM_FI_DEV_GPU_UTIL", "100"), ("DCGM_FI_DEV_FB_USED", "80"), ("DCGM_FI_DEV_FB_FREE", "0"))
        return [{**forged, "__name__": name, "value": value} for name, value in pairs]
    # A kube_pod_labels of its own that maps its pod to a second service: with two rows for one pod,
    # the pod→service join is many-to-many and Prometheus refuses the whole GPU query, for everyone.
    return [{**TENANT_POD, "__name__": "kube_pod_labels", "value": "1", "label_governor_dev_service": "other"}]


def _series(kind: str) -> list[tuple[Labels, Points]]:
    real = _gpu(0, VICTIM.namespace, "llm-0", util=10.0, used=10.0) + _gpu(1, TENANT.namespace, "chat-0", 50, 50)
    pod_labels = [
        {**KSM, "__name__": "kube_pod_labels", "value": "1", "namespace": s.namespace, "pod": pod}
        | {"label_governor_dev_service": s.name}
        for s, pod in ((VICTIM, "llm-0"), (TENANT, "chat-0"))
    ]
    out = []
    for labels in real + _forged(kind) + pod_labels:
        value = float(labels["value"])
        out.append(({k: v for k, v in labels.items() if k != "value"}, _points(value)))
    return out


@pytest.fixture(scope="module", params=["exported_labels", "pod_labels"])
def forged_prometheus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    rules = tmp_path_factory.mktemp("rules") / "governor.yml"
    rules.write_text(yaml.safe_dump(rules_file(QueryBuilder(), interval="1s")))
    with prometheus(tmp_path_factory.mktemp("prom-gpu"), rule_files=[rules]) as url:
        remote_write(url, _series(request.param))
        marker = RecordedQueries(QueryBuilder()).name("dcgm", "gpu_utilization_mean")
        deadline = time.monotonic() + 15
        while not query(url, marker) and time.monotonic() < deadline:  # (never, where the join fails)
            time.sleep(0.3)
        time.sleep(1.5)  # one more evaluation of every rule since the write
        yield url


async def _observe(url: str, recording_rules: str) -> dict[ServiceKey, Observation]:
    source = PrometheusSource(HttpQueryClient(PrometheusSettings(url=url)), recording_rules=recording_rules)
    try:
        deadline = time.monotonic() + 15
        while True:  # written samples are queryable at once; allow a busy Prometheus a moment
            obs = dict(await source.observe([VICTIM, TENANT], time.time()))
            if obs[VICTIM.key].gpu_utilization_mean is not None or time.monotonic() > deadline:
                return obs
            await asyncio.sleep(0.2)
    finally:
        await source.aclose()


@pytest.mark.parametrize("recording_rules", ["off", "on"])
async def test_forged_dcgm_series_do_not_reach_another_namespace(forged_prometheus: str, recording_rules: str) -> None:
    obs = await _observe(forged_prometheus, recording_rules)
    victim, tenant = obs[VICTIM.key], obs[TENANT.key]
    # Trusting exported_* made the victim's GPU 0.55 mean / 1.0 max (its own 0.10 and the forged 1.0);
    # trusting any kube_pod_labels left every service's GPU signal missing (the join failed).
    assert victim.gpu_utilization_mean is not None and victim.gpu_utilization_mean.value == pytest.approx(0.10)
    assert victim.gpu_utilization_max is not None and victim.gpu_utilization_max.value == pytest.approx(0.10)
    assert victim.gpu_memory_used_max is not None and victim.gpu_memory_used_max.value == pytest.approx(0.10)
    # The tenant's own GPU, as the exporter saw it: its forged series count for nobody.
    assert tenant.gpu_utilization_mean is not None and tenant.gpu_utilization_mean.value == pytest.approx(0.50)
    assert tenant.gpu_utilization_max is not None and tenant.gpu_utilization_max.value == pytest.approx(0.50)
