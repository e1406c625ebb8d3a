"""set_condition follows the Kubernetes conventions: one entry per type, transition time only on a flip."""

from __future__ import annotations

import pytest

from governor.model.conditions import (
    INVALID,
    READY,
    SLO_MET,
    find_condition,
    is_true,
    remove_condition,
    set_condition,
)

T0, T1, T2 = "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"


def test_new_condition_gets_now_as_transition_time() -> None:
    conditions = set_condition([], READY, True, "Reconciled", "all good", T0, observed_generation=2)
    assert conditions == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Reconciled",
            "message": "all good",
            "lastTransitionTime": T0,
            "observedGeneration": 2,
        }
    ]


def test_same_status_keeps_transition_time_but_updates_the_rest() -> None:
    first = set_condition([], READY, "True", "Reconciled", "a", T0, 1)
    second = set_condition(first, READY, "True", "Scaled", "b", T1, 2)
    assert second[0]["lastTransitionTime"] == T0
    assert (second[0]["reason"], second[0]["message"], second[0]["observedGeneration"]) == ("Scaled", "b", 2)


def test_flip_moves_transition_time() -> None:
    first = set_condition([], READY, True, "Reconciled", "a", T0)
    flipped = set_condition(first, READY, False, "WorkloadMissing", "b", T1)
    back = set_condition(flipped, READY, True, "Reconciled", "c", T2)
    assert [c["lastTransitionTime"] for c in (first[0], flipped[0], back[0])] == [T0, T1, T2]


def test_one_entry_per_type_in_a_stable_order_and_input_untouched() -> None:
    start = [{"type": "Custom", "status": "True", "reason": "X", "message": "", "lastTransitionTime": T0}]
    conditions = set_condition(start, INVALID, False, "Valid", "", T0)
    conditions = set_condition(conditions, READY, True, "Reconciled", "", T0)
    conditions = set_condition(conditions, READY, False, "Failing", "", T1)
    assert [c["type"] for c in conditions] == ["Ready", "Invalid", "Custom"]
    assert len(start) == 1 and start[0]["type"] == "Custom"
    assert is_true(conditions, "Custom") and not is_true(conditions, READY) and not is_true(conditions, SLO_MET)
    found = find_condition(conditions, READY)
    assert found is not None and found["reason"] == "Failing"
    assert [c["type"] for c in remove_condition(conditions, INVALID)] == ["Ready", "Custom"]


@pytest.mark.parametrize(("status", "reason"), [("Yes", "Reconciled"), ("True", "not camel"), ("True", "")])
def test_bad_status_or_reason_is_rejected(status: str, reason: str) -> None:
    with pytest.raises(ValueError, match="condition"):
        set_condition([], READY, status, reason, "", T0)
