"""Rates from successive scrapes: counter resets, histogram deltas, several pods, missing signals."""

from __future__ import annotations

import pytest

from governor.metrics.presets import TGI, TRITON, VLLM
from governor.metrics.scrape import parse_text, target
from governor.metrics.snapshot import Interval, extract, increase, observation
from governor.testing.servers import SimulatedModelServer


def page(preset: str, clock: list[float], **load: float) -> str:
    server = SimulatedModelServer(preset, clock=lambda: clock[0])
    if load:
        server.update(**load)
    return server.render()


def test_counter_reset_counts_the_new_value() -> None:
    assert increase(100.0, 130.0) == 30.0
    assert increase(100.0, 7.0) == 7.0  # the pod restarted


def test_two_pods_sum_and_restart_is_handled() -> None:
    clock = [0.0]
    servers = [SimulatedModelServer("vllm", clock=lambda: clock[0]) for _ in range(2)]
    before = [extract(VLLM, parse_text(s.render()), 0.0) for s in servers]
    clock[0] = 10.0
    servers[1] = SimulatedModelServer("vllm", clock=lambda: clock[0])  # restarted: counters from zero
    clock[0] = 20.0
    after = [extract(VLLM, parse_text(s.render()), 20.0) for s in servers]
    interval = Interval()
    for b, a in zip(before, after, strict=True):
        interval.add(b, a)
    obs = observation(VLLM, 0.9, interval, after, now=20.0)
    # pod 0: 100 requests in 20 s; pod 1 restarted at 10 s: its 50 requests since count, as in rate().
    assert obs.request_rate is not None and obs.request_rate.value == pytest.approx(5.0 + 2.5)
    assert obs.latency_p99_ms is not None and obs.latency_p99_ms.value == pytest.approx(1250.0)
    assert obs.queue_depth is not None and obs.queue_depth.value == 6.0


def test_first_scrape_has_gauges_but_no_rates() -> None:
    snap = extract(TGI, parse_text(page("tgi", [0.0])), 0.0)
    obs = observation(TGI, 1.0, Interval(), [snap], now=1.0)
    assert obs.request_rate is None and obs.latency_p99_ms is None and obs.slo_attainment is None
    assert obs.queue_depth is not None and obs.running_requests is not None
    assert obs.cache_hit_ratio is None  # TGI exports no cache counters


def test_no_pods_answered_is_unavailable() -> None:
    obs = observation(VLLM, 1.0, Interval(), [], now=1.0)
    assert obs.source == "none" and not obs.available


def test_triton_uses_summary_and_misses() -> None:
    clock = [0.0]
    server = SimulatedModelServer("triton", clock=lambda: clock[0])
    first = extract(TRITON, parse_text(server.render()), 0.0)
    clock[0] = 4.0
    second = extract(TRITON, parse_text(server.render()), 4.0)
    interval = Interval()
    interval.add(first, second)
    obs = observation(TRITON, 0.9, interval, [second], now=4.0)
    assert obs.cache_hit_ratio is not None and obs.cache_hit_ratio.value == pytest.approx(0.6)
    assert obs.latency_p99_ms is not None and obs.latency_p99_ms.value == pytest.approx(1250.0)
    assert obs.error_rate is not None and obs.error_rate.value == pytest.approx(0.1)


def test_model_filter_and_targets() -> None:
    text = page("vllm", [0.0])
    assert extract(VLLM, parse_text(text), 0.0, model="other").counters == {}
    assert target("10.0.0.7", 8000) == "10.0.0.7:8000"
    assert target("10.0.0.7:9000", 8000) == "10.0.0.7:9000"
    assert target("fd00::7", 8000) == "[fd00::7]:8000"
