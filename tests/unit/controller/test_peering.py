"""Which replica acts: Kopf's peering rule over the ClusterKopfPeering status, plus a live own record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from governor.controller.peering import Peering, standing
from governor.settings import OperatorSettings

NOW = 1_800_000_000.0
ME = Peering(name="governor", identity="me", priority=100, lifetime_seconds=30)


def record(priority: int, seen_ago: float = 1.0, lifetime: int = 30) -> dict[str, Any]:
    """A keep-alive record as Kopf writes it (``lastseen`` is an ISO time with its zone)."""
    lastseen = datetime.fromtimestamp(NOW - seen_ago, UTC).isoformat()
    return {"priority": priority, "lifetime": lifetime, "lastseen": lastseen}


@pytest.mark.parametrize(
    ("records", "active", "outranked"),
    [
        ({"me": record(100)}, True, 0),
        ({"me": record(100), "low": record(50)}, True, 1),
        ({"me": record(100), "high": record(200)}, False, 0),
        ({"me": record(100), "twin": record(100)}, False, 0),  # same priority: Kopf pauses both
        ({"me": record(100), "high": record(200, seen_ago=31)}, True, 0),  # expired: presumed dead
        ({"me": record(100), "high": record(200, lifetime=0)}, True, 0),  # said goodbye
        ({"me": record(100), "high": {"priority": 200}}, False, 0),  # no lastseen: Kopf reads it as now
        ({"me": record(100), "odd": {"priority": "x"}, "odd2": "garbage"}, True, 0),  # unreadable: ignored
        ({"high": record(200)}, False, 0),  # not (yet) recorded itself
        ({"me": record(100, seen_ago=31)}, False, 0),  # own record expired: peers presume it dead
        ({}, False, 0),
    ],
)
def test_only_the_live_replica_with_the_highest_priority_acts(
    records: dict[str, Any], active: bool, outranked: int
) -> None:
    result = standing(records, ME, NOW)
    assert (result.active, result.outranked) == (active, outranked), result.reason


def test_the_reason_names_the_replica_that_acts_instead() -> None:
    result = standing({"me": record(100), "pod-b/7/abc": record(300)}, ME, NOW)
    assert "pod-b/7/abc (priority 300)" in result.reason


def test_standalone_has_no_peering_and_a_pinned_priority_is_kept() -> None:
    assert Peering.from_settings(OperatorSettings()) is None
    pinned = Peering.from_settings(OperatorSettings(peering="governor", peering_priority=7))
    assert pinned is not None and pinned.priority == 7 and pinned.lifetime_seconds == 30
    drawn = Peering.from_settings(OperatorSettings(peering="governor"))
    assert drawn is not None and 0 <= drawn.priority <= 32767
    assert drawn.identity != pinned.identity  # unique per start, even on one host
    assert drawn.path == "/apis/kopf.dev/v1/clusterkopfpeerings/governor"
