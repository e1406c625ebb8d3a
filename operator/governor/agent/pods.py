"""Which pod a GPU process belongs to: the PID's cgroup names the pod UID, a resolver names the pod.

NVML reports host PIDs; ``/proc/<pid>/cgroup`` (the host's /proc, mounted into the DaemonSet)
holds the kubelet's cgroup path with the pod UID, in the cgroup v1 (``/kubepods/burstable/
pod<uid>/...``) or the systemd v2 spelling (``kubepods-burstable-pod<uid_with_underscores>.slice``).
The UID → pod lookup is injectable: the Kubernetes API in production, a table in tests.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from governor.model.errors import GovernorError
from governor.model.resource import SERVICE_LABEL

logger = logging.getLogger(__name__)
_POD_UID = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")


@dataclass(frozen=True)
class PodRef:
    uid: str
    namespace: str
    name: str
    service: str | None  # the pod's governor.dev/service label, if any


class NoPodResolver(GovernorError):
    """The agent cannot reach the API server (no in-cluster config, no kubeconfig)."""


class PodResolver(Protocol):
    def resolve(self, uid: str) -> PodRef | None: ...


def pod_uid_of(pid: int, proc_root: Path = Path("/proc")) -> str | None:
    """The pod UID in ``<proc_root>/<pid>/cgroup``, or ``None`` (not in a pod, or PID gone)."""
    try:
        text = (proc_root / str(pid) / "cgroup").read_text()
    except OSError:
        return None
    match = _POD_UID.search(text)
    return match.group(1).replace("_", "-") if match else None


class StaticPodResolver:
    def __init__(self, pods: Mapping[str, PodRef]) -> None:
        self.pods = dict(pods)

    def resolve(self, uid: str) -> PodRef | None:
        return self.pods.get(uid)


def pod_ref(pod: Any) -> PodRef:
    """A ``PodRef`` from a kubernetes-client ``V1Pod`` or a plain dict body."""
    meta = pod.get("metadata", {}) if isinstance(pod, dict) else pod.metadata
    keys = ("uid", "namespace", "name", "labels")
    values = meta if isinstance(meta, dict) else {k: getattr(meta, k, None) for k in keys}
    labels = values.get("labels") or {}
    return PodRef(
        uid=str(values.get("uid") or ""),
        namespace=str(values.get("namespace") or ""),
        name=str(values.get("name") or ""),
        service=labels.get(SERVICE_LABEL),
    )


class ListingPodResolver:
    """Resolves UIDs from a listing of this node's pods, re-listed on a miss at most every ``min_refresh``."""

    def __init__(
        self,
        list_pods: Callable[[], Iterable[Any]],
        min_refresh_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.list_pods = list_pods
        self.min_refresh = min_refresh_seconds
        self.clock = clock
        self._pods: dict[str, PodRef] = {}
        self._listed_at: float | None = None

    def resolve(self, uid: str) -> PodRef | None:
        if uid not in self._pods and (self._listed_at is None or self.clock() - self._listed_at >= self.min_refresh):
            self._listed_at = self.clock()
            self._pods = {ref.uid: ref for ref in map(pod_ref, self.list_pods())}
        return self._pods.get(uid)


def kubernetes_resolver(node_name: str) -> ListingPodResolver:
    """Production resolver: this node's pods from the API server (in-cluster or kubeconfig)."""
    # Imported here: the agent runs without the Kubernetes client in tests and on non-k8s hosts.
    from governor.kube.client import NoCredentials, node_pods_lister

    try:
        list_pods = node_pods_lister(node_name)
    except NoCredentials as exc:
        raise NoPodResolver(str(exc)) from exc
    return ListingPodResolver(list_pods)
