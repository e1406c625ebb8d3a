"""``MemoryApi``: a ``KubeApi`` over a dict of objects by path, for reconciles and ticks without any API server.

Get, list (no server-side filtering: a label selector is ignored), create, JSON merge patch (also of the
``status`` and ``scale`` subresources) and delete. Every answer is a deep copy, as a server's fresh JSON
would be. It runs no controllers and checks nothing; the property tests of one reconcile and the
in-process tick benchmark use it, where an HTTP round trip would only measure the emulator.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from governor.kube.client import ApiError, KubeObject

SUBRESOURCES = ("status", "scale")


@dataclass
class MemoryApi:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    writes: int = 0  # create, patch and delete calls answered

    def _target(self, path: str) -> tuple[str, str | None]:
        head, _, last = path.rpartition("/")
        return (head, last) if last in SUBRESOURCES else (path, None)

    async def get(self, path: str) -> dict[str, Any]:
        target, _ = self._target(path)
        if target not in self.objects:
            raise ApiError(404, f"GET {path}: not found")
        return copy.deepcopy(self.objects[target])

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for p, o in self.objects.items() if p.rpartition("/")[0] == path]

    async def create(self, path: str, body: KubeObject) -> dict[str, Any]:
        self.writes += 1
        obj = copy.deepcopy(dict(body))
        meta = obj.setdefault("metadata", {})
        meta.setdefault("name", f"{meta.get('generateName', 'x-')}{len(self.objects)}")
        self.objects[f"{path}/{meta['name']}"] = obj
        return copy.deepcopy(obj)

    async def patch(self, path: str, body: KubeObject | Sequence[KubeObject]) -> dict[str, Any]:
        self.writes += 1
        target, sub = self._target(path)
        if target not in self.objects and sub != "status":
            raise ApiError(404, f"PATCH {path}: not found")
        obj = self.objects.setdefault(target, {})
        merge(obj, dict(body) if isinstance(body, Mapping) else {})
        return copy.deepcopy(obj)

    async def delete(self, path: str) -> None:
        self.writes += 1
        if self.objects.pop(path, None) is None:
            raise ApiError(404, f"DELETE {path}: not found")
        self.deleted.append(path)


def merge(into: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """Apply a JSON merge patch in place (``None`` removes a key)."""
    for key, value in patch.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
