"""``governor run`` reads the NVML node agents while it scrapes pods directly, and closes its source on stopping.

A real agent server (the one ``governor agent`` serves, fed a sample instead of NVML) runs on
loopback; its pod is in the emulator, in Governor's namespace, with the DaemonSet's labels. The
metrics source ``governor run`` builds must give the service the GPU utilisation that agent
reports for its pod, and must not ask a pod that only wears the agent's labels in a tenant's
namespace.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from governor.agent.nvml import GpuSample, NodeSample, ProcessSample
from governor.agent.pods import PodRef
from governor.agent.server import AgentState, serving
from governor.controller.build import build_controller
from governor.controller.pods import AGENT_LABELS
from governor.kube.client import KubernetesApi
from governor.model import MetricsSpec, ServiceSpec
from governor.settings import AgentSettings, OperatorSettings, Settings
from tests.support.kube import KubeHarness

NS, AGENTS_NS = "ml", "gov-system"


def _sample(utilization: float, service: str) -> NodeSample:
    pod = PodRef(uid="u-1", namespace=NS, name=f"{service}-0", service=service)
    gpu = GpuSample(
        index=0,
        available=True,
        uuid="GPU-1",
        utilization=utilization,
        memory_used_bytes=20,
        memory_total_bytes=80,
        processes=(ProcessSample(pid=7, used_memory_bytes=20, pod=pod),),
    )
    return NodeSample(at=time.time(), available=True, driver_version="550", gpus=(gpu,))


def _agent_pod(name: str, namespace: str, ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(AGENT_LABELS)},
        "spec": {"containers": [{"name": "agent", "image": "governor"}]},
        "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]},
    }


async def test_governor_run_reads_the_agents_of_its_namespace(kube: KubeHarness) -> None:
    state, impostor = AgentState("node-a"), AgentState("node-b")
    state.latest, impostor.latest = _sample(0.42, "chat"), _sample(0.99, "chat")
    async with contextlib.AsyncExitStack() as stack:
        port = await stack.enter_async_context(serving(state, lambda: state.latest, 60.0, "127.0.0.1", 0))
        await stack.enter_async_context(serving(impostor, lambda: impostor.latest, 60.0, "127.0.0.2", port))
        kube.client.create("pods", _agent_pod("agent-a", AGENTS_NS, "127.0.0.1"), AGENTS_NS)
        kube.client.create("pods", _agent_pod("agent-b", NS, "127.0.0.2"), NS)  # a tenant's pod
        settings = Settings(
            operator=OperatorSettings(metrics_port=0), agent=AgentSettings(port=port, namespace=AGENTS_NS)
        )
        api = KubernetesApi.for_url(kube.url)
        controller = build_controller(settings, api)
        source: Any = controller.metrics_source
        try:
            spec = ServiceSpec(namespace=NS, name="chat", metrics=MetricsSpec(gpu_source="agent"))
            observed = (await source.observe([spec], time.time()))[spec.key]
        finally:
            await source.aclose()
            api.close()
    assert observed.gpu_utilization_mean is not None, "the agent's reading never reached the service"
    assert observed.gpu_utilization_mean.value == 0.42


async def test_governor_run_closes_its_metrics_source_when_it_stops(kube: KubeHarness) -> None:
    """The operator's start and stop (Kopf's startup and cleanup handlers) release the source's connections."""
    state = AgentState("node-a")
    state.latest = _sample(0.42, "chat")
    async with serving(state, lambda: state.latest, 60.0, "127.0.0.1", 0) as port:
        kube.client.create("pods", _agent_pod("agent-a", AGENTS_NS, "127.0.0.1"), AGENTS_NS)
        settings = Settings(
            operator=OperatorSettings(metrics_port=0), agent=AgentSettings(port=port, namespace=AGENTS_NS)
        )
        api = KubernetesApi.for_url(kube.url)
        controller = build_controller(settings, api)
        source: Any = controller.metrics_source
        closed = False
        try:
            await controller.start()
            try:
                spec = ServiceSpec(namespace=NS, name="chat", metrics=MetricsSpec(gpu_source="agent"))
                await source.observe([spec], time.time())  # a request: the source holds an open session now
                session = source._session
                assert session is not None and not session.closed
            finally:
                await controller.stop()
            closed = session.closed
        finally:
            if not closed:
                await source.aclose()  # leave nothing open for the next test, whatever happened
            api.close()
    assert closed, "the operator stopped but its metrics source kept its HTTP session open"
