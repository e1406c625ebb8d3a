"""Talk to model servers that can switch model version without a restart.

Two wire protocols, chosen per service by the ``governor.dev/in-place-protocol`` annotation
(default: ``triton`` when ``spec.metrics.preset`` is ``triton``, else ``http-hook``; parsed with
the spec, see ``ServiceSpec.in_place_protocol``):

* **Triton** (model-control mode ``explicit``): read the model's current configuration
  (``GET /v2/models/{model}/config``), set ``version_policy`` to the variant's ``modelVersion``,
  load it (``POST /v2/repository/models/{model}/load`` with ``{"parameters": {"config": "<json>"}}``),
  then ask ``GET /v2/models/{model}/versions/{version}/ready`` (200 = ready).
* **Generic HTTP hook** for custom servers: ``POST /governor/v1/precision`` with
  ``{"model", "precision", "modelVersion"}`` (any 2xx: accepted; the request must be idempotent),
  then ``GET /governor/v1/ready?precision=…&modelVersion=…`` (200 once that variant serves).

The pod's address is ``http://<status.podIP>:<port>``; the port comes from the
``governor.dev/in-place-port`` annotation (default 8000, Triton's HTTP port). The model name and
version were checked by ``parse_service`` (a safe charset); they are still escaped as URL path
segments here, so no text can ever change which endpoint a request reaches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol
from urllib.parse import quote

import aiohttp

from governor.kube.client import KubeObject
from governor.model import GovernorError, InPlaceProtocol, Precision

HOOK_PATH: Final = "/governor/v1/precision"
HOOK_READY_PATH: Final = "/governor/v1/ready"


class InPlaceError(GovernorError):
    """A model server refused or failed an in-place load."""


@dataclass(frozen=True)
class InPlaceTarget:
    """One pod's server and the variant it should serve."""

    base_url: str
    protocol: InPlaceProtocol
    model: str
    precision: Precision
    version: str | None


class InPlaceClient(Protocol):
    async def load(self, target: InPlaceTarget) -> None: ...  # raises InPlaceError

    async def ready(self, target: InPlaceTarget) -> bool: ...


class PodEndpoints(Protocol):
    """Where a pod's server listens (tests point this at simulated servers)."""

    def base_url(self, pod: KubeObject, port: int) -> str | None: ...


class PodIPEndpoints:
    def base_url(self, pod: KubeObject, port: int) -> str | None:
        ip = (pod.get("status") or {}).get("podIP")
        return f"http://{ip}:{port}" if ip else None


def segment(text: str) -> str:
    """``text`` as one URL path segment: ``/``, ``?``, ``#``, ``%`` and the like escaped."""
    return quote(text, safe="")


def triton_config(current: Mapping[str, object], model: str, version: str) -> dict[str, object]:
    """The model's configuration with ``version_policy`` selecting exactly ``version``."""
    if not (version.isascii() and version.isdigit()):
        raise InPlaceError(f"Triton model versions are integers, got {version!r}")
    config = dict(current) or {"name": model}
    config["version_policy"] = {"specific": {"versions": [int(version)]}}
    return config


@dataclass
class HttpInPlaceClient:
    """``InPlaceClient`` over aiohttp; one session, created on first use and closed by ``close``."""

    timeout_seconds: float = 120.0
    _session: aiohttp.ClientSession | None = field(default=None, init=False)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_seconds))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def load(self, target: InPlaceTarget) -> None:
        try:
            if target.protocol == InPlaceProtocol.TRITON:
                await self._triton_load(target)
            else:
                await self._post(f"{target.base_url}{HOOK_PATH}", _hook_body(target))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise InPlaceError(f"{target.base_url}: {exc!r}") from None

    async def ready(self, target: InPlaceTarget) -> bool:
        if target.protocol == InPlaceProtocol.TRITON:
            url = f"{target.base_url}/v2/models/{segment(target.model)}/versions/{segment(target.version or '')}/ready"
            params: dict[str, str] = {}
        else:
            url = f"{target.base_url}{HOOK_READY_PATH}"
            params = {"precision": target.precision.value, "modelVersion": target.version or ""}
        try:
            async with self._http().get(url, params=params) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _triton_load(self, target: InPlaceTarget) -> None:
        if target.version is None:
            raise InPlaceError(f"variant {target.precision} has no modelVersion to load")
        current: object = {}
        model = segment(target.model)
        async with self._http().get(f"{target.base_url}/v2/models/{model}/config") as response:
            if response.status == 200:
                try:
                    current = await response.json()
                except ValueError:  # a server's answer is not trusted to be JSON
                    raise InPlaceError(f"{target.base_url}: the model configuration is not JSON") from None
        if not isinstance(current, Mapping):
            raise InPlaceError(f"{target.base_url}: the model configuration is not an object")
        config = triton_config(current, target.model, target.version)
        body = {"parameters": {"config": json.dumps(config)}}
        await self._post(f"{target.base_url}/v2/repository/models/{model}/load", body)

    async def _post(self, url: str, body: Mapping[str, object]) -> None:
        async with self._http().post(url, json=dict(body)) as response:
            if response.status // 100 != 2:
                text = (await response.text())[:300]
                raise InPlaceError(f"POST {url}: HTTP {response.status}: {text}")


def _hook_body(target: InPlaceTarget) -> dict[str, str | None]:
    return {"model": target.model, "precision": target.precision.value, "modelVersion": target.version}
