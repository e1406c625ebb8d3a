"""Every write of an InferenceService's status goes through ``StatusWriter``, in exactly two ways.

The status is the lasting record of a service (swap progress, manual holds, the policy's memory,
active alerts), so how and when it is written is decided here, once:

- ``journal``: the write-ahead record of swap progress, merged into the status *before* the side
  effect it leads to, so an operator killed at any point resumes from it. A merge patch with no
  precondition, retried as is on 409 Conflict.
- ``end_of_tick``: the one write of the status a reconcile composed, made only when it materially
  changed since the last write (more than its timestamps), on the slow heartbeat, or when forced (a
  service just seen by a handler). API writes per tick stay bounded whatever the number of services.

No other code patches the status subresource.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from governor.kube.client import KubeApi, api_path
from governor.kube.retries import retry_conflicts
from governor.model import ServiceKey
from governor.model.resource import API_VERSION, PLURAL
from governor.model.status import ServiceStatus

# Fields that change on every tick without meaning anything changed: written with the next material
# change or on the heartbeat. The policy's forecast state and the alert budget move every tick, and so
# do the measured values (`metrics`), the numbers in the decision's `reasons` and in condition
# messages; what a reader acts on (replicas, precision, condition status and reason, swap phase,
# active alerts) is material. Without this a fleet whose p99 moves every tick rewrites every status
# every tick.
VOLATILE_KEYS = frozenset(
    {"observedAt", "at", "lastTransitionTime", "policyState", "alertBudget", "metrics", "reasons", "message"}
)
# Heartbeats are spread over this share of the heartbeat by service, so that services written together
# (all of them after a restart) do not all come due in the same tick again.
HEARTBEAT_SPREAD = 0.5


def material(status: Mapping[str, Any]) -> Any:
    """The status without its timestamps: two statuses with equal ``material`` need no write."""
    if isinstance(status, Mapping):
        return {k: material(v) for k, v in status.items() if k not in VOLATILE_KEYS}
    if isinstance(status, list):
        return [material(v) for v in status]
    return status


def status_material(status: ServiceStatus) -> tuple[object, ...]:
    """``material(status.to_status())`` in a form that is quicker to build and compare (every service, every
    tick): the parts that are volatile as a whole (policy state, alert budget, metrics) are left out without
    being read, and only the small JSON parts (actuation, alert records) are walked."""
    actuation = status.actuation.to_status()
    return (
        status.observed_generation,
        tuple(tuple(sorted((k, v) for k, v in c.items() if k not in VOLATILE_KEYS)) for c in status.conditions),
        status.workload,
        status.decision.desired_replicas,
        material(actuation) if actuation else None,
        tuple(material(r) for r in status.alerts.records),
        status.alerts.evaluated,
    )


def _spread(key: ServiceKey) -> float:
    """A fixed number in [0, 1) for ``key`` (stable across restarts and processes)."""
    digest = hashlib.blake2b(f"{key.namespace}/{key.name}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 2**32


def status_path(key: ServiceKey) -> str:
    return api_path(API_VERSION, PLURAL, key.namespace, key.name, "status")


@dataclass
class _Record:
    current: ServiceStatus  # the service's status as the last reconcile composed it (written or not yet)
    written: ServiceStatus  # what was last written (or read from the object)
    written_material: tuple[object, ...]  # its status_material, computed once per write
    at: float  # when it was written


@dataclass
class StatusWriter:
    """The one writer of InferenceService status, and the one holder of each service's current status.

    ``current`` is what the next reconcile starts from: the last composed status with every journal
    write since merged in, so a reconcile that failed after a swap step still resumes from that step."""

    api: KubeApi
    heartbeat_seconds: float = 60.0
    _records: dict[ServiceKey, _Record] = field(default_factory=dict, init=False, repr=False)

    def seed(self, key: ServiceKey, status: Mapping[str, Any] | None, now: float) -> None:
        """Take the status the object already carries as current and as the last write (a restarted
        operator rewrites nothing that did not change)."""
        current = ServiceStatus.from_status(status)
        self._records[key] = _Record(current, current, status_material(current), now)

    def current(self, key: ServiceKey) -> ServiceStatus:
        record = self._records.get(key)
        return record.current if record is not None else ServiceStatus()

    def forget(self, key: ServiceKey) -> None:
        self._records.pop(key, None)

    async def journal(self, key: ServiceKey, changes: Mapping[str, Any]) -> None:
        """Write-ahead: merge ``changes`` (swap progress) into the status before the side effect they lead to."""
        body = {"status": dict(changes)}
        await retry_conflicts(lambda: self.api.patch(status_path(key), body), f"status of {key}")
        record = self._records.get(key)
        if record is not None:
            # what the object now holds: the last write with these changes (also merged into the current status)
            record.current = record.current.with_changes(changes)
            record.written = record.written.with_changes(changes)
            record.written_material = status_material(record.written)

    async def end_of_tick(self, key: ServiceKey, status: ServiceStatus, now: float, force: bool = False) -> bool:
        """Record ``status`` as current and write it when it materially changed since the last write, the
        heartbeat is due, or ``force``; ``True`` when it wrote. A failed write is retried by the next tick's
        call, which still sees the change."""
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _Record(status, ServiceStatus(), status_material(ServiceStatus()), 0.0)
        record.current = status
        new_material = status_material(status)
        due = now - record.at >= self.heartbeat_seconds * (1.0 + HEARTBEAT_SPREAD * _spread(key))
        if not force and not due and new_material == record.written_material:
            return False
        await self.api.patch(status_path(key), {"status": status.to_status()})
        record.written, record.written_material, record.at = status, new_material, now
        return True
