"""Token SLOs in the status: TTFT/ITL, goodput and token rates are written; SLOMet judges what is declared."""

from __future__ import annotations

from dataclasses import replace

from governor.actuate.workloads import WorkloadState
from governor.controller.registry import Entry
from governor.controller.status import Seen
from governor.explain import render
from governor.model import Observation, Sample, ServiceKey, ServiceSpec, SLOSpec, TokenLatencySLO
from governor.model.conditions import find_condition
from tests.unit.controller.statuses import build_status

KEY = ServiceKey("ml", "chat")
TOKENS = SLOSpec(latency_declared=False, ttft=TokenLatencySLO(300.0, 0.9), itl=TokenLatencySLO(50.0, 0.9))
SPEC = ServiceSpec(namespace="ml", name="chat", template={"spec": {}}, slo=TOKENS)


def observed(**values: float) -> Observation:
    return Observation(at=100.0, source="prometheus", **{k: Sample(v, 100.0) for k, v in values.items()})


def status_of(spec: ServiceSpec, obs: Observation) -> dict[str, object]:
    seen = Seen(Entry(KEY, "uid", 1, spec, ()), WorkloadState("chat", 2, 2, 2, 1, 1), observation=obs)
    return build_status(seen, {}, now=100.0)


def slo_met(status: dict[str, object]) -> tuple[str, str, str]:
    found = find_condition(status["conditions"], "SLOMet")  # type: ignore[arg-type]
    assert found is not None
    return found["status"], found["reason"], found["message"]


GOOD = {
    "ttft_ms": 212.0, "itl_ms": 31.5, "ttft_attainment": 0.9995, "itl_attainment": 0.9992, "goodput_attainment": 0.9987,
    "prompt_tokens_rate": 5120.0, "generation_tokens_rate": 1280.0, "queue_wait_ms": 25.0, "kv_cache_usage_mean": 0.4,
    "kv_cache_usage_max": 0.55, "prefix_cache_hit_ratio": 0.6,
}  # fmt: skip


def test_token_signals_are_written_where_the_other_metrics_are() -> None:
    metrics = status_of(SPEC, observed(**GOOD))["metrics"]
    assert metrics == {
        "observedAt": "1970-01-01T00:01:40Z", "source": "prometheus", "ttftMs": 212.0, "itlMs": 31.5,
        "ttftAttainment": 0.9995, "itlAttainment": 0.9992, "goodput": 0.9987, "queueWaitMs": 25.0,
        "promptTokensPerSecond": 5120.0, "generationTokensPerSecond": 1280.0, "prefixCacheHitRatio": 0.6,
        "kvCacheUsage": 0.4, "kvCacheUsageMax": 0.55,
    }  # fmt: skip


def test_slo_met_judges_the_token_objectives_and_not_the_undeclared_latency() -> None:
    # A p99 far above the default 1000 ms: not judged, since the spec declares only TTFT and ITL.
    state, reason, message = slo_met(status_of(SPEC, observed(**GOOD, latency_p99_ms=9000.0, slo_attainment=0.2)))
    assert (state, reason) == ("True", "WithinSLO")
    assert "TTFT: 99.95% of requests' first token within 300 ms" in message and "ITL: 99.92%" in message
    assert "1000 ms" not in message
    state, reason, message = slo_met(status_of(SPEC, observed(**{**GOOD, "itl_attainment": 0.98})))
    assert (state, reason) == ("False", "SLOBreached")
    assert message.startswith("ITL: 98.00% of token gaps within 50 ms")  # the breach comes first


def test_slo_met_falls_back_to_the_quantile_and_keeps_the_request_latency_when_declared() -> None:
    both = replace(SPEC, slo=replace(TOKENS, latency_declared=True, latency_ms=2000.0))
    state, _, message = slo_met(status_of(both, observed(ttft_ms=350.0, latency_p99_ms=1500.0)))
    assert state == "False" and "TTFT p90 350 ms vs SLO 300 ms" in message and "p99 1500 ms vs SLO 2000 ms" in message
    assert slo_met(status_of(SPEC, observed(latency_p99_ms=100.0)))[:2] == ("Unknown", "NoLatencyData")


def test_explain_shows_ttft_itl_goodput_and_token_rates() -> None:
    status = status_of(SPEC, observed(**GOOD))
    obj = {"metadata": {"namespace": "ml", "name": "chat"}, "spec": {"slo": {"ttft": {"ms": 300}, "itl": {"ms": 50}}},
           "status": status}  # fmt: skip
    text = render(obj, [])
    assert "TTFT 212 ms (SLO p90 300 ms); ITL 31.5 ms (SLO p90 50 ms); goodput 0.999" in text
    assert "5.12e+03 prompt tok/s; 1.28e+03 generated tok/s; queue wait 25 ms; KV cache 0.4" in text
    plain = render({"metadata": {"namespace": "ml", "name": "x"}, "spec": {}, "status": {}}, [])
    assert "TTFT" not in plain  # a service without token objectives or signals keeps its short summary
