"""Apply the owned objects, read workload replicas, change replicas: the Kubernetes writes of scaling.

Owned mode: the Deployment and Service rendered by ``governor.actuate.render`` are created when
missing and patched only when the template hash or the replica bounds call for it. Target mode:
the workload named by ``scaleTargetRef`` is read and scaled through its ``scale`` subresource, so
Governor needs no rights on the rest of the object. Reads are batched: one list per namespace
per tick, whatever the number of services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from governor.actuate.render import TEMPLATE_HASH, clamp_replicas, render_deployment, render_service
from governor.kube.client import ApiError, KubeApi, KubeObject, api_path
from governor.model import GovernorError, ServiceSpec

WorkloadKey = tuple[str, str]  # (namespace, name)

# Workload kinds a scaleTargetRef may name, with their API path parts.
SCALABLE_KINDS: Final[Mapping[str, tuple[str, str]]] = {
    "Deployment": ("apps/v1", "deployments"),
    "StatefulSet": ("apps/v1", "statefulsets"),
}


@dataclass(frozen=True)
class WorkloadState:
    """What the controller reads of a workload each tick."""

    name: str
    replicas: int  # spec.replicas: what was asked for
    ready_replicas: int
    updated_replicas: int
    generation: int
    observed_generation: int
    owner_uid: str | None = None  # uid of the controller ownerReference (an owned Deployment: its InferenceService)

    @property
    def rolled_out(self) -> bool:
        return self.observed_generation >= self.generation and self.updated_replicas >= self.replicas


def workload_state(obj: KubeObject) -> WorkloadState:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    meta = obj.get("metadata") or {}
    return WorkloadState(
        name=str(meta.get("name", "")),
        replicas=int(spec.get("replicas", 1) or 0),
        ready_replicas=int(status.get("readyReplicas", 0) or 0),
        updated_replicas=int(status.get("updatedReplicas", 0) or 0),
        generation=int(meta.get("generation", 0) or 0),
        observed_generation=int(status.get("observedGeneration", 0) or 0),
        owner_uid=controller_uid(obj),
    )


def controller_uid(obj: KubeObject) -> str | None:
    """The uid of the object's controller ownerReference, if it has one."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return next((str(r.get("uid")) for r in refs if isinstance(r, Mapping) and r.get("controller")), None)


def not_owned_message(kind: str, spec: ServiceSpec) -> str:
    return (
        f"{kind} {spec.namespace}/{spec.name} exists and is not owned by this InferenceService: Governor leaves it "
        "alone (rename the InferenceService, or point spec.scaleTargetRef at it)"
    )


class NotOwned(GovernorError):
    """Owned mode met an object of the service's name that another owner (or nobody) controls."""


def claim(spec: ServiceSpec, workload: WorkloadState | None) -> tuple[WorkloadState | None, str | None]:
    """Owned mode acts only on the Deployment this InferenceService controls: another one of its name is
    reported (``None`` and why), never scaled, swapped or deleted. Target mode names its workload itself."""
    if spec.owned and workload is not None and workload.owner_uid != spec.uid:
        return None, not_owned_message("Deployment", spec)
    return workload, None


def workload_name(spec: ServiceSpec) -> str:
    return spec.scale_target_ref.name if spec.scale_target_ref is not None else spec.name


def workload_path(spec: ServiceSpec, sub: str | None = None) -> str:
    """API path of the service's workload; raises ``ApiError(404)`` for a kind Governor cannot scale."""
    kind = spec.scale_target_ref.kind if spec.scale_target_ref is not None else "Deployment"
    if kind not in SCALABLE_KINDS:
        raise ApiError(404, f"scaleTargetRef kind {kind!r} is not supported (use one of {', '.join(SCALABLE_KINDS)})")
    api_version, plural = SCALABLE_KINDS[kind]
    return api_path(api_version, plural, spec.namespace, workload_name(spec), sub)


