"""The async delivery queue: one lane per receiver, retried until delivered, bounded in memory.

Each receiver gets its own lane and worker task, so one receiver's outage never delays
another. A lane holds at most one notification per alert — a newer transition supersedes
an older one still queued — and sends due notifications of one group together. A failed
send pauses the whole lane (exponential backoff with jitter, or the receiver's
``Retry-After`` on 429); any other 4xx is not retried. The backoff is capped at
``RETRY_CAP_SECONDS``, so the first delivery after an outage comes at most that long after
the receiver is back (see there for why a cap, not a probe). Delivered versions are
remembered in a ledger that the engine folds into the alert records, which is how the CR status
learns what each receiver has acknowledged. When the global bound is reached, new
notifications are refused (counted and logged): they stay owed in the status and are
offered again on a later tick, so the bound costs delay, not loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

from governor.alerting.loader import ResolvedReceiver
from governor.alerting.pacing import TokenBucket, backoff_delay
from governor.alerting.senders import DeliveryOutcome, SendResult, batch_size, send
from governor.alerting.types import Delivery, Notification

logger = logging.getLogger(__name__)
DROP_LOG_INTERVAL = 60.0

RETRY_CAP_SECONDS = 5.0
"""Longest backoff between two attempts of a lane with notifications waiting.

