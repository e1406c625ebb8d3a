"""The bounds on one pod page, without a network: parse budget, decoding, the setting and the counter."""

from __future__ import annotations

import time

import pytest

from governor.controller.metrics import OperatorMetrics
from governor.metrics.presets import VLLM
from governor.metrics.scrape import DEFAULT_MAX_BYTES, MALFORMED, TIMEOUT, PageRejected, parse_text, read_page
from governor.settings import Settings, SettingsError

PAGE = "".join(f'vllm:num_requests_waiting{{model_name="m",r="{i}"}} 1\n' for i in range(5000))


def test_parsing_stops_when_its_budget_is_spent() -> None:
    with pytest.raises(PageRejected) as info:
        parse_text(PAGE, deadline=time.monotonic())
    assert info.value.reason == TIMEOUT
    with pytest.raises(PageRejected, match="timeout"):
        read_page(PAGE.encode(), VLLM, 0.0, None, budget_seconds=0.0)
    assert len(parse_text(PAGE)) == 5000  # no deadline: the whole page


@pytest.mark.parametrize("body", [b"\xff\xfe not utf-8", b'vllm:num_requests_waiting{model_name="m" 1\n'])
def test_a_page_that_is_not_prometheus_text_is_malformed(body: bytes) -> None:
    with pytest.raises(PageRejected) as info:
        read_page(body, VLLM, 0.0, None, budget_seconds=5.0)
    assert info.value.reason == MALFORMED


def test_a_page_within_its_budget_is_a_snapshot() -> None:
    snap = read_page(PAGE.encode(), VLLM, 12.0, "m", budget_seconds=30.0)
    assert snap.at == 12.0 and snap.gauges == {"queue": 5000.0}


def test_the_size_bound_is_a_setting_with_a_clear_error() -> None:
    assert Settings().prometheus.scrape_max_bytes == DEFAULT_MAX_BYTES == 4 * 1024 * 1024
    assert Settings.from_env({"GOVERNOR_SCRAPE_MAX_BYTES": "65536"}).prometheus.scrape_max_bytes == 65536
    with pytest.raises(SettingsError, match="GOVERNOR_SCRAPE_MAX_BYTES"):
        Settings.from_env({"GOVERNOR_SCRAPE_MAX_BYTES": "0"})


def test_refused_pages_are_an_operator_metric_by_reason() -> None:
    metrics = OperatorMetrics()
    metrics.count_scrape_rejected("too_large")
    metrics.count_scrape_rejected("too_large")
    assert metrics.registry.get_sample_value("governor_scrape_rejected_total", {"reason": "too_large"}) == 2.0
