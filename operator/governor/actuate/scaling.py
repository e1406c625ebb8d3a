"""Replica changes: what the policy asks, what a human asked, and what a swap forbids — planned purely.

``kubectl scale gisvc/chat --replicas=5`` (or an HPA pointed at the InferenceService) writes the
CR's ``spec.replicas`` through its ``scale`` subresource. Governor reads a *new* value there as a
manual override: the workload is scaled to it (within ``[minReplicas, maxReplicas]``) and the
policy's replica decisions are paused for the hold time — the ``governor.dev/manual-hold-seconds``
annotation (0 to 7 days, parsed with the spec), else the operator's default, 900 s. When the hold
ends the policy resumes (Event ``ManualScaleExpired``); the operator never fights a person in a
tug of war. Only a change of the value starts a hold (the
record in ``status.manualScale`` remembers which value was seen), so an expired override is not
re-applied on every tick or after a restart. Removing ``spec.replicas`` ends the hold at once.

During a precision swap replicas are never lowered: the rollout needs its capacity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from governor.actuate.swap.journal import Note
from governor.kube.client import KubeObject
from governor.model import Decision, Precision, ServiceSpec
from governor.model.events import EventReason, EventType
from governor.model.times import iso, parse_iso

DEFAULT_HOLD_SECONDS: Final = 900.0


@dataclass(frozen=True)
class ManualScale:
    """A ``spec.replicas`` value seen, and until when it overrides the policy (``status.manualScale``)."""

    replicas: int
    since: float
    until: float
    released: bool = False  # the hold ended and that was reported

    def active(self, now: float) -> bool:
        return not self.released and now < self.until

    def to_dict(self) -> KubeObject:
        return {
            "replicas": self.replicas,
            "since": iso(self.since),
            "until": iso(self.until),
            "released": self.released,
        }

    @classmethod
    def from_dict(cls, data: object) -> ManualScale | None:
        if not isinstance(data, Mapping) or data.get("replicas") is None:
            return None
        since, until = parse_iso(data.get("since")), parse_iso(data.get("until"))
        if since is None or until is None:
            return None
        return cls(int(data["replicas"]), since, until, bool(data.get("released", False)))


@dataclass(frozen=True)
class ScalePlan:
    target: int | None  # replicas to ask of the workload; None: leave them as they are
    manual: ManualScale | None  # the record to persist
    reasons: tuple[str, ...]
    notes: tuple[Note, ...] = ()


def hold_seconds(spec: ServiceSpec, default: float = DEFAULT_HOLD_SECONDS) -> float:
    """The service's manual hold: its annotation's (bounded by the parser), else ``default``."""
    hold = spec.hints.manual_hold_seconds
    return default if hold is None else hold


def clamp(spec: ServiceSpec, replicas: int) -> int:
    return max(spec.min_replicas, min(spec.max_replicas, replicas))


def track_manual(
    spec: ServiceSpec, previous: ManualScale | None, now: float, hold: float
) -> tuple[ManualScale | None, tuple[Note, ...]]:
    """The manual-scale record after seeing ``spec.replicas`` now, and what to announce."""
    if spec.replicas is None:
        if previous is not None and previous.active(now):
            return None, (
                Note(
                    EventType.NORMAL,
                    EventReason.MANUAL_SCALE_RELEASED,
                    "spec.replicas removed: the policy decides again",
                ),
            )
        return None, ()
    if previous is None or previous.replicas != spec.replicas:
        record = ManualScale(spec.replicas, now, now + hold)
        wanted = clamp(spec, spec.replicas)
        bounded = (
            "" if wanted == spec.replicas else f" (kept within [{spec.min_replicas}, {spec.max_replicas}]: {wanted})"
        )
        message = f"manual scale to {spec.replicas}{bounded}; replica decisions paused until {iso(record.until)}"
        return record, (Note(EventType.NORMAL, EventReason.MANUAL_SCALE, message),)
    if not previous.released and now >= previous.until:
        message = f"manual scale to {previous.replicas} expired after {hold:.0f}s; the policy decides again"
        return ManualScale(previous.replicas, previous.since, previous.until, True), (
            Note(EventType.NORMAL, EventReason.MANUAL_SCALE_EXPIRED, message),
        )
    return previous, ()


def plan_scale(
    spec: ServiceSpec,
    decision: Decision | None,
    current: int,
    previous: ManualScale | None,
    swapping: bool,
    now: float,
    hold: float,
) -> ScalePlan:
    manual, notes = track_manual(spec, previous, now, hold)
    if manual is not None and manual.active(now):
        target = clamp(spec, manual.replicas)
        reasons: tuple[str, ...] = (f"manual scale (spec.replicas={manual.replicas}) holds until {iso(manual.until)}",)
    elif decision is not None:
        target = clamp(spec, decision.replicas)
        reasons = decision.reasons
    else:
        return ScalePlan(None, manual, (), notes)
    if target == current:
        return ScalePlan(None, manual, reasons, notes)
    if swapping and target < current:
        return ScalePlan(None, manual, ("no scale-down during a precision swap", *reasons), notes)
    return ScalePlan(target, manual, reasons, notes)


def would_do(
    previous: KubeObject,
    current: int,
    target: int | None,
    reasons: tuple[str, ...],
    served: Precision,
    wanted: Precision,
) -> tuple[KubeObject | None, tuple[Note, ...]]:
    """Observe-only: ``status.wouldScale`` after this tick, and an Event for each value new in it."""
    would, notes = dict(previous), []
    if target is not None:
        would.update(replicas=target, reasons=list(reasons))
        if previous.get("replicas") != target:
            message = f"observe only: would scale {current} → {target}: {'; '.join(reasons)}"
            notes.append(Note(EventType.NORMAL, EventReason.WOULD_SCALE, message))
    else:
        would.pop("replicas", None)
        would.pop("reasons", None)
    if wanted != served:
        if previous.get("precision") != wanted.value:
            notes.append(
                Note(
                    EventType.NORMAL, EventReason.WOULD_SWAP_PRECISION, f"observe only: would swap {served} → {wanted}"
                )
            )
        would["precision"] = wanted.value
    else:
        would.pop("precision", None)
    return would or None, tuple(notes)
