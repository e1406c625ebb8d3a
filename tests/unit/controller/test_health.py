"""The probes: what /healthz and /readyz answer through the loop's life, over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from governor.controller.health import MIN_STALE_SECONDS, STARTUP_GRACE_SECONDS, Health, Server, serve
from tests.support.processes import http_get


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health(clock: Clock) -> Health:
    return Health(tick_seconds=10.0, clock=clock)


def test_starting_is_live_for_a_grace_period_but_not_ready(health: Health, clock: Clock) -> None:
    assert health.liveness()[0] is True
    assert health.readiness() == (False, "no tick yet")
    clock.now += STARTUP_GRACE_SECONDS + 1
    live, why = health.liveness()
    assert live is False and "no tick yet" in why


def test_active_replica_is_ready_after_its_first_tick_and_dies_when_the_loop_stalls(
    health: Health, clock: Clock
) -> None:
    health.turned(active=True)
    assert health.readiness() == (False, "no tick yet"), "the gate answered, but the tick has not finished"
    health.tick_done()
    assert health.readiness() == (True, "active: ticking")
    clock.now += MIN_STALE_SECONDS - 1
    assert health.liveness()[0] is True
    clock.now += 2
    live, why = health.liveness()
    assert live is False and "last tick 61 s ago" in why


def test_limit_grows_with_a_long_tick_period(clock: Clock) -> None:
    health = Health(tick_seconds=60.0, clock=clock)
    health.turned(active=True)
    clock.now += 170
    assert health.liveness()[0] is True  # 3 periods: 180 s
    clock.now += 20
    assert health.liveness()[0] is False


def test_standby_is_ready_and_says_so(health: Health) -> None:
    health.turned(active=False)
    ok, why = health.readiness()
    assert ok is True and why.startswith("standing by")


def test_failed_tick_is_not_ready_with_its_reason(health: Health) -> None:
    health.turned(active=True)
    health.tick_failed("cannot list Deployments: GET ...: 500")
    assert health.readiness() == (False, "cannot list Deployments: GET ...: 500")
    assert health.liveness()[0] is True, "a failing API is not a reason to restart the operator"


async def test_an_ended_loop_task_is_not_live(health: Health) -> None:
    async def crash() -> None:
        raise RuntimeError("boom")

    health.task = asyncio.create_task(crash())
    await asyncio.sleep(0)
    health.turned(active=True)
    with pytest.raises(RuntimeError):
        await health.task
    assert health.liveness() == (False, "the control loop task has ended")


@pytest.fixture
def server(health: Health) -> Iterator[tuple[Server, CollectorRegistry]]:
    registry = CollectorRegistry()
    Counter("governor_ticks", "ticks", registry=registry).inc()
    running = serve(health, registry, 0, "127.0.0.1")
    try:
        yield running, registry
    finally:
        running.close()


def test_probes_and_metrics_over_http(server: tuple[Server, CollectorRegistry], health: Health) -> None:
    running, _ = server
    assert http_get(running.port, "/readyz") == (503, "failing: no tick yet\n")
    assert http_get(running.port, "/healthz")[0] == 200
    health.turned(active=False)
    assert http_get(running.port, "/readyz") == (200, "ok: standing by: another replica is active (Kopf peering)\n")
    status, body = http_get(running.port, "/metrics")
    assert status == 200 and "governor_ticks_total 1.0" in body


def test_a_taken_port_fails_at_once_and_close_frees_it(health: Health) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"):
            serve(health, CollectorRegistry(), port, "127.0.0.1")
    running = serve(health, CollectorRegistry(), port, "127.0.0.1")
    running.close()
    serve(health, CollectorRegistry(), port, "127.0.0.1").close()
