"""TTFT, ITL, goodput and token rates from a real Prometheus scraping simulated vLLM servers.

Ground truth (``ServedLoad`` defaults, 2 pods at 4 req/s per service): TTFT segments 50–100 ms (60 %),
100–250 ms (30 %), 250–500 ms (10 %), so its p90 is 250 ms and 75 % of requests see their first token
within 175 ms (between the 100 and 250 ms buckets: interpolated). ITL segments 10–25 ms (50 %),
25–50 ms (40 %), 50–100 ms: p90 50 ms, 74 % of gaps within 40 ms. Goodput's lower bound is then
1 − 0.25 − 0.26 = 0.49. Prompt tokens 512 and generated tokens 128 per request; queue wait 25 ms mean;
KV-cache usage 0.4 per pod. One service exports ITL under vLLM's older name.
Tolerances: rates 5 %, quantiles and shares 2 %.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from governor.metrics.client import HttpQueryClient
from governor.metrics.prometheus import PrometheusSource
from governor.model import MetricsPreset, MetricsSpec, Observation, ServiceSpec, SLOSpec, TokenLatencySLO
from governor.settings import PrometheusSettings
from governor.testing.servers import ServedLoad, SimulatedModelServer
from tests.support.prometheus import ServerFleet, Target, prometheus

LOAD = ServedLoad(rps=4.0)
PODS = 2
SLO = SLOSpec(latency_declared=False, ttft=TokenLatencySLO(175.0, 0.9), itl=TokenLatencySLO(40.0, 0.9))
SPECS = [
    ServiceSpec(namespace="ml", name=name, slo=SLO, metrics=MetricsSpec(MetricsPreset.VLLM, "none"))
    for name in ("chat-new", "chat-old")
]


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    servers = ServerFleet()
    targets = []
    try:
        for spec in SPECS:
            spelling = "old" if spec.name.endswith("old") else "new"
            for index in range(PODS):
                handle = servers.start(SimulatedModelServer("vllm", LOAD, model="m", itl_spelling=spelling))
                labels = {"namespace": spec.namespace, "service": spec.name, "pod": f"{spec.name}-{index}"}
                targets.append(Target(f"127.0.0.1:{handle.port}", labels))
        with prometheus(Path(tmp_path_factory.mktemp("prometheus-tokens")), targets) as url:
            yield url
    finally:
        servers.stop()


async def observe_when_full(url: str, recording_rules: str = "off") -> dict[str, Observation]:
    client = HttpQueryClient(PrometheusSettings(url=url, timeout_seconds=10))
    src = PrometheusSource(client, window="5s", recording_rules=recording_rules)
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            obs = await src.observe(SPECS, time.time())
            if all(o.generation_tokens_rate is not None and o.itl_attainment is not None for o in obs.values()):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(6.5)  # a whole 5 s rate window of scraped data
        return {key.name: o for key, o in (await src.observe(SPECS, time.time())).items()}
    finally:
        await src.aclose()


def value(obs: Observation, name: str) -> float:
    sample = getattr(obs, name)
    assert sample is not None, name
    return float(sample.value)


async def test_token_signals_match_what_the_servers_were_told(prometheus_url: str) -> None:
    observed = await observe_when_full(prometheus_url)
    ttft_share, itl_share = LOAD.ttft.cdf(0.175), LOAD.itl.cdf(0.040)
    for name, obs in observed.items():
        assert obs.source == "prometheus"
        assert value(obs, "ttft_ms") == pytest.approx(LOAD.ttft.quantile(0.9) * 1000, rel=0.02), name
        assert value(obs, "itl_ms") == pytest.approx(LOAD.itl.quantile(0.9) * 1000, rel=0.02), name
        assert value(obs, "ttft_attainment") == pytest.approx(ttft_share, rel=0.02), name
        assert value(obs, "itl_attainment") == pytest.approx(itl_share, rel=0.02), name
        assert value(obs, "goodput_attainment") == pytest.approx(1 - (1 - ttft_share) - (1 - itl_share), abs=0.02)
        tokens = LOAD.rps * PODS
        assert value(obs, "prompt_tokens_rate") == pytest.approx(tokens * LOAD.prompt_tokens, rel=0.05), name
        assert value(obs, "generation_tokens_rate") == pytest.approx(tokens * LOAD.generation_tokens, rel=0.05)
        assert value(obs, "queue_wait_ms") == pytest.approx(LOAD.queue_wait.mean() * 1000, rel=0.05)
        assert value(obs, "kv_cache_usage_mean") == pytest.approx(LOAD.kv_cache_usage)
        assert value(obs, "kv_cache_usage_max") == pytest.approx(LOAD.kv_cache_usage)
        assert value(obs, "prefix_cache_hit_ratio") == pytest.approx(LOAD.cache_hit_ratio, rel=0.02)