async def read_deployments(api: KubeApi, namespaces: Iterable[str]) -> dict[WorkloadKey, WorkloadState]:
    """Every Deployment of the given namespaces, one list request per namespace."""
    result: dict[WorkloadKey, WorkloadState] = {}
    for namespace in sorted(set(namespaces)):
        for obj in await api.list(api_path("apps/v1", "deployments", namespace)):
            meta = obj.get("metadata") or {}
            if meta.get("namespace", namespace) == namespace:
                result[(namespace, str(meta.get("name")))] = workload_state(obj)
    return result


async def read_workload(api: KubeApi, spec: ServiceSpec) -> WorkloadState | None:
    """The service's workload, or ``None`` when it does not exist."""
    try:
        return workload_state(await api.get(workload_path(spec)))
    except ApiError as exc:
        if exc.not_found:
            return None
        raise


@dataclass(frozen=True)
class ApplyResult:
    created: tuple[str, ...] = ()  # kinds created ("Deployment", "Service")
    updated: tuple[str, ...] = ()  # kinds patched


async def apply_owned(api: KubeApi, spec: ServiceSpec) -> ApplyResult:
    """Create the owned Deployment and Service when missing; patch the Deployment when its template or bounds drift."""
    created: list[str] = []
    updated: list[str] = []
    deployment_path = api_path("apps/v1", "deployments", spec.namespace)
    current = await _find(api, f"{deployment_path}/{spec.name}")
    if current is None:
        await api.create(deployment_path, render_deployment(spec, spec.min_replicas))
        created.append("Deployment")
    elif controller_uid(current) != spec.uid:
        raise NotOwned(not_owned_message("Deployment", spec))
    else:
        patch = deployment_patch(spec, current)
        if patch:
            await api.patch(f"{deployment_path}/{spec.name}", patch)
            updated.append("Deployment")
    service_path = api_path("v1", "services", spec.namespace)
    if await _find(api, f"{service_path}/{spec.name}") is None:
        await api.create(service_path, render_service(spec))
        created.append("Service")
    return ApplyResult(tuple(created), tuple(updated))


def deployment_patch(spec: ServiceSpec, current: KubeObject) -> KubeObject:
    """The merge patch that brings an existing owned Deployment in line with the spec (empty when none is needed)."""
    state = workload_state(current)
    desired = render_deployment(spec, state.replicas)
    patch: dict[str, object] = {}
    spec_patch: dict[str, object] = {}
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    wanted_hash = desired["metadata"]["annotations"][TEMPLATE_HASH]
    if annotations.get(TEMPLATE_HASH) != wanted_hash:
        patch["metadata"] = {"annotations": {TEMPLATE_HASH: wanted_hash}}
        spec_patch.update(template=desired["spec"]["template"], strategy=desired["spec"]["strategy"])
    if desired["spec"]["replicas"] != state.replicas:
        spec_patch["replicas"] = desired["spec"]["replicas"]
    if spec_patch:
        patch["spec"] = spec_patch
    return patch


async def scale(api: KubeApi, spec: ServiceSpec, replicas: int) -> int:
    """Set the workload's replicas (clamped into bounds); owned → Deployment spec, target → scale subresource."""
    replicas = clamp_replicas(spec, replicas)
    if spec.owned:
        await api.patch(workload_path(spec), {"spec": {"replicas": replicas}})
    else:
        await api.patch(workload_path(spec, "scale"), {"spec": {"replicas": replicas}})
    return replicas


async def delete_owned(api: KubeApi, spec: ServiceSpec) -> None:
    """Delete the Deployment and Service this InferenceService owns; a missing object is already deleted, and an
    object of the same name that it does not own is left alone."""
    for api_version, plural in (("apps/v1", "deployments"), ("v1", "services")):
        path = api_path(api_version, plural, spec.namespace, spec.name)
        current = await _find(api, path)
        if current is None or controller_uid(current) != spec.uid:
            continue
        try:
            await api.delete(path)
        except ApiError as exc:
            if not exc.not_found:
                raise


async def _find(api: KubeApi, path: str) -> KubeObject | None:
    try:
        return await api.get(path)
    except ApiError as exc:
        if exc.not_found:
            return None
        raise
