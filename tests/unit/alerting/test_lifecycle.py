"""Lifecycle: pending → firing → resolved, episodes, acknowledgements; stable fingerprints."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from governor.alerting.lifecycle import advance
from governor.alerting.types import Condition, Delivery, Event, Phase, Severity, fingerprint, frozen_labels

T = 1_000_000.0
LABELS = {"alertname": "GPUSaturated", "namespace": "ml", "service": "chat", "severity": "warning"}


def cond(active: bool, for_seconds: float = 60.0, summary: str = "hot") -> Condition:
    return Condition("GPUSaturated", active, Severity.WARNING, frozen_labels(LABELS),
                     frozen_labels({"summary": summary}), for_seconds)  # fmt: skip


def test_pending_until_for_elapses_then_firing() -> None:
    (r,) = advance((), [cond(True)], T)
    assert (r.phase, r.seq, r.event) == (Phase.PENDING, 0, None)
    (r,) = advance([r], [cond(True)], T + 59)
    assert r.phase == Phase.PENDING
    (r,) = advance([r], [cond(True)], T + 60)
    assert (r.phase, r.seq, r.event, r.fired_at) == (Phase.FIRING, 1, Event.FIRING, T + 60)
    assert r.active_since == T


def test_zero_for_fires_at_once() -> None:
    (r,) = advance((), [cond(True, for_seconds=0)], T)
    assert r.phase == Phase.FIRING and r.seq == 1


def test_pending_that_clears_is_dropped_without_notice() -> None:
    (r,) = advance((), [cond(True)], T)
    assert advance([r], [cond(False)], T + 10) == ()


def test_firing_that_clears_resolves() -> None:
    (r,) = advance((), [cond(True, 0)], T)
    (r,) = advance([r], [cond(False)], T + 30)
    assert (r.phase, r.seq, r.event, r.resolved_at) == (Phase.RESOLVED, 2, Event.RESOLVED, T + 30)
    (again,) = advance([r], [cond(False)], T + 40)
    assert again == r


def test_refire_is_a_new_episode_keeping_an_owed_resolve() -> None:
    (r,) = advance((), [cond(True, 0)], T)
    (r,) = advance([r], [cond(False)], T + 30)
    (p,) = advance([r], [cond(True, 60)], T + 40)
    assert (p.phase, p.seq, p.event) == (Phase.PENDING, 2, Event.RESOLVED)  # the resolve is still owed
    (back,) = advance([p], [cond(False)], T + 50)
    assert back.phase == Phase.RESOLVED and back.seq == 2
    (f,) = advance([p], [cond(True, 60)], T + 100)
    assert (f.phase, f.seq, f.event, f.active_since) == (Phase.FIRING, 3, Event.FIRING, T + 40)


def test_a_record_without_condition_resolves() -> None:
    (r,) = advance((), [cond(True, 0)], T)
    (r,) = advance([r], [], T + 5)  # e.g. the rule was disabled
    assert r.phase == Phase.RESOLVED


def test_annotations_follow_the_condition_while_active() -> None:
    (r,) = advance((), [cond(True, 0, "first")], T)
    (r,) = advance([r], [cond(True, 0, "second")], T + 10)
    assert r.annotations["summary"] == "second" and r.seq == 1
    (r,) = advance([r], [cond(False, 0, "cleared")], T + 20)
    assert r.annotations["summary"] == "second"


def test_acks_merge_newest_only_and_never_from_the_future() -> None:
    (r,) = advance((), [cond(True, 0)], T)
    fp = r.fingerprint
    (r,) = advance([r], [cond(True, 0)], T + 1, {fp: {"slack": Delivery(1, 2, T + 1)}})
    assert r.deliveries["slack"] == Delivery(1, 2, T + 1)
    (r,) = advance([r], [cond(True, 0)], T + 2, {fp: {"slack": Delivery(1, 0, T + 2), "pd": Delivery(7, 0, T)}})
    assert r.deliveries["slack"] == Delivery(1, 2, T + 1)
    assert "pd" not in r.deliveries


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), min_size=1, max_size=6))
def test_fingerprint_ignores_label_order(labels: dict[str, str]) -> None:
    reordered = dict(reversed(list(labels.items())))
    assert fingerprint(labels) == fingerprint(reordered) == fingerprint(MappingProxyType(labels))


def test_fingerprint_distinguishes_label_boundaries() -> None:
    assert fingerprint({"a": "bc"}) != fingerprint({"ab": "c"})
    assert fingerprint({"a": "b", "c": ""}) != fingerprint({"a": "b"})
    assert len(fingerprint(LABELS)) == 16 and int(fingerprint(LABELS), 16) >= 0


def test_fingerprint_is_the_same_in_another_process() -> None:
    import subprocess
    import sys

    code = f"from governor.alerting.types import fingerprint; print(fingerprint({LABELS!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == fingerprint(LABELS)