Equal jitter puts a capped wait in [2.5 s, 5 s]: at most 24 requests a minute to a receiver
that is down, each carrying what it is owed (a refused connection costs what a TCP probe would
cost, and a probe could not tell a receiver answering 5xx from a healthy one), and a receiver
that comes back gets its first notification within 5 s — Prometheus' remote write caps its
retries at the same 5 s (``max_backoff``). A receiver that wants fewer requests says so with
``Retry-After``, which is honoured up to an hour.
"""


class ReceiverSource(Protocol):
    def receiver(self, name: str) -> ResolvedReceiver | None: ...


@dataclass
class _Item:
    note: Notification
    ready_at: float


@dataclass
class _Lane:
    name: str
    bucket: TokenBucket
    items: OrderedDict[str, _Item] = field(default_factory=OrderedDict)  # fingerprint → item
    failures: int = 0
    paused_until: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter(
            "governor_alert_notifications",
            "Alert notification attempts by receiver and outcome (delivered, retry, rejected).",
            ["receiver", "outcome"],
            registry=registry,
        )
        self.dropped = Counter(
            "governor_alert_queue_dropped",
            "Notifications refused because the delivery queue was full (offered again later from status).",
            ["receiver"],
            registry=registry,
        )
        self.depth = Gauge("governor_alert_queue_depth", "Notifications waiting for delivery.", registry=registry)


class Notifier:
    """Deliver notifications in the background; ``submit`` never blocks and never raises."""

    def __init__(
        self,
        receivers: ReceiverSource,
        *,
        queue_limit: int = 10000,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
        draw: Callable[[], float] = random.random,
        base_delay: float = 1.0,
        max_delay: float = RETRY_CAP_SECONDS,
    ) -> None:
        self.receivers = receivers
        self.queue_limit = queue_limit
        self.clock = clock
        self.draw = draw
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.metrics = _Metrics(registry if registry is not None else REGISTRY)
        self._lanes: dict[str, _Lane] = {}
        self._ledger: OrderedDict[str, dict[str, Delivery]] = OrderedDict()  # fingerprint → receiver → ack
        self._ledger_limit = max(4 * queue_limit, 1000)
        self._session: aiohttp.ClientSession | None = None
        self._last_drop_log = float("-inf")
        self._dropped_since_log = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        for lane in self._lanes.values():
            self._ensure_task(lane)

    async def stop(self) -> None:
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for lane in self._lanes.values():
            lane.task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- what the engine calls ----------------------------------------------------------------
    @property
    def queued(self) -> int:
        return sum(len(lane.items) for lane in self._lanes.values())

    def acknowledged(self, fingerprint: str) -> Mapping[str, Delivery]:
        """Receiver → newest delivered version of this alert, as seen by this process."""
        return dict(self._ledger.get(fingerprint, {}))

    def forget(self, fingerprints: Iterable[str]) -> None:
        """Drop ledger entries of alerts no longer in any status (keeps the ledger small)."""
        for fp in fingerprints:
            self._ledger.pop(fp, None)

    def submit(self, notes: Iterable[Notification]) -> int:
        """Queue what is not delivered or queued yet; returns how many were newly queued."""
        accepted = 0
        now = self.clock()
        for note in notes:
            done = self._ledger.get(note.fingerprint, {}).get(note.receiver)
            if done is not None and done.version >= note.version:
                continue
            accepted += self._enqueue(note, now)
        self._update_depth()
        return accepted

    async def wait_idle(self) -> None:
        """Wait until nothing is queued (tests, shutdown); bound it with ``asyncio.timeout``."""
        await self._idle.wait()

    def _update_depth(self) -> None:
        depth = self.queued
        self.metrics.depth.set(depth)
        if depth:
            self._idle.clear()
        else:
            self._idle.set()

    # ---- queueing -------------------------------------------------------------------------------
    def _lane(self, name: str) -> _Lane:
        lane = self._lanes.get(name)
        if lane is None:
            receiver = self.receivers.receiver(name)
            limit = receiver.config.rate_limit if receiver is not None else None
            bucket = TokenBucket(limit.per_second if limit else 5.0, limit.burst if limit else 10, self.clock())
            lane = self._lanes[name] = _Lane(name, bucket)
            if self._session is not None:
                self._ensure_task(lane)
        return lane

    def _ensure_task(self, lane: _Lane) -> None:
        if lane.task is None or lane.task.done():
            lane.task = asyncio.get_running_loop().create_task(self._run(lane), name=f"alert-lane-{lane.name}")

    def _enqueue(self, note: Notification, now: float) -> int:
        lane = self._lane(note.receiver)
        queued = lane.items.get(note.fingerprint)
        if queued is not None and queued.note.version >= note.version:
            return 0
        receiver = self.receivers.receiver(note.receiver)
        wait = receiver.config.group_wait if receiver is not None and note.repeat == 0 else 0.0
        ready = now + wait if queued is None else min(queued.ready_at, now + wait)
        if queued is None and self.queued >= self.queue_limit:
            self._dropped(note, now)
            return 0
        lane.items[note.fingerprint] = _Item(note, ready)
        lane.wake.set()
        return 1

    def _dropped(self, note: Notification, now: float) -> None:
        self.metrics.dropped.labels(note.receiver).inc()
        self._dropped_since_log += 1
        if now - self._last_drop_log >= DROP_LOG_INTERVAL:
            logger.warning(
                "alert delivery queue full (%d notifications, limit %d): refused %d, they stay owed in status "
                "and are offered again later",
                self.queued,
                self.queue_limit,
                self._dropped_since_log,
            )
            self._last_drop_log = now
            self._dropped_since_log = 0

    # ---- the worker -----------------------------------------------------------------------------
    def _next_batch(self, lane: _Lane, now: float) -> tuple[list[_Item], float | None]:
        """Due items of the earliest group, or ([], seconds until something is due / None)."""
        if not lane.items:
            return [], None
        if lane.paused_until > now:
            return [], lane.paused_until - now
        first = min(lane.items.values(), key=lambda i: i.ready_at)
        if first.ready_at > now:
            return [], first.ready_at - now
        receiver = self.receivers.receiver(lane.name)
        size = batch_size(receiver.config.kind) if receiver is not None else 1
        group = [i for i in lane.items.values() if i.note.group_key == first.note.group_key and i.ready_at <= now]
        return group[:size], 0.0

    async def _run(self, lane: _Lane) -> None:
        while True:
            now = self.clock()
            batch, wait = self._next_batch(lane, now)
            if not batch:
                lane.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lane.wake.wait(), timeout=wait)
                continue
            pause = lane.bucket.wait_time(now)
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            lane.bucket.take(now)
            result = await self._send(lane, [i.note for i in batch])
            self._settle(lane, [i.note for i in batch], result)
            self._update_depth()

    async def _send(self, lane: _Lane, notes: list[Notification]) -> SendResult:
        receiver = self.receivers.receiver(lane.name)
        if receiver is None:
            return SendResult(
                DeliveryOutcome.RETRY, detail="receiver not configured (missing from the ConfigMap or Secret)"
            )
        if self._session is None:
            return SendResult(DeliveryOutcome.RETRY, detail="notifier stopped")
        limit = receiver.config.rate_limit  # follow a reloaded ConfigMap
        lane.bucket.rate, lane.bucket.burst = limit.per_second, float(limit.burst)
        return await send(self._session, receiver, notes, self.clock())

    def _settle(self, lane: _Lane, notes: list[Notification], result: SendResult) -> None:
        now = self.clock()
        self.metrics.sent.labels(lane.name, result.outcome.value).inc(len(notes))
        if result.outcome == DeliveryOutcome.RETRY:
            lane.failures += 1
            delay = result.retry_after
            if delay is None:
                delay = backoff_delay(lane.failures, self.base_delay, self.max_delay, self.draw())
            lane.paused_until = now + delay
            log = logger.warning if lane.failures == 1 else logger.debug
            waiting = len(lane.items)
            log(
                "alert receiver %s: %s; retry %d in %.1fs (%d queued)",
                lane.name,
                result.detail,
                lane.failures,
                delay,
                waiting,
            )
            return
        if lane.failures:
            logger.info("alert receiver %s recovered after %d failed attempts", lane.name, lane.failures)
        lane.failures = 0
        if result.outcome == DeliveryOutcome.REJECTED:
            names = ", ".join(sorted({n.labels.get("alertname", "") for n in notes}))
            why = result.detail
            logger.error(
                "alert receiver %s rejected %d notification(s) (%s): %s; not retried", lane.name, len(notes), names, why
            )
        for note in notes:
            self._acknowledge(note, now)
            queued = lane.items.get(note.fingerprint)
            if queued is not None and queued.note.version <= note.version:
                del lane.items[note.fingerprint]

    def _acknowledge(self, note: Notification, now: float) -> None:
        acks = self._ledger.setdefault(note.fingerprint, {})
        known = acks.get(note.receiver)
        if known is None or note.version > known.version:
            acks[note.receiver] = Delivery(note.seq, note.repeat, now)
        self._ledger.move_to_end(note.fingerprint)
        while len(self._ledger) > self._ledger_limit:
            self._ledger.popitem(last=False)
