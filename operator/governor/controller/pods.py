"""The ready pods of a service, for the metrics layer's direct scrape (``PodLister``).

Pods are found by the ``governor.dev/service`` label every Governor-managed pod carries; a pod
counts when its ``Ready`` condition is True and it has an IP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from governor.actuate.kube import KubeApi, api_path
from governor.actuate.render import SERVICE_LABEL
from governor.model import ServiceKey


def ready_ip(pod: Mapping[str, Any]) -> str | None:
    status = pod.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ())
    ip = status.get("podIP")
    return str(ip) if ready and ip else None


@dataclass(frozen=True)
class KubePodLister:
    api: KubeApi

    async def ready_pod_ips(self, key: ServiceKey) -> Sequence[str]:
        pods = await self.api.list(api_path("v1", "pods", key.namespace), label_selector=f"{SERVICE_LABEL}={key.name}")
        # The label selector is applied again here: the embedded emulator ignores selectors.
        mine = [p for p in pods if ((p.get("metadata") or {}).get("labels") or {}).get(SERVICE_LABEL) == key.name]
        return [ip for ip in map(ready_ip, mine) if ip]
