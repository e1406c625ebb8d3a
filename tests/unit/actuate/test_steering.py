"""The pure steering of a running rolling swap: adopting a bigger batch, and when a swap may be cancelled."""

from __future__ import annotations

import pytest

from governor.actuate.actuator import safe_batch
from governor.actuate.swap.journal import ActionKind, SwapPhase, SwapRecord, SwapStrategy, rolling_update_for
from governor.actuate.swap.rollout import RolloutView, adopt_batch, cancel_step, cancellable, pods_out, rolling_forward
from governor.model import Precision

OLD = {"name": "server", "image": "server:bf16"}
NEW = {"name": "server", "image": "server:fp8"}
T = 1000.0
SURGE = {"maxSurge": 1, "maxUnavailable": 0}


def record(strategy: SwapStrategy, max_unavailable: int = 1, phase: SwapPhase = SwapPhase.ROLLING) -> SwapRecord:
    return SwapRecord(
        phase,
        Precision.BF16,
        Precision.INT4,
        strategy,
        T,
        T,
        T + 900,
        previous_container=OLD,
        previous_rolling_update={"maxSurge": "25%", "maxUnavailable": "25%"},
        template_patched=True,
        max_unavailable=max_unavailable,
    )


def view(container: dict, *, replicas: int = 6, total: int = 6, updated: int = 0, available: int = 6) -> RolloutView:
    return RolloutView(3, 3, replicas, total, updated, available, False, container, SURGE)


@pytest.mark.parametrize(
    ("strategy", "held", "replicas", "asked", "expected"),
    [
        (SwapStrategy.SURGE, 1, 8, 4, (SwapStrategy.BATCH, 4)),  # at max and short: switch
        (SwapStrategy.SURGE, 1, 8, 1, (SwapStrategy.ONE_AT_A_TIME, 1)),
        (SwapStrategy.ONE_AT_A_TIME, 1, 8, 3, (SwapStrategy.BATCH, 3)),
        (SwapStrategy.BATCH, 2, 8, 4, (SwapStrategy.BATCH, 4)),  # a bigger batch
        (SwapStrategy.BATCH, 4, 8, 2, None),  # never shrinks below what is out
        (SwapStrategy.BATCH, 4, 8, 4, None),  # already so: idempotent
        (SwapStrategy.ONE_AT_A_TIME, 1, 8, None, None),  # the engine asks for no batch
        (SwapStrategy.SURGE, 1, 7, 4, None),  # below maxReplicas: the surge goes on
    ],
)
def test_a_rolling_swap_adopts_a_bigger_batch_only_at_max_replicas(
    strategy: SwapStrategy, held: int, replicas: int, asked: int | None, expected: tuple | None
) -> None:
    switched = adopt_batch(record(strategy, held), replicas, 8, asked, T + 5)
    if expected is None:
        assert switched is None
    else:
        assert switched is not None and (switched.strategy, switched.max_unavailable) == expected
        assert "at maxReplicas" in switched.message and switched.phase == SwapPhase.ROLLING
        assert switched.started_at == T and pods_out(switched) == expected[1]


def test_the_adopted_batch_survives_the_status_round_trip() -> None:
    switched = adopt_batch(record(SwapStrategy.SURGE), 8, 8, safe_batch(4, 8), T + 5)
    assert switched is not None and SwapRecord.from_dict(switched.to_dict()) == switched


def test_only_a_rolling_phase_adopts_a_batch() -> None:
    for phase in (SwapPhase.ROLLING_BACK, SwapPhase.FINALIZING, SwapPhase.IN_PLACE):
        assert adopt_batch(record(SwapStrategy.SURGE, phase=phase), 8, 8, 4, T) is None


def test_rolling_forward_brings_the_deployment_to_the_records_strategy() -> None:
    batch = record(SwapStrategy.BATCH, 3)
    step = rolling_forward(batch, view(NEW, total=7, updated=1, available=6), NEW, T + 5, 900)
    assert [(a.kind, a.rolling_update) for a in step.actions] == [
        (ActionKind.SET_STRATEGY, rolling_update_for(SwapStrategy.BATCH, 3))
    ]
    surge = rolling_forward(record(SwapStrategy.SURGE), view(NEW, total=7, updated=1), NEW, T + 5, 900)
    assert surge.actions == ()  # the Deployment already has it


@pytest.mark.parametrize(
    ("name", "seen", "expected"),
    [
        ("template not written", view(OLD), True),
        ("controller saw it, no new pod", view(NEW), True),
        ("surge pod starting", view(NEW, total=7, updated=1, available=6), True),
        ("surge pod ready", view(NEW, total=7, updated=1, available=7), False),
        ("an old pod gone", view(NEW, total=6, updated=1, available=5), False),
        ("one old pod out (maxUnavailable)", view(NEW, total=5, updated=0, available=5), False),
        ("half rolled", view(NEW, total=6, updated=3, available=6), False),
    ],
)
def test_a_swap_is_cancellable_only_before_any_pod_moved(name: str, seen: RolloutView, expected: bool) -> None:
    assert cancellable(record(SwapStrategy.SURGE), seen, NEW) is expected


def test_cancelling_writes_back_the_previous_container_and_strategy() -> None:
    rec = record(SwapStrategy.SURGE)
    step = cancel_step(rec, T + 3, "crowd gone")
    assert [(a.kind, a.container, a.rolling_update) for a in step.actions] == [
        (ActionKind.PATCH_TEMPLATE, OLD, rec.previous_rolling_update)
    ]
    assert [n.reason for n in step.notes] == ["PrecisionSwapCancelled"] and "crowd gone" in step.notes[0].message
    assert not cancellable(record(SwapStrategy.SURGE, phase=SwapPhase.ROLLING_BACK), view(OLD), NEW)
