"""One timestamp format: what the status, Events, swap records and alert payloads write, and its parser."""

from __future__ import annotations

import datetime
import math

from hypothesis import example, given
from hypothesis import strategies as st

from governor.model.times import iso, parse_iso

MOMENT = 1_796_454_312.577  # 2026-12-05T07:05:12.577Z


def test_whole_seconds_as_the_api_writes_them_and_milliseconds_for_receivers() -> None:
    assert iso(MOMENT) == "2026-12-05T07:05:12Z"
    assert iso(MOMENT, milliseconds=True) == "2026-12-05T07:05:12.577Z"


@given(st.floats(0, 4_102_444_800))  # 1970 … 2100
@example(1.9999995231628418)  # rounds up to the next second at microsecond precision: written as :01, not :02
def test_the_format_is_the_kubernetes_one_and_parses_back(ts: float) -> None:
    text = iso(ts)
    assert text == datetime.datetime.fromtimestamp(math.floor(ts), tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert parse_iso(text) == int(ts)


def test_nothing_or_garbage_parses_to_none() -> None:
    assert parse_iso(None) is None and parse_iso("") is None and parse_iso("yesterday") is None
    assert parse_iso("2026-12-05T07:05:12+01:00") == parse_iso("2026-12-05T06:05:12Z")
