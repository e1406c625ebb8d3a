"""Retries of a Kubernetes write that met a concurrent writer (HTTP 409 Conflict), written once.

A write computed from a read carries that read's ``metadata.resourceVersion`` as a precondition; when
someone else wrote in between, the API answers 409 and the write must be recomputed from a fresh read
and tried again. ``retry_conflicts`` runs such an operation a few times with a short, growing pause;
any other error, or a conflict on the last attempt, goes to the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from governor.kube.client import ApiError

logger = logging.getLogger(__name__)
T = TypeVar("T")
CONFLICT_ATTEMPTS: Final = 6


async def retry_conflicts(operation: Callable[[], Awaitable[T]], what: str, attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run ``operation`` (which must read afresh each time) until it does not hit HTTP 409."""
    for attempt in range(1, attempts + 1):
        try:
            return await operation()
        except ApiError as exc:
            if not exc.conflict or attempt == attempts:
                raise
            logger.info("%s: conflict (attempt %d/%d), retrying with a fresh read", what, attempt, attempts)
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
