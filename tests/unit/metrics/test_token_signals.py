"""TTFT/ITL quantiles and attainment, token rates, KV usage and goodput: arithmetic and query text."""

from __future__ import annotations

import pytest

from governor.metrics.histogram import quantile, share_within
from governor.metrics.presets import SGLANG, TGI, TRITON, VLLM
from governor.metrics.prometheus import Collected, Job, _collect, _token_signals
from governor.metrics.queries import QueryBuilder
from governor.metrics.scrape import parse_text
from governor.metrics.snapshot import Interval, extract, observation
from governor.metrics.tokens import goodput_lower_bound
from governor.model import MetricsPreset, MetricsSpec, ServiceKey, ServiceSpec, SLOSpec, TokenLatencySLO
from governor.testing.servers import SimulatedModelServer

TOKEN_SLO = SLOSpec(latency_declared=False, ttft=TokenLatencySLO(175.0, 0.9), itl=TokenLatencySLO(40.0, 0.9))

# -- interpolation inside a bucket --------------------------------------------------------------


def test_quantile_is_interpolated_linearly_inside_its_bucket() -> None:
    buckets = [(0.1, 60.0), (0.25, 90.0), (0.5, 100.0), (float("inf"), 100.0)]
    assert quantile(0.9, buckets) == pytest.approx(0.25)  # on a bound
    assert quantile(0.75, buckets) == pytest.approx(0.175)  # halfway through 0.1..0.25
    assert quantile(0.3, buckets) == pytest.approx(0.05)  # the first bucket starts at 0


def test_attainment_interpolates_between_the_bounds_around_the_threshold() -> None:
    buckets = [(0.1, 60.0), (0.25, 90.0), (0.5, 100.0), (float("inf"), 100.0)]
    assert share_within(0.175, buckets) == pytest.approx(0.75)  # 60 + 30 · 0.5 of 100
    assert share_within(0.25, buckets) == pytest.approx(0.9)  # exactly on a bound
    assert share_within(0.05, buckets) == pytest.approx(0.3)  # below the first bound, from 0
    assert share_within(0.175, [(float("inf"), 0.0)]) is None  # no requests: missing


# -- goodput ------------------------------------------------------------------------------------


def test_goodput_is_the_lower_bound_over_the_declared_objectives() -> None:
    shares = {"slo_attainment": 0.5, "ttft_attainment": 0.95, "itl_attainment": 0.9}
    assert goodput_lower_bound(TOKEN_SLO, shares) == pytest.approx(0.85)  # latency not declared: not judged
    assert goodput_lower_bound(SLOSpec(), shares) == pytest.approx(0.5)  # request latency only
    every = SLOSpec(ttft=TokenLatencySLO(200.0), itl=TokenLatencySLO(50.0))
    assert goodput_lower_bound(every, shares) == pytest.approx(0.35)
    assert goodput_lower_bound(every, {**shares, "slo_attainment": 0.1}) == 0.0  # never below zero
    assert goodput_lower_bound(TOKEN_SLO, {"ttft_attainment": 0.9}) is None  # ITL missing: unknown


# -- the direct scrape over a simulated vLLM server ----------------------------------------------


@pytest.mark.parametrize("spelling", ["new", "old"])
def test_scrape_measures_what_the_server_was_told(spelling: str) -> None:
    clock = [0.0]
    server = SimulatedModelServer("vllm", clock=lambda: clock[0], itl_spelling=spelling)
    before = extract(VLLM, parse_text(server.render()), 0.0)
    clock[0] = 10.0
    after = extract(VLLM, parse_text(server.render()), 10.0)
    interval = Interval()
    interval.add(before, after)
    obs = observation(VLLM, 1.0, interval, [after], now=10.0, slo=TOKEN_SLO)
    load = server.load
    value = {name: getattr(obs, name).value for name in obs.__dataclass_fields__ if name not in ("at", "source")
             if getattr(obs, name) is not None}  # fmt: skip
    assert value["ttft_ms"] == pytest.approx(load.ttft.quantile(0.9) * 1000.0)  # 250 ms, on a bound
    assert value["ttft_attainment"] == pytest.approx(load.ttft.cdf(0.175))  # 0.75, between bounds
    assert value["itl_ms"] == pytest.approx(load.itl.quantile(0.9) * 1000.0)
    assert value["itl_attainment"] == pytest.approx(load.itl.cdf(0.040))
    assert value["goodput_attainment"] == pytest.approx(1 - (1 - load.ttft.cdf(0.175)) - (1 - load.itl.cdf(0.04)))
    assert value["prompt_tokens_rate"] == pytest.approx(load.rps * load.prompt_tokens)
    assert value["generation_tokens_rate"] == pytest.approx(load.rps * load.generation_tokens)
    assert value["queue_wait_ms"] == pytest.approx(load.queue_wait.mean() * 1000.0)
    assert value["kv_cache_usage_mean"] == value["kv_cache_usage_max"] == pytest.approx(load.kv_cache_usage)
    assert value["prefix_cache_hit_ratio"] == pytest.approx(load.cache_hit_ratio)


