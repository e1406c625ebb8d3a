"""The precision swap as a state machine whose whole state lives in the CR's ``status.swap``.

A swap is long (a rolling restart of every replica, or a pod-by-pod reload) and the operator may
be killed at any point of it. So nothing about a swap is kept only in memory: the record below is
written to status *before* each side effect it leads to (write-ahead), and every side effect is
idempotent ("make the container look like variant X", "load version V on pod P"). A restarted
operator reads the record back and carries on from the same phase: it never starts the swap a
second time and never forgets a rollback it had begun.

Phases::

    Rolling ──────────────► Succeeded            (rolling: template patched, rollout tracked)
       └──(failed/timeout)─► RollingBack ─► Failed
    InPlace ─► Finalizing ─► Succeeded           (in place: pods reload, then the template follows)
       └──(pod failed)──┐       └──(failed/timeout)──┐
                        ▼                            ▼
                   Reverting ─► (RollingBack if the template was changed) ─► Failed

This module holds the record, its JSON form, the quarantine of failed variants, and the shared
transitions; ``rollout`` and ``inplace_plan`` hold the phase-specific steps. All of it is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final, NamedTuple

from governor.kube.client import KubeObject
from governor.model import Precision
from governor.model.events import EventReason, EventType
from governor.model.times import iso, parse_iso


class SwapPhase(StrEnum):
    ROLLING = "Rolling"  # the template carries the new variant; the Deployment rolls it out
    IN_PLACE = "InPlace"  # pods load the new model version, a bounded share at a time
    FINALIZING = "Finalizing"  # every pod swapped in place; the template follows so new pods start right
    REVERTING = "Reverting"  # an in-place swap failed: swapped pods go back, the failed pod restarts
    ROLLING_BACK = "RollingBack"  # the template is restored to the previous variant; rollout tracked
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


ACTIVE_PHASES: Final = frozenset(
    {SwapPhase.ROLLING, SwapPhase.IN_PLACE, SwapPhase.FINALIZING, SwapPhase.REVERTING, SwapPhase.ROLLING_BACK}
)


class SwapStrategy(StrEnum):
    SURGE = "RollingSurge"  # maxSurge 1, maxUnavailable 0: ready capacity never drops
    ONE_AT_A_TIME = "RollingOneAtATime"  # maxSurge 0, maxUnavailable 1: at maxReplicas, no room for a surge pod
    BATCH = "RollingBatch"  # maxSurge 0, maxUnavailable N: at maxReplicas, N chosen by the decision engine
    IN_PLACE = "InPlace"  # pods reload the model; at most inPlaceMaxUnavailable of them at once


@dataclass(frozen=True)
class SwapRecord:
    """One swap, as persisted in ``status.swap``."""

    phase: SwapPhase
    from_precision: Precision
    to_precision: Precision
    strategy: SwapStrategy
    started_at: float
    phase_since: float
    deadline: float  # the current phase fails (or gives up) after this time
    previous_container: KubeObject | None = None  # the model container before the swap, for rollback
    previous_rolling_update: KubeObject | None = None  # the Deployment's strategy to restore afterwards
    template_patched: bool = False  # the Deployment template carries the new variant (rollback must revert it)
    pods_done: tuple[str, ...] = ()
    pods_failed: tuple[str, ...] = ()
    in_flight: tuple[tuple[str, float], ...] = ()  # (pod, since) asked to load the new version
    message: str = ""
    finished_at: float | None = None
    max_unavailable: int = 1  # pods out of service at once for the RollingBatch strategy

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    def to(self, phase: SwapPhase, now: float, deadline: float | None = None, **changes: Any) -> SwapRecord:
        """This record moved to ``phase`` at ``now`` (terminal phases get ``finished_at``)."""
        finished = now if phase not in ACTIVE_PHASES else None
        return replace(
            self,
            phase=phase,
            phase_since=now,
            deadline=self.deadline if deadline is None else deadline,
            finished_at=finished,
            **changes,
        )

    def to_dict(self) -> KubeObject:
        data: dict[str, object] = {
            "phase": self.phase.value,
            "from": self.from_precision.value,
            "to": self.to_precision.value,
            "strategy": self.strategy.value,
            "startedAt": iso(self.started_at),
            "phaseSince": iso(self.phase_since),
            "deadline": iso(self.deadline),
            "templatePatched": self.template_patched,
            "podsDone": list(self.pods_done),
            "podsFailed": list(self.pods_failed),
            "inFlight": [{"pod": pod, "since": iso(since)} for pod, since in self.in_flight],
            "message": self.message,
            "maxUnavailable": self.max_unavailable,
            "previousContainer": dict(self.previous_container) if self.previous_container is not None else None,
            "previousRollingUpdate": (
                dict(self.previous_rolling_update) if self.previous_rolling_update is not None else None
            ),
        }
        if self.finished_at is not None:
            data["finishedAt"] = iso(self.finished_at)
        return data

    @classmethod
    def from_dict(cls, data: KubeObject | None) -> SwapRecord | None:
        """The record in ``status.swap``; ``None`` when absent or unreadable (an unreadable record is no swap)."""
        if not isinstance(data, Mapping) or not data.get("phase"):
            return None
        try:
            started = parse_iso(data.get("startedAt")) or 0.0
            return cls(
                phase=SwapPhase(data["phase"]),
                from_precision=Precision(data["from"]),
                to_precision=Precision(data["to"]),
                strategy=SwapStrategy(data.get("strategy") or SwapStrategy.SURGE),
                started_at=started,
                phase_since=parse_iso(data.get("phaseSince")) or started,
                deadline=parse_iso(data.get("deadline")) or started,
                previous_container=data.get("previousContainer"),
                previous_rolling_update=data.get("previousRollingUpdate"),
                template_patched=bool(data.get("templatePatched", False)),
                pods_done=tuple(str(p) for p in data.get("podsDone") or ()),
                pods_failed=tuple(str(p) for p in data.get("podsFailed") or ()),
                in_flight=tuple(
                    (str(i["pod"]), parse_iso(i.get("since")) or started) for i in data.get("inFlight") or ()
                ),
                message=str(data.get("message") or ""),
                finished_at=parse_iso(data.get("finishedAt")),
                max_unavailable=max(1, int(data.get("maxUnavailable") or 1)),
            )
        except (KeyError, ValueError, TypeError):
            return None


# ---- quarantine ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuarantineEntry:
    precision: Precision
    until: float
    reason: str

    def to_dict(self) -> KubeObject:
        return {"precision": self.precision.value, "until": iso(self.until), "reason": self.reason}


def parse_quarantine(items: Sequence[KubeObject] | None) -> tuple[QuarantineEntry, ...]:
    entries = []
    for item in items or ():
        try:
            until = parse_iso(item.get("until"))
            if until is not None:
                entries.append(QuarantineEntry(Precision(item["precision"]), until, str(item.get("reason") or "")))
        except (KeyError, ValueError, AttributeError):
            continue
    return tuple(entries)


def active_quarantine(entries: Sequence[QuarantineEntry], now: float) -> tuple[QuarantineEntry, ...]:
    return tuple(e for e in entries if e.until > now)


def quarantined(entries: Sequence[QuarantineEntry], precision: Precision, now: float) -> QuarantineEntry | None:
    return next((e for e in active_quarantine(entries, now) if e.precision == precision), None)


def add_quarantine(
    entries: Sequence[QuarantineEntry], precision: Precision, until: float, reason: str, now: float
) -> tuple[QuarantineEntry, ...]:
    kept = [e for e in active_quarantine(entries, now) if e.precision != precision]
    return (*kept, QuarantineEntry(precision, until, reason))


# ---- what one step of the machine asks for ---------------------------------------------------


class ActionKind(StrEnum):
    PATCH_TEMPLATE = "PatchTemplate"  # make the model container equal ``container`` (+ ``rolling_update``)
    RESTORE_STRATEGY = "RestoreStrategy"  # put the Deployment's rollingUpdate back as it was
    SET_STRATEGY = "SetStrategy"  # a running rollout switches to ``rolling_update`` (template untouched)
    LOAD = "Load"  # ask ``pod`` to load the new variant in place
    REVERT = "Revert"  # ask ``pod`` to load the previous variant in place (deleted when it cannot)
    DELETE_POD = "DeletePod"  # the Deployment recreates it from the template (previous variant)


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    container: KubeObject | None = None
    rolling_update: KubeObject | None = None
    pod: str | None = None


class Note(NamedTuple):
    """An Event-worthy happening: ``(type, reason, message)`` for ``kubectl get events``."""

    type: EventType
    reason: EventReason
    message: str


@dataclass(frozen=True)
class Step:
    record: SwapRecord
    actions: tuple[Action, ...] = ()
    notes: tuple[Note, ...] = ()
    quarantine: tuple[QuarantineEntry, ...] | None = None  # replaced list, when it changes


SURGE_ROLLING_UPDATE: Final[KubeObject] = {"maxSurge": 1, "maxUnavailable": 0}
ONE_AT_A_TIME_ROLLING_UPDATE: Final[KubeObject] = {"maxSurge": 0, "maxUnavailable": 1}


def rolling_update_for(strategy: SwapStrategy, max_unavailable: int = 1) -> KubeObject:
    if strategy == SwapStrategy.ONE_AT_A_TIME:
        return ONE_AT_A_TIME_ROLLING_UPDATE
    if strategy == SwapStrategy.BATCH:
        return {"maxSurge": 0, "maxUnavailable": max(1, max_unavailable)}
    return SURGE_ROLLING_UPDATE


def fail(record: SwapRecord, now: float, message: str, timeout: float) -> Step:
    """A failure in any forward phase: go back the way that undoes what was done so far."""
    note = Note(
        EventType.WARNING,
        EventReason.SWAP_FAILED,
        f"swap {record.from_precision} → {record.to_precision} failed: {message}; returning to {record.from_precision}",
    )
    if record.phase in (SwapPhase.IN_PLACE, SwapPhase.FINALIZING):
        return Step(record.to(SwapPhase.REVERTING, now, now + timeout, message=message), notes=(note,))
    return Step(record.to(SwapPhase.ROLLING_BACK, now, now + timeout, message=message), notes=(note,))


def finish_failed(
    record: SwapRecord, now: float, quarantine: Sequence[QuarantineEntry], cooldown: float, detail: str = ""
) -> Step:
    """The swap is undone: record it, quarantine the variant that failed, restore the strategy."""
    until = now + cooldown
    entries = add_quarantine(quarantine, record.to_precision, until, record.message, now)
    message = (
        f"back on {record.from_precision} after the failed swap to {record.to_precision}{detail}; "
        f"{record.to_precision} quarantined until {iso(until)}"
    )
    return Step(
        record.to(SwapPhase.FAILED, now),
        actions=(Action(ActionKind.RESTORE_STRATEGY, rolling_update=record.previous_rolling_update),),
        notes=(Note(EventType.NORMAL, EventReason.ROLLED_BACK, message),),
        quarantine=entries,
    )


def finish_succeeded(record: SwapRecord, now: float) -> Step:
    took = now - record.started_at
    message = (
        f"now serving {record.to_precision} (was {record.from_precision}); strategy {record.strategy}, took {took:.0f}s"
    )
    return Step(
        record.to(SwapPhase.SUCCEEDED, now, message=""),
        actions=(Action(ActionKind.RESTORE_STRATEGY, rolling_update=record.previous_rolling_update),),
        notes=(Note(EventType.NORMAL, EventReason.SWAPPED, message),),
    )
