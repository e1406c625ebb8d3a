"""Where the demo's Kubernetes API comes from: a real control plane when one is built, else the emulator.

``--cluster real`` starts the real control plane of ``governor.testing.control_plane`` (kube-apiserver,
etcd, kube-controller-manager, kube-scheduler, KWOK) in a temporary folder: the real Deployment and
ReplicaSet controllers roll pods, KWOK starts them on fake GPU nodes after the service's start-up
time, and the operator talks HTTPS with a token. ``--cluster emulator`` runs the embedded KMock
emulator, where a stand-in plays the Deployment controller. ``auto`` (the default) takes the real
one when ``scripts/control-plane.sh`` (run by ``scripts/test.sh``) has built it, else the emulator.

Either way a ``Backend`` gives the session the same things: a blocking client, the operator's API and
Kopf connection, and the ready pods of a Deployment split into the current template and older ones.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import kopf

from governor.kube.client import KubernetesApi
from governor.testing.client import ApiStatusError, KubeClient, wait_for
from governor.testing.control_plane import ControlPlane, find_binaries
from governor.testing.emulator import EmulatorThread
from governor.testing.standins import RollingStandIn

CHOICES: Final = ("auto", "real", "emulator")
READY_DELAY: Final = "pod-ready.stage.kwok.x-k8s.io/delay"
READY_JITTER: Final = "pod-ready.stage.kwok.x-k8s.io/jitter-delay"
REVISION: Final = "deployment.kubernetes.io/revision"

# (namespace, Deployment) → (ready pods of its current template, ready pods of older ones); None: not seen yet
Split = Callable[[str, str], tuple[int, int] | None]


@dataclass(frozen=True)
class Backend:
    kind: str  # "real" or "emulator"
    url: str
    client: KubeClient
    api: KubernetesApi
    connection: kopf.ConnectionInfo
    ready_split: Split

    @property
    def description(self) -> str:
        if self.kind == "real":
            return f"real control plane (kube-apiserver, etcd, controller-manager, scheduler, KWOK) at {self.url}"
        return f"Kubernetes API emulated at {self.url}"


class BackendUnavailable(RuntimeError):
    """``--cluster real`` without the control plane's binaries."""


def resolve(choice: str) -> tuple[str, Path | None]:
    """``auto`` → ``real`` when the binaries are there, else ``emulator``; ``real`` without them is an error."""
    binaries = find_binaries() if choice in ("auto", "real") else None
    if choice == "real" and binaries is None:
        raise BackendUnavailable(
            "no control-plane binaries: run scripts/control-plane.sh (needs Go), or set KUBEBUILDER_ASSETS "
            "or GOVERNOR_CONTROL_PLANE_BIN to a folder holding kube-apiserver, kube-controller-manager, "
            "kube-scheduler, kubectl, etcd and kwok"
        )
    return ("real", binaries) if binaries is not None else ("emulator", None)


@contextlib.contextmanager
def open_backend(choice: str, startup_wall_seconds: float) -> Iterator[Backend]:
    kind, binaries = resolve(choice)
    if kind == "real" and binaries is not None:
        with real(binaries) as backend:
            yield backend
    else:
        with emulated(startup_wall_seconds) as backend:
            yield backend


@contextlib.contextmanager
def emulated(startup_wall_seconds: float) -> Iterator[Backend]:
    with EmulatorThread() as emulator:
        client = KubeClient(emulator.url)
        api = KubernetesApi.for_url(emulator.url)
        try:
            standin = RollingStandIn(client, delay=startup_wall_seconds, interval=0.1)
            with standin:
                connection = kopf.ConnectionInfo(server=emulator.url, insecure=True)

                def split(namespace: str, name: str) -> tuple[int, int] | None:
                    return standin.ready_split.get((namespace, name))

                yield Backend("emulator", emulator.url, client, api, connection, split)
        finally:
            api.close()


@contextlib.contextmanager
def real(binaries: Path) -> Iterator[Backend]:
    with tempfile.TemporaryDirectory(prefix="governor-demo-") as tmp, ControlPlane(binaries, Path(tmp)) as plane:
        token, ca = plane.tokens["admin"], str(plane.pki / "ca.crt")
        client = KubeClient(plane.server, token=token, ca_file=ca)
        api = KubernetesApi.for_url(plane.server, token=token, ca_file=ca)
        connection = kopf.ConnectionInfo(server=plane.server, ca_path=ca, token=token)
        try:
            yield Backend("real", plane.server, client, api, connection, replica_set_split(client))
        finally:
            api.close()


def replica_set_split(client: KubeClient) -> Split:
    """Ready pods of the Deployment's newest ReplicaSet (its current template) and of the older ones."""

    def split(namespace: str, name: str) -> tuple[int, int] | None:
        owned = [rs for rs in client.list("replicasets", namespace) if _owner(rs) == name]
        if not owned:
            return None
        newest = max(owned, key=_revision)
        ready = [int((rs.get("status") or {}).get("readyReplicas") or 0) for rs in owned]
        current = int((newest.get("status") or {}).get("readyReplicas") or 0)
        return current, sum(ready) - current

    return split


def _owner(obj: Mapping[str, Any]) -> str | None:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return next((str(r.get("name")) for r in refs if r.get("kind") == "Deployment"), None)


def _revision(obj: Mapping[str, Any]) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, 0))
    except ValueError:
        return 0


def prepare(backend: Backend, docs: list[dict[str, Any]], startup_wall_seconds: float) -> None:
    """What the real control plane needs before the services are applied: their namespaces, and a
    KWOK start-up delay on each pod template (the emulator's stand-in has its own)."""
    if backend.kind != "real":
        return
    for namespace in sorted({str(d.get("metadata", {}).get("namespace") or "default") for d in docs}):
        if backend.client.find("namespaces", None, namespace) is None:
            backend.client.create("namespaces", {"kind": "Namespace", "metadata": {"name": namespace}})
    for doc in docs:
        template = (doc.get("spec") or {}).get("template")
        if isinstance(template, dict):
            annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
            delay = f"{startup_wall_seconds:.3f}s"  # KWOK 0.8 waits the jitter delay when it is not above the delay
            annotations.setdefault(READY_DELAY, delay)
            annotations.setdefault(READY_JITTER, delay)


def wait_established(backend: Backend, crd_name: str) -> None:
    def established() -> bool:
        crd = backend.client.find("customresourcedefinitions", None, crd_name) or {}
        conditions = (crd.get("status") or {}).get("conditions") or ()
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)

    def servable() -> bool:  # a fresh apiserver answers 429 "storage is (re)initializing" for a moment
        try:
            backend.client.list(crd_name.split(".", 1)[0])
        except ApiStatusError:
            return False
        return True

    if backend.kind == "real":
        wait_for(established, timeout=30, what=f"CRD {crd_name} established")
        wait_for(servable, timeout=30, what=f"{crd_name} served")