def test_the_first_spelling_on_a_page_wins_and_is_not_added_to_the_second() -> None:
    text = "\n".join([
        "# TYPE vllm:gpu_cache_usage_perc gauge", "vllm:gpu_cache_usage_perc 0.9",
        "# TYPE vllm:kv_cache_usage_perc gauge", "vllm:kv_cache_usage_perc 0.3",
    ]) + "\n"  # fmt: skip
    snap = extract(VLLM, parse_text(text), 0.0)
    assert snap.gauges["kv_usage"] == 0.3


def test_servers_without_token_series_leave_them_missing() -> None:
    clock = [0.0]
    server = SimulatedModelServer("tgi", clock=lambda: clock[0])
    before = extract(TGI, parse_text(server.render()), 0.0)
    clock[0] = 10.0
    after = extract(TGI, parse_text(server.render()), 10.0)
    interval = Interval()
    interval.add(before, after)
    obs = observation(TGI, 1.0, interval, [after], now=10.0, slo=TOKEN_SLO)
    assert obs.ttft_ms is None and obs.ttft_attainment is None and obs.kv_cache_usage_mean is None
    assert obs.goodput_attainment is None  # an objective without a measurement: unknown, not 0 or 1


# -- the PromQL of each preset -------------------------------------------------------------------


def test_vllm_queries_both_spellings_of_renamed_series() -> None:
    expr = QueryBuilder().tokens(VLLM, {"ttft": [0.9], "itl": [0.95]}, {"ttft": ["0.1", "0.25", "+Inf"]}) or ""
    spellings = [
        f'sum by (namespace, service, le) (rate(vllm:{name}_bucket{{service!=""}}[1m]))'
        for name in (
            "request_time_per_output_token_seconds",  # per request: what the objective judges
            "inter_token_latency_seconds",
            "time_per_output_token_seconds",
        )
    ]
    assert "(" + " or ".join(spellings) + ")" in expr
    assert "histogram_quantile(0.95, (sum by" in expr and '"itl_ms@0.95"' in expr and '"ttft_ms@0.9"' in expr
    assert "vllm:gpu_prefix_cache_hits_total" in expr and "vllm:gpu_cache_usage_perc" in expr
    assert 'vllm:time_to_first_token_seconds_bucket{service!="",le=~"0\\\\.1|0\\\\.25|\\\\+Inf"}' in expr
    assert "rate(vllm:request_queue_time_seconds_sum" in expr and "vllm:prompt_tokens_total" in expr


@pytest.mark.parametrize(
    ("preset", "present", "absent"),
    [
        (SGLANG, ["sglang:time_to_first_token_seconds_bucket", "sglang:time_per_output_token_seconds_bucket",
                  "avg by (namespace, service) (sglang:cache_hit_rate", "sglang:token_usage",
                  "sglang:queue_time_seconds_sum"], []),
        (TGI, ["tgi_request_mean_time_per_token_duration_bucket", "tgi_request_queue_duration_sum",
               "tgi_request_input_length_sum", "tgi_request_generated_tokens_sum"], ["ttft_ms", "kv_cache_usage"]),
        (TRITON, ['nv_trt_llm_kv_cache_block_metrics{service!="",kv_cache_block_type="fraction"}',
                  "nv_llm_input_token_len_sum", "nv_llm_output_token_len_sum"], ["ttft_ms", "itl_ms", "queue_wait"]),
    ],
)  # fmt: skip
def test_each_preset_reads_only_what_its_server_exports(preset: object, present: list[str], absent: list[str]) -> None:
    expr = QueryBuilder().tokens(preset, {"ttft": [0.9], "itl": [0.9]}) or ""  # type: ignore[arg-type]
    for text in present:
        assert text in expr, text
    for text in absent:
        assert text not in expr, text


# -- the Prometheus answer sorted per service -----------------------------------------------------


def test_each_service_takes_its_own_quantile_and_threshold() -> None:
    a = ServiceSpec(namespace="ml", name="a", slo=TOKEN_SLO, metrics=MetricsSpec(MetricsPreset.VLLM))
    b_slo = SLOSpec(ttft=TokenLatencySLO(100.0, 0.99))
    b = ServiceSpec(namespace="ml", name="b", slo=b_slo, metrics=MetricsSpec(MetricsPreset.VLLM))

    def row(service: str, signal: str, value: float, le: str | None = None) -> dict[str, object]:
        labels = {"namespace": "ml", "service": service, "governor_signal": signal, **({"le": le} if le else {})}
        return {"metric": labels, "value": [7.0, str(value)]}

    rows = [row(s, "ttft_ms@0.9", 250.0) for s in "ab"] + [row(s, "ttft_ms@0.99", 480.0) for s in "ab"]
    rows += [row(s, "ttft_bucket", v, le) for s in "ab" for le, v in (("0.1", 6.0), ("0.25", 9.0), ("+Inf", 10.0))]
    collected = Collected()
    _collect(collected, Job("q", frozenset({a.key, b.key, ServiceKey("ml", "b")})), rows, "service")
    got_a = _token_signals(a, collected, {})
    got_b = _token_signals(b, collected, {})
    assert got_a["ttft_ms"].value == 250.0 and got_b["ttft_ms"].value == 480.0
    assert got_a["ttft_attainment"].value == pytest.approx(0.75)  # 175 ms, between 0.1 and 0.25 s
    assert got_b["ttft_attainment"].value == pytest.approx(0.6)  # 100 ms, on a bound
    assert "goodput_attainment" not in got_a  # ITL is declared but missing
