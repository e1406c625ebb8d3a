"""The ready pods of a service (``PodLister``) and the NVML node agents (``AgentLister``), for the direct scrape.

Pods are found by the ``governor.dev/service`` label every Governor-managed pod carries; a pod
counts when its ``Ready`` condition is True and it has an IP. Agents are the ready pods of the
agent DaemonSet (``manifests/agent.yaml``), looked for only in Governor's own namespace: a tenant's
pod wearing the agent's labels elsewhere must not speak for other services' GPUs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from governor.kube.client import ApiError, KubeApi, api_path
from governor.model import ServiceKey
from governor.model.resource import SERVICE_LABEL, service_selector

logger = logging.getLogger(__name__)
AGENT_LABELS = {"app.kubernetes.io/name": "governor", "app.kubernetes.io/component": "agent"}


def ready_ip(pod: Mapping[str, Any]) -> str | None:
    status = pod.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ())
    ip = status.get("podIP")
    return str(ip) if ready and ip else None


@dataclass(frozen=True)
class KubePodLister:
    api: KubeApi

    async def ready_pod_ips(self, key: ServiceKey) -> Sequence[str]:
        pods = await self.api.list(api_path("v1", "pods", key.namespace), label_selector=service_selector(key.name))
        # The label selector is applied again here: the embedded emulator ignores selectors.
        mine = [p for p in pods if ((p.get("metadata") or {}).get("labels") or {}).get(SERVICE_LABEL) == key.name]
        return [ip for ip in map(ready_ip, mine) if ip]


def _labelled(pod: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    have = (pod.get("metadata") or {}).get("labels") or {}
    return all(have.get(k) == v for k, v in labels.items())


@dataclass(frozen=True)
class KubeAgentLister:
    """``AgentLister``: ``http://ip:port`` of every ready NVML agent pod in ``namespace``."""

    api: KubeApi
    namespace: str
    port: int

    async def agent_urls(self) -> Sequence[str]:
        selector = ",".join(f"{k}={v}" for k, v in AGENT_LABELS.items())
        try:
            pods = await self.api.list(api_path("v1", "pods", self.namespace), label_selector=selector)
        except ApiError as exc:  # GPU readings are missing this tick; the pods' own signals still count
            logger.warning("cannot list the NVML agents in %s: %s", self.namespace, exc)
            return []
        ips = [ip for ip in (ready_ip(p) for p in pods if _labelled(p, AGENT_LABELS)) if ip]
        return [f"http://{f'[{ip}]' if ':' in ip else ip}:{self.port}" for ip in ips]
