"""Render the Deployment and Service Governor owns for an InferenceService in owned mode.

Pure functions from a ``ServiceSpec`` to plain manifests: the pod template comes from the CR, and
Governor adds what makes the objects its own — the ``governor.dev/service`` label on pods and
selectors, a controller ownerReference to the CR (so Kubernetes garbage-collects them with it), a
rolling strategy that never drops ready capacity (maxUnavailable 0), and a hash of the rendered
template so a re-apply patches only when the CR's template really changed (an API server adds
defaults to pod templates, so comparing templates field by field would always differ).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from governor.kube.client import KubeObject
from governor.model import ServiceSpec
from governor.model.resource import API_VERSION, KIND, service_labels, service_selector

MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "governor"}
TEMPLATE_HASH: Final = "governor.dev/template-hash"


def thaw(value: Any) -> Any:
    """A JSON-ready deep copy: mappings → dicts, tuples → lists (spec fields are frozen views)."""
    if isinstance(value, Mapping):
        return {str(k): thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


def clamp_replicas(spec: ServiceSpec, replicas: int) -> int:
    return max(spec.min_replicas, min(spec.max_replicas, replicas))


def selector_labels(spec: ServiceSpec) -> dict[str, str]:
    return service_labels(spec.name)


def selector_string(spec: ServiceSpec) -> str:
    """The label selector as the ``scale`` subresource publishes it: ``governor.dev/service=chat``."""
    return service_selector(spec.name)


def owner_reference(spec: ServiceSpec) -> dict[str, str | bool]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": spec.name,
        "uid": spec.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_template(spec: ServiceSpec) -> KubeObject:
    template: dict[str, Any] = thaw(spec.template or {})
    metadata = template.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **selector_labels(spec)}
    return template


def template_hash(template: KubeObject) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]


def _metadata(spec: ServiceSpec, annotations: Mapping[str, str] | None = None) -> KubeObject:
    meta: dict[str, object] = {
        "name": spec.name,
        "namespace": spec.namespace,
        "labels": {**selector_labels(spec), **MANAGED_BY},
        "ownerReferences": [owner_reference(spec)],
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def render_deployment(spec: ServiceSpec, replicas: int) -> KubeObject:
    """The owned Deployment; ``replicas`` is clamped into the spec's bounds."""
    template = pod_template(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(spec, {TEMPLATE_HASH: template_hash(template)}),
        "spec": {
            "replicas": clamp_replicas(spec, replicas),
            "selector": {"matchLabels": selector_labels(spec)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": template,
        },
    }


def _ports(spec: ServiceSpec) -> list[KubeObject]:
    containers: Sequence[KubeObject] = (spec.template or {}).get("spec", {}).get("containers") or ()
    ports: list[KubeObject] = []
    for container in containers:
        for port in container.get("ports") or ():
            if port.get("protocol", "TCP") == "TCP" and "containerPort" in port:
                name = port.get("name") or f"port-{port['containerPort']}"
                ports.append({"name": name, "port": port["containerPort"], "targetPort": port["containerPort"]})
    if not ports:
        port = spec.metrics.scrape_port
        ports.append({"name": "http", "port": port, "targetPort": port})
    return ports


def render_service(spec: ServiceSpec) -> KubeObject:
    """The owned ClusterIP Service in front of the service's pods."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(spec),
        "spec": {"type": "ClusterIP", "selector": selector_labels(spec), "ports": _ports(spec)},
    }
