"""The swap state machine's pure steps, as tables: (phase, what the cluster shows) → (next phase, actions)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from governor.actuate.swap.inplace_plan import PodView, batch_size, in_place_step, record_results, reverting_actions
from governor.actuate.swap.journal import (
    SURGE_ROLLING_UPDATE,
    ActionKind,
    QuarantineEntry,
    SwapPhase,
    SwapRecord,
    SwapStrategy,
    parse_quarantine,
    quarantined,
)
from governor.actuate.swap.rollout import RolloutView, choose_strategy, rolling_back, rolling_forward
from governor.model import Precision

OLD = {"name": "server", "image": "server:bf16"}
NEW = {"name": "server", "image": "server:fp8"}
T = 1000.0
TIMEOUT = 120.0


def record(phase: SwapPhase, strategy: SwapStrategy = SwapStrategy.SURGE, **changes: object) -> SwapRecord:
    base = SwapRecord(
        phase,
        Precision.BF16,
        Precision.FP8,
        strategy,
        T,
        T,
        T + TIMEOUT,
        previous_container=OLD,
        previous_rolling_update={"maxSurge": "25%", "maxUnavailable": "25%"},
    )
    return replace(base, **changes)


def view(
    container: dict,
    *,
    gen: int = 2,
    observed: int = 2,
    updated: int = 3,
    available: int = 3,
    total: int = 3,
    failed: bool = False,
) -> RolloutView:
    return RolloutView(gen, observed, 3, total, updated, available, failed, container, SURGE_ROLLING_UPDATE)


# (name, phase, view, now, expected phase, expected action kinds, expected event reasons)
ROLLING_TABLE = [
    (
        "template not written yet",
        SwapPhase.ROLLING,
        view(OLD),
        T + 1,
        SwapPhase.ROLLING,
        [ActionKind.PATCH_TEMPLATE],
        [],
    ),
    ("controller has not seen it", SwapPhase.ROLLING, view(NEW, observed=1), T + 1, SwapPhase.ROLLING, [], []),
    ("rolling: 1 of 3 updated", SwapPhase.ROLLING, view(NEW, updated=1, total=4), T + 1, SwapPhase.ROLLING, [], []),
    ("old pod still terminating", SwapPhase.ROLLING, view(NEW, total=4), T + 1, SwapPhase.ROLLING, [], []),
    (
        "rolled out",
        SwapPhase.ROLLING,
        view(NEW),
        T + 1,
        SwapPhase.SUCCEEDED,
        [ActionKind.RESTORE_STRATEGY],
        ["PrecisionSwapped"],
    ),
    (
        "deadline exceeded",
        SwapPhase.ROLLING,
        view(NEW, updated=1, failed=True),
        T + 1,
        SwapPhase.ROLLING_BACK,
        [],
        ["PrecisionSwapFailed"],
    ),
    (
        "stale failure of an older generation",
        SwapPhase.ROLLING,
        view(NEW, observed=1, failed=True),
        T + 1,
        SwapPhase.ROLLING,
        [],
        [],
    ),
    (
        "swap timeout",
        SwapPhase.ROLLING,
        view(NEW, updated=1),
        T + TIMEOUT + 1,
        SwapPhase.ROLLING_BACK,
        [],
        ["PrecisionSwapFailed"],
    ),
    (
        "template never written in time",
        SwapPhase.ROLLING,
        view(OLD),
        T + TIMEOUT + 1,
        SwapPhase.ROLLING_BACK,
        [],
        ["PrecisionSwapFailed"],
    ),
    (
        "finalizing rolled out",
        SwapPhase.FINALIZING,
        view(NEW),
        T + 1,
        SwapPhase.SUCCEEDED,
        [ActionKind.RESTORE_STRATEGY],
        ["PrecisionSwapped"],
    ),
    (
        "finalizing fails",
        SwapPhase.FINALIZING,
        view(NEW, failed=True, updated=1),
        T + 1,
        SwapPhase.REVERTING,
        [],
        ["PrecisionSwapFailed"],
    ),
]


@pytest.mark.parametrize(
    ("name", "phase", "seen", "now", "phase_after", "actions", "events"),
    ROLLING_TABLE,
    ids=[r[0] for r in ROLLING_TABLE],
)
def test_rolling_forward_table(name, phase, seen, now, phase_after, actions, events) -> None:  # type: ignore[no-untyped-def]
    step = rolling_forward(record(phase), seen, NEW, now, TIMEOUT)
    assert step.record.phase == phase_after
    assert [a.kind for a in step.actions] == actions
    assert [n.reason for n in step.notes] == events


ROLLBACK_TABLE = [
    (
        "previous template not restored yet",
        view(NEW, updated=1),
        T + 1,
        SwapPhase.ROLLING_BACK,
        [ActionKind.PATCH_TEMPLATE],
    ),
    ("restored, rolling", view(OLD, updated=2, total=4), T + 1, SwapPhase.ROLLING_BACK, []),
    ("restored and rolled out", view(OLD), T + 1, SwapPhase.FAILED, [ActionKind.RESTORE_STRATEGY]),
    (
        "restored, still rolling past the deadline",
        view(OLD, updated=2, total=4),
        T + TIMEOUT + 1,
        SwapPhase.FAILED,
        [ActionKind.RESTORE_STRATEGY],
    ),
]


@pytest.mark.parametrize(
    ("name", "seen", "now", "phase_after", "actions"), ROLLBACK_TABLE, ids=[r[0] for r in ROLLBACK_TABLE]
)
def test_rolling_back_table(name, seen, now, phase_after, actions) -> None:  # type: ignore[no-untyped-def]
    step = rolling_back(record(SwapPhase.ROLLING_BACK), seen, now, (), 3600)
    assert step.record.phase == phase_after
    assert [a.kind for a in step.actions] == actions
    if phase_after == SwapPhase.FAILED:
        assert step.quarantine is not None and quarantined(step.quarantine, Precision.FP8, now) is not None
        assert quarantined(step.quarantine, Precision.FP8, now + 3601) is None


def test_rollback_restores_exactly_the_pre_swap_container() -> None:
    step = rolling_back(record(SwapPhase.ROLLING_BACK), view(NEW), T + 1, (), 3600)
    assert step.actions[0].container == OLD


def test_rollback_uses_the_swap_strategy_and_success_restores_the_previous_one() -> None:
    back = rolling_back(record(SwapPhase.ROLLING_BACK, SwapStrategy.ONE_AT_A_TIME), view(NEW), T + 1, (), 60)
    assert back.actions[0].rolling_update == {"maxSurge": 0, "maxUnavailable": 1}
    done = rolling_forward(record(SwapPhase.ROLLING), view(NEW), NEW, T + 1, TIMEOUT)
    assert done.actions[0].rolling_update == {"maxSurge": "25%", "maxUnavailable": "25%"}


@pytest.mark.parametrize(
    ("replicas", "max_replicas", "strategy"),
    [
        (1, 4, SwapStrategy.SURGE),
        (3, 4, SwapStrategy.SURGE),
        (4, 4, SwapStrategy.ONE_AT_A_TIME),
        (5, 4, SwapStrategy.ONE_AT_A_TIME),
    ],
)
def test_strategy_at_max_replicas(replicas: int, max_replicas: int, strategy: SwapStrategy) -> None:
    assert choose_strategy(replicas, max_replicas) == strategy


@pytest.mark.parametrize(
    ("replicas", "share", "batch"), [(1, 0.25, 1), (4, 0.25, 1), (8, 0.25, 2), (10, 0.25, 2), (10, 0.5, 5), (3, 1.0, 3)]
)
def test_in_place_batch_size(replicas: int, share: float, batch: int) -> None:
    assert batch_size(replicas, share) == batch


PODS = [PodView("a", True), PodView("b", True), PodView("c", True), PodView("d", True)]


def test_in_place_starts_a_batch_and_keeps_slots_bounded() -> None:
    first = in_place_step(record(SwapPhase.IN_PLACE), PODS, T + 1, 2, 60, TIMEOUT)
    assert [a.pod for a in first.actions] == ["a", "b"]
    busy = in_place_step(first.record, PODS, T + 2, 2, 60, TIMEOUT)
    assert [a.pod for a in busy.actions] == ["a", "b"]  # still in flight: asked again for readiness, none added
    after = record_results(busy.record, ["a"], {}, T + 2, TIMEOUT)
    assert after.record.pods_done == ("a",) and [p for p, _ in after.record.in_flight] == ["b"]
    more = in_place_step(after.record, PODS, T + 3, 2, 60, TIMEOUT)
    assert [a.pod for a in more.actions] == ["b", "c"]


def test_in_place_finishes_only_when_every_ready_pod_is_done_and_none_is_starting() -> None:
    rec = record(SwapPhase.IN_PLACE, pods_done=("a", "b", "c", "d"))
    starting = in_place_step(rec, [*PODS, PodView("e", False)], T + 1, 1, 60, TIMEOUT)
    assert starting.record.phase == SwapPhase.IN_PLACE
    done = in_place_step(rec, PODS, T + 1, 1, 60, TIMEOUT)
    assert done.record.phase == SwapPhase.FINALIZING and done.record.template_patched


def test_in_place_failures_go_to_reverting() -> None:
    rec = in_place_step(record(SwapPhase.IN_PLACE), PODS, T + 1, 2, 60, TIMEOUT).record
    failed = record_results(rec, ["a"], {"b": "load failed: HTTP 500"}, T + 1, TIMEOUT)
    assert failed.record.phase == SwapPhase.REVERTING and failed.record.pods_failed == ("b",)
    assert [n.reason for n in failed.notes] == ["PrecisionSwapFailed"]
    stuck = in_place_step(rec, PODS, T + 100, 2, 60, TIMEOUT)
    assert stuck.record.phase == SwapPhase.REVERTING and set(stuck.record.pods_failed) == {"a", "b"}
    late = in_place_step(record(SwapPhase.IN_PLACE), PODS, T + TIMEOUT + 1, 2, 1000, TIMEOUT)
    assert late.record.phase == SwapPhase.REVERTING


def test_reverting_reloads_swapped_pods_and_restarts_failed_ones() -> None:
    rec = record(SwapPhase.REVERTING, pods_done=("a", "gone"), pods_failed=("b",), in_flight=(("c", T),))
    actions = reverting_actions(rec, PODS)
    assert [(a.kind, a.pod) for a in actions] == [
        (ActionKind.REVERT, "a"),
        (ActionKind.REVERT, "c"),
        (ActionKind.DELETE_POD, "b"),
    ]


def test_a_vanished_in_flight_pod_is_dropped_not_failed() -> None:
    rec = record(SwapPhase.IN_PLACE, in_flight=(("x", T),))
    step = in_place_step(rec, PODS, T + 1, 1, 60, TIMEOUT)
    assert step.record.phase == SwapPhase.IN_PLACE and [a.pod for a in step.actions] == ["a"]


@pytest.mark.parametrize("phase", list(SwapPhase))
def test_the_record_round_trips_through_status(phase: SwapPhase) -> None:
    rec = record(
        phase, pods_done=("a",), pods_failed=("b",), in_flight=(("c", T + 5),), message="why", template_patched=True
    )
    assert SwapRecord.from_dict(rec.to_dict()) == rec


@pytest.mark.parametrize("garbage", [None, {}, {"phase": "Dancing"}, {"phase": "Rolling", "from": "fp3"}, "text"])
def test_an_unreadable_record_is_no_swap(garbage: object) -> None:
    assert SwapRecord.from_dict(garbage) is None  # type: ignore[arg-type]


def test_quarantine_round_trip_and_expiry() -> None:
    entries = parse_quarantine([QuarantineEntry(Precision.INT4, T + 10, "bad").to_dict(), {"precision": "nope"}])
    assert [e.precision for e in entries] == [Precision.INT4]
    assert quarantined(entries, Precision.INT4, T) is not None and quarantined(entries, Precision.INT4, T + 11) is None


def test_a_batch_asked_by_the_decision_engine_at_max_replicas() -> None:
    assert choose_strategy(4, 4, 2) == SwapStrategy.BATCH
    assert choose_strategy(4, 4, 1) == SwapStrategy.ONE_AT_A_TIME
    assert choose_strategy(3, 4, 2) == SwapStrategy.SURGE  # below maxReplicas ready capacity never drops
    rec = record(SwapPhase.ROLLING, SwapStrategy.BATCH, max_unavailable=2)
    step = rolling_forward(rec, view(OLD), NEW, T + 1, TIMEOUT)
    assert step.actions[0].rolling_update == {"maxSurge": 0, "maxUnavailable": 2}
    assert SwapRecord.from_dict(rec.to_dict()) == rec
