"""The Kubernetes-backed reader hands the alerting layer ConfigMap data and decoded Secret values."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from governor.controller.receivers import KubeConfigReader
from governor.kube.client import ApiError


class FakeApi:
    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects

    async def get(self, path: str) -> dict[str, Any]:
        if path not in self.objects:
            raise ApiError(404, f"{path} not found")
        return self.objects[path]

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def patch(self, path: str, body: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    async def delete(self, path: str) -> None:
        raise NotImplementedError


async def test_reads_configmap_and_decodes_secret() -> None:
    token = base64.b64encode(b"s3cr3t-routing-key").decode()
    api = FakeApi(
        {
            "/api/v1/namespaces/governor-system/configmaps/governor-receivers": {"data": {"receivers.yaml": "x: 1"}},
            "/api/v1/namespaces/governor-system/secrets/pager": {"data": {"key": token, "bad": "%%%"}},
        }
    )
    reader = KubeConfigReader(api)
    assert await reader.read_configmap("governor-system", "governor-receivers") == {"receivers.yaml": "x: 1"}
    assert await reader.read_secret("governor-system", "pager") == {"key": "s3cr3t-routing-key"}


async def test_missing_objects_are_none_and_other_errors_raise() -> None:
    reader = KubeConfigReader(FakeApi({}))
    assert await reader.read_configmap("governor-system", "absent") is None
    assert await reader.read_secret("governor-system", "absent") is None

    class Forbidden(FakeApi):
        async def get(self, path: str) -> dict[str, Any]:
            raise ApiError(403, "forbidden")

    with pytest.raises(ApiError):
        await KubeConfigReader(Forbidden({})).read_configmap("governor-system", "x")


async def test_a_secret_the_role_does_not_name_makes_only_its_receivers_unusable() -> None:
    class Forbidden(FakeApi):
        async def get(self, path: str) -> dict[str, Any]:
            raise ApiError(403, "secrets is forbidden")

    assert await KubeConfigReader(Forbidden({})).read_secret("governor-system", "team-slack") is None
