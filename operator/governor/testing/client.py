"""A small blocking Kubernetes client for the demo and the tests: the emulator or a real API server.

The operator itself talks to the API through ``governor.kube``; this client stands in for
``kubectl`` (apply, get, patch, delete) and for the built-in controllers the emulator lacks. It goes
through HTTP(S), so every change it makes reaches the operator's watches like a real user's would.
Against a real API server it sends a bearer token and checks the server's certificate with a CA file.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from governor.kube.client import api_path
from governor.model.resource import API_VERSION, KIND, PLURAL

T = TypeVar("T")

# Short names → API path prefix and plural, as ``kubectl`` understands them.
# resource → its API group/version (the plural is the resource name itself)
RESOURCE_VERSIONS: dict[str, str] = {
    "namespaces": "v1",
    "events": "v1",
    "services": "v1",
    "pods": "v1",
    "configmaps": "v1",
    "secrets": "v1",
    "deployments": "apps/v1",
    "statefulsets": "apps/v1",
    "replicasets": "apps/v1",
    "nodes": "v1",
    "customresourcedefinitions": "apiextensions.k8s.io/v1",
    PLURAL: API_VERSION,
}

CLUSTER_SCOPED = frozenset({"namespaces", "nodes", "customresourcedefinitions"})
KIND_TO_RESOURCE = {
    "Namespace": "namespaces",
    "Event": "events",
    "Service": "services",
    "Pod": "pods",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "CustomResourceDefinition": "customresourcedefinitions",
    KIND: PLURAL,
}


class ApiStatusError(RuntimeError):
    """The API answered with a non-2xx status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def object_path(resource: str, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
    scoped = None if resource in CLUSTER_SCOPED else namespace
    return api_path(RESOURCE_VERSIONS[resource], resource, scoped, name, sub)


@dataclass(frozen=True)
class KubeClient:
    """Blocking create / get / list / patch / delete against one API server URL.

    ``token`` and ``ca_file`` are for a real API server (HTTPS with a bearer token); the emulator needs neither.
    """

    url: str
    timeout: float = 10.0
    token: str | None = None
    ca_file: str | None = None

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", content_type)
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=context) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise ApiStatusError(exc.code, exc.read().decode(errors="replace")[:500]) from None
        return json.loads(raw) if raw else None

    def create(self, resource: str, body: Mapping[str, Any], namespace: str | None = None) -> dict[str, Any]:
        ns = namespace or body.get("metadata", {}).get("namespace")
        return dict(self.request("POST", object_path(resource, ns), dict(body)))

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create the object, or merge-patch it when it exists (like ``kubectl apply`` for our needs)."""
        resource = KIND_TO_RESOURCE[body["kind"]]
        meta = body.get("metadata", {})
        try:
            return self.create(resource, body)
        except ApiStatusError as exc:
            if exc.status != 409:
                raise
        return self.patch(resource, meta.get("namespace"), meta["name"], dict(body))

    def get(self, resource: str, namespace: str | None, name: str, sub: str | None = None) -> dict[str, Any]:
        return dict(self.request("GET", object_path(resource, namespace, name, sub)))

    def find(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self.get(resource, namespace, name)
        except ApiStatusError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return list(self.request("GET", object_path(resource, namespace)).get("items", []))

    def patch(
        self, resource: str, namespace: str | None, name: str, body: Any, sub: str | None = None
    ) -> dict[str, Any]:
        content_type = "application/json-patch+json" if isinstance(body, list) else "application/merge-patch+json"
        return dict(self.request("PATCH", object_path(resource, namespace, name, sub), body, content_type))

    def delete(self, resource: str, namespace: str | None, name: str) -> None:
        try:
            self.request("DELETE", object_path(resource, namespace, name))
        except ApiStatusError as exc:
            if exc.status != 404:
                raise


def wait_for(predicate: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1, what: str = "") -> T:
    """Poll ``predicate`` until it returns a truthy value, which is returned; raise on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate!r}")
        time.sleep(interval)
