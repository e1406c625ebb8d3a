"""Governor's client of the Kubernetes API: raw JSON requests, run off the event loop.

Everything the operator writes (owned Deployments and Services, scale changes, status, Events)
and reads each tick (workload replicas) goes through the small ``KubeApi`` Protocol, so tests can
point it at the embedded emulator and a real cluster needs no code change.

``KubernetesApi`` uses the official ``kubernetes`` client for what it is best at — loading
in-cluster or kubeconfig credentials, auth plugins included — and sends raw JSON through its
``ApiClient`` in a small thread pool: no model (de)serialisation, and the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

import kubernetes
import urllib3

from governor.model.errors import GovernorError

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# A Kubernetes object as the API returns it: JSON, untyped by nature. Also any JSON object inside one
# (a container, a selector, a status field) and what Governor builds to send. Read-only: a function
# that builds one to change it further keeps a ``dict`` of its own.
KubeObject: TypeAlias = Mapping[str, Any]


class ApiError(GovernorError):
    """The API server refused a request (``status`` is the HTTP code; 0 when it could not be reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409


def api_path(
    api_version: str, plural: str, namespace: str | None = None, name: str | None = None, sub: str | None = None
) -> str:
    """``/apis/apps/v1/namespaces/ml/deployments/chat/scale`` from its parts (core group → ``/api/v1``)."""
    path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{plural}"
    if name:
        path += f"/{name}"
    if sub:
        path += f"/{sub}"
    return path


class NoCredentials(GovernorError):
    """Neither an in-cluster service account nor a kubeconfig gives credentials for the API server."""


def load_credentials(config: kubernetes.client.Configuration) -> None:
    """Fill ``config`` from the in-cluster service account first, then ``$KUBECONFIG`` / ``~/.kube/config``
    (like Kopf's login); ``NoCredentials`` when neither loads."""
    try:
        kubernetes.config.load_incluster_config(client_configuration=config)  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        try:
            kubernetes.config.load_kube_config(client_configuration=config)  # type: ignore[no-untyped-call]
        except (kubernetes.config.ConfigException, OSError, ValueError) as exc:
            raise NoCredentials(str(exc)) from exc


def node_pods_lister(node_name: str) -> Callable[[], list[Any]]:
    """A blocking listing of the pods scheduled on one node (``V1Pod`` objects), for the NVML agent, which
    maps GPU processes to pods outside any event loop; ``NoCredentials`` when no credentials load."""
    config = kubernetes.client.Configuration()
    load_credentials(config)
    core = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(config))

    def list_pods() -> list[Any]:
        return list(core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node_name}").items)

    return list_pods


class KubeApi(Protocol):
    """The few verbs Governor needs, on raw JSON objects addressed by API path."""

    async def get(self, path: str) -> dict[str, Any]: ...

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]: ...

    async def create(self, path: str, body: KubeObject) -> dict[str, Any]: ...

    async def patch(self, path: str, body: KubeObject | Sequence[KubeObject]) -> dict[str, Any]: ...

    async def delete(self, path: str) -> None: ...


@dataclass
class KubernetesApi:
    """``KubeApi`` over the official client's ``ApiClient``, one worker thread per in-flight request."""

    client: kubernetes.client.ApiClient
    timeout_seconds: float = 10.0
    workers: int = 8
    _executor: ThreadPoolExecutor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="kube-api")

    @classmethod
    def for_url(cls, url: str, *, token: str | None = None, ca_file: str | None = None) -> KubernetesApi:
        """A client for one API server URL: the embedded emulator (no credentials), or a server that
        takes a bearer ``token`` and whose certificate ``ca_file`` signs (the demo's control plane)."""
        config = kubernetes.client.Configuration(host=url)
        config.verify_ssl = ca_file is not None
        config.ssl_ca_cert = ca_file
        if token:
            config.api_key = {"authorization": token}
            config.api_key_prefix = {"authorization": "Bearer"}
        return cls(kubernetes.client.ApiClient(config))

    @classmethod
    def from_environment(cls) -> KubernetesApi:
        """In-cluster service account first, then ``$KUBECONFIG`` / ``~/.kube/config``; ``NoCredentials``
        when neither loads."""
        config = kubernetes.client.Configuration()
        load_credentials(config)
        return cls(kubernetes.client.ApiClient(config))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.client.close()  # type: ignore[no-untyped-call]

    async def get(self, path: str) -> dict[str, Any]:
        return await self._call("GET", path)

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        query = [("labelSelector", label_selector)] if label_selector else None
        return list((await self._call("GET", path, query=query)).get("items") or [])

    async def create(self, path: str, body: KubeObject) -> dict[str, Any]:
        return await self._call("POST", path, dict(body), "application/json")

    async def patch(self, path: str, body: KubeObject | Sequence[KubeObject]) -> dict[str, Any]:
        if isinstance(body, Mapping):
            return await self._call("PATCH", path, dict(body), MERGE_PATCH)
        return await self._call("PATCH", path, [dict(op) for op in body], JSON_PATCH)

    async def delete(self, path: str) -> None:
        await self._call("DELETE", path)

    async def _call(
        self, method: str, path: str, body: Any = None, content_type: str | None = None, query: Any = None
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call_blocking, method, path, body, content_type, query)

    def _call_blocking(self, method: str, path: str, body: Any, content_type: str | None, query: Any) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            verb, url, headers, body, _ = self.client.param_serialize(
                method=method,
                resource_path=path,
                query_params=query,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.client.call_api(
                verb, url, header_params=headers, body=body, _request_timeout=self.timeout_seconds
            )
            raw: bytes = response.read()  # type: ignore[no-untyped-call]
        except (kubernetes.client.ApiException, urllib3.exceptions.HTTPError) as exc:
            raise ApiError(int(getattr(exc, "status", 0) or 0), f"{method} {path}: {exc}") from None
        if not 200 <= response.status < 300:
            raise ApiError(response.status, f"{method} {path}: {_message(raw)}")
        return dict(json.loads(raw)) if raw else {}


def _message(raw: bytes | None) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, or the start of the raw body."""
    text = (raw or b"").decode(errors="replace")
    try:
        return str(json.loads(text).get("message") or text[:300])
    except (ValueError, AttributeError):
        return text[:300]
