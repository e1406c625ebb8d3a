"""Timestamps as Governor writes them: RFC 3339 in UTC with a ``Z``, one formatter and one parser for every layer.

Status fields, Events and swap records use whole seconds, as the Kubernetes API does; alert payloads use
milliseconds (what Alertmanager and PagerDuty accept).
"""

from __future__ import annotations

import datetime
import math
import time
from typing import Any


def iso(ts: float, *, milliseconds: bool = False) -> str:
    """Unix seconds → ``2026-12-05T07:05:12Z`` (``…:12.577Z`` with ``milliseconds``), truncated, never rounded
    up: a moment half a microsecond before a second is still written as the second before."""
    scale = 1000 if milliseconds else 1
    moment = datetime.datetime.fromtimestamp(math.floor(ts * scale) / scale, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds" if milliseconds else "seconds").replace("+00:00", "Z")


def now_iso() -> str:
    """The wall clock now, as ``iso`` writes it."""
    return iso(time.time())


def parse_iso(text: Any) -> float | None:
    """Unix seconds of an RFC 3339 timestamp (``Z`` or an offset); ``None`` for nothing or not a timestamp."""
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
