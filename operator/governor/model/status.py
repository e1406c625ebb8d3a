"""``ServiceStatus``: an InferenceService's ``status``, typed, with one part per layer that owns it.

The status is the lasting record of a service: a restarted operator resumes from it. Each part has
one owner, and only that owner produces a new value of it:

- ``policy``: the decision engine's memory (``status.policyState``), saved by the policy;
- ``actuation``: the served precision, the swap journal, quarantine, manual hold, ``wouldScale``
  and the last scale and swap times, produced by the Actuator;
- ``alerts``: the alert records and the burn-rate budget, produced by the alert engine;
- ``conditions``, ``workload``, ``metrics`` and ``decision``: what the reconcile saw and decided,
  composed by the controller.

``ServiceStatus.from_status`` reads whatever the object carries without raising (the status
subresource may hold anything someone with status rights wrote); ``to_status`` gives the JSON
written back. The JSON of the swap record, quarantine and alert records stays as the API holds it:
the layer that owns a part parses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# A JSON object as the status holds it: untyped by nature, parsed by the part's owner.
JsonObject = Mapping[str, Any]


def _object(value: object) -> JsonObject | None:
    return value if isinstance(value, Mapping) else None


def _objects(value: object) -> tuple[JsonObject, ...]:
    return tuple(v for v in value if isinstance(v, Mapping)) if isinstance(value, list | tuple) else ()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ActuationStatus attribute → its status key
ACTUATION_KEYS: Final = {
    "precision": "precision",
    "swap": "swap",
    "last_swap_time": "lastSwapTime",
    "quarantine": "quarantine",
    "manual_scale": "manualScale",
    "would_scale": "wouldScale",
    "last_scale_time": "lastScaleTime",
}


@dataclass(frozen=True)
class ActuationStatus:
    """The Actuator's part: what the pods serve and the swap, hold and scale records it keeps."""

    precision: str | None = None  # the precision the pods serve
    swap: JsonObject | None = None  # the swap journal (a SwapRecord's JSON), written ahead of each side effect
    last_swap_time: str | None = None
    quarantine: tuple[JsonObject, ...] = ()  # variants whose swap failed, each with its until and reason
    manual_scale: JsonObject | None = None  # a hand-made scale the Actuator holds off from
    would_scale: JsonObject | None = None  # observe-only: what would have been done
    last_scale_time: str | None = None

    @classmethod
    def from_status(cls, status: Mapping[str, Any] | None) -> ActuationStatus:
        status = status if isinstance(status, Mapping) else {}
        return cls(
            precision=_text(status.get("precision")),
            swap=_object(status.get("swap")),
            last_swap_time=_text(status.get("lastSwapTime")),
            quarantine=_objects(status.get("quarantine")),
            manual_scale=_object(status.get("manualScale")),
            would_scale=_object(status.get("wouldScale")),
            last_scale_time=_text(status.get("lastScaleTime")),
        )

    def to_status(self) -> dict[str, Any]:
        """The set fields by their status keys (an empty quarantine is left out)."""
        out: dict[str, Any] = {}
        for attr, key in ACTUATION_KEYS.items():
            value = getattr(self, attr)
            if value is None or value == ():
                continue
            out[key] = [dict(v) for v in value] if isinstance(value, tuple) else value
        return out

    def merge_patch(self, before: ActuationStatus) -> dict[str, Any]:
        """The merge patch that turns ``before`` into this part: changed keys, ``None`` for a removed one."""
        new, old = self.to_status(), before.to_status()
        patch: dict[str, Any] = {k: v for k, v in new.items() if old.get(k) != v}
        patch.update({k: None for k in old if k not in new})
        return patch


@dataclass(frozen=True)
class AlertStatus:
    """The alert engine's part: the alert records (``status.alerts``) and the burn-rate budget."""

    records: tuple[JsonObject, ...] = ()
    budget: JsonObject | None = None  # status.alertBudget: volatile, written with a material change or the heartbeat
    evaluated: bool = False  # the engine has spoken for this service (records may be empty): status.alerts is written


@dataclass(frozen=True)
class WorkloadStatus:
    """What the reconcile read of the workload: its replicas and the pod selector (for the scale subresource)."""

    selector: str | None = None
    replicas: int | None = None
    ready_replicas: int | None = None


@dataclass(frozen=True)
class DecisionStatus:
    """The last decision: the replicas it asked for and why."""

    desired_replicas: int | None = None
    reasons: tuple[str, ...] = ()
    at: str | None = None


@dataclass(frozen=True)
class ServiceStatus:
    observed_generation: int | None = None
    conditions: tuple[JsonObject, ...] = ()  # metav1.Condition JSON, kept by governor.model.conditions
    workload: WorkloadStatus = field(default_factory=WorkloadStatus)
    metrics: JsonObject | None = None  # the observed metrics summary
    decision: DecisionStatus = field(default_factory=DecisionStatus)
    policy: JsonObject | None = None  # status.policyState
    actuation: ActuationStatus = field(default_factory=ActuationStatus)
    alerts: AlertStatus = field(default_factory=AlertStatus)

    @classmethod
    def from_status(cls, status: Mapping[str, Any] | None) -> ServiceStatus:
        """Read an object's status; a field of the wrong shape reads as unset."""
        status = status if isinstance(status, Mapping) else {}
        decision = _object(status.get("decision")) or {}
        reasons = decision.get("reasons")
        return cls(
            observed_generation=_count(status.get("observedGeneration")),
            conditions=_objects(status.get("conditions")),
            workload=WorkloadStatus(
                _text(status.get("selector")), _count(status.get("replicas")), _count(status.get("readyReplicas"))
            ),
            metrics=_object(status.get("metrics")),
            decision=DecisionStatus(
                _count(status.get("desiredReplicas")),
                tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
                _text(decision.get("at")),
            ),
            policy=_object(status.get("policyState")),
            actuation=ActuationStatus.from_status(status),
            alerts=AlertStatus(
                _objects(status.get("alerts")),
                _object(status.get("alertBudget")),
                evaluated=isinstance(status.get("alerts"), list),
            ),
        )

    def to_status(self) -> dict[str, Any]:
        """The JSON written to the status subresource (unset fields are left out)."""
        out: dict[str, Any] = {}
        if self.observed_generation is not None:
            out["observedGeneration"] = self.observed_generation
        if self.conditions:
            out["conditions"] = [dict(c) for c in self.conditions]
        out.update(self.actuation.to_status())
        workload = self.workload
        for key, value in (
            ("selector", workload.selector),
            ("replicas", workload.replicas),
            ("readyReplicas", workload.ready_replicas),
            ("desiredReplicas", self.decision.desired_replicas),
        ):
            if value is not None:
                out[key] = value
        if self.decision.at is not None:
            out["decision"] = {"reasons": list(self.decision.reasons), "at": self.decision.at}
        if self.metrics is not None:
            out["metrics"] = dict(self.metrics)
        if self.policy is not None:
            out["policyState"] = dict(self.policy)
        if self.alerts.evaluated:
            out["alerts"] = [dict(r) for r in self.alerts.records]
        if self.alerts.budget is not None:
            out["alertBudget"] = dict(self.alerts.budget)
        return out

    def with_changes(self, changes: Mapping[str, Any]) -> ServiceStatus:
        """This status with a merge patch applied (``None`` removes a key), as the API applies it."""
        merged = self.to_status()
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return ServiceStatus.from_status(merged)
