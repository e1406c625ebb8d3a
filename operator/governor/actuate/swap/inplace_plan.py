"""In-place precision swaps, planned purely: which pods reload now, which are done, which failed.

At most ``ceil``-free ``max(1, floor(replicas × inPlaceMaxUnavailable))`` pods are out of service
(reloading) at once. A pod enters ``inFlight`` (persisted before it is asked to load), leaves it for
``podsDone`` once its server reports the new version ready, and fails when loading errors or does
not become ready within the per-pod timeout. Pods that appear during the swap (scale-up, a
restart) start from the old template, so they are simply more pods to swap. When every ready pod
is done and none is starting, the phase moves to ``Finalizing`` (the template follows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from governor.actuate.swap.journal import Action, ActionKind, Step, SwapPhase, SwapRecord, fail
from governor.kube.client import KubeObject


@dataclass(frozen=True)
class PodView:
    name: str
    ready: bool
    terminating: bool = False


def pod_view(pod: KubeObject) -> PodView:
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    ready = status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
    )
    return PodView(str(meta.get("name")), ready, bool(meta.get("deletionTimestamp")))


def batch_size(replicas: int, max_unavailable: float) -> int:
    """Pods reloading at once: the share of replicas, rounded down, at least one."""
    return max(1, math.floor(max(replicas, 1) * max_unavailable + 1e-9))


def in_place_step(
    record: SwapRecord, pods: Sequence[PodView], now: float, batch: int, pod_timeout: float, timeout: float
) -> Step:
    """One ``InPlace`` step before any HTTP call: drop vanished pods, time out stuck ones, start a batch."""
    live = {p.name: p for p in pods if not p.terminating}
    in_flight = tuple((name, since) for name, since in record.in_flight if name in live)
    stuck = [name for name, since in in_flight if now - since > pod_timeout]
    if stuck:
        failed = replace(record, in_flight=in_flight, pods_failed=(*record.pods_failed, *stuck))
        return fail(failed, now, f"pod {stuck[0]} did not report the new version ready in {pod_timeout:.0f}s", timeout)
    if now > record.deadline:
        return fail(replace(record, in_flight=in_flight), now, f"not every pod swapped within {timeout:.0f}s", timeout)
    busy = {name for name, _ in in_flight}
    settled = set(record.pods_done) | set(record.pods_failed) | busy
    pending = sorted(p.name for p in live.values() if p.ready and p.name not in settled)
    starting = [name for name in pending[: max(0, batch - len(in_flight))]]
    in_flight = (*in_flight, *((name, now) for name in starting))
    record = replace(record, in_flight=in_flight)
    if not in_flight and not pending and all(p.ready and p.name in record.pods_done for p in live.values()):
        return Step(record.to(SwapPhase.FINALIZING, now, now + timeout, template_patched=True))
    return Step(record, actions=tuple(Action(ActionKind.LOAD, pod=name) for name, _ in in_flight))


def record_results(
    record: SwapRecord, ready: Sequence[str], failed: Mapping[str, str], now: float, timeout: float
) -> Step:
    """Fold the HTTP outcome of one step in: ready pods are done; any failure fails the swap."""
    done = (*record.pods_done, *(p for p in ready if p not in record.pods_done))
    in_flight = tuple((p, s) for p, s in record.in_flight if p not in ready and p not in failed)
    record = replace(record, pods_done=done, in_flight=in_flight)
    if failed:
        pod, why = next(iter(sorted(failed.items())))
        record = replace(record, pods_failed=(*record.pods_failed, *sorted(failed)))
        return fail(record, now, f"pod {pod}: {why}", timeout)
    return Step(record)


def reverting_actions(record: SwapRecord, pods: Sequence[PodView]) -> tuple[Action, ...]:
    """Undo an in-place swap: swapped (or half-swapped) pods load the previous version; failed pods restart."""
    live = {p.name for p in pods if not p.terminating}
    swapped = [p for p in (*record.pods_done, *(name for name, _ in record.in_flight)) if p in live]
    failed = [p for p in record.pods_failed if p in live]
    return (
        *(Action(ActionKind.REVERT, pod=p) for p in swapped if p not in failed),
        *(Action(ActionKind.DELETE_POD, pod=p) for p in failed),
    )
