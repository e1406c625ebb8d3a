"""The in-memory registry of InferenceServices the Kopf handlers have seen.

Handlers (create / update / resume / delete) put parsed specs here; the control loop reads a
snapshot each tick. An invalid object is kept too — with its field errors instead of a spec — so
the loop keeps its ``Invalid`` condition and the other services are unaffected. Nothing here
outlives the process: the cluster is the source of truth and ``resume`` refills it after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from governor.model import FieldError, ServiceKey, ServiceSpec


@dataclass(frozen=True)
class Entry:
    key: ServiceKey
    uid: str
    generation: int
    spec: ServiceSpec | None  # None when the spec is invalid
    errors: tuple[FieldError, ...] = ()
    status: Mapping[str, Any] = field(default_factory=dict)  # the object's status when it was registered

    @property
    def valid(self) -> bool:
        return self.spec is not None


class ServiceRegistry:
    def __init__(self) -> None:
        self._entries: dict[ServiceKey, Entry] = {}

    def put(self, entry: Entry) -> None:
        self._entries[entry.key] = entry

    def remove(self, key: ServiceKey) -> Entry | None:
        return self._entries.pop(key, None)

    def get(self, key: ServiceKey) -> Entry | None:
        return self._entries.get(key)

    def entries(self) -> list[Entry]:
        """A snapshot, safe to iterate while handlers change the registry."""
        return list(self._entries.values())

    def specs(self) -> list[ServiceSpec]:
        return [e.spec for e in self._entries.values() if e.spec is not None]

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
