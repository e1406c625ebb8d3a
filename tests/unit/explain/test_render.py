"""``governor explain`` renders the decision, conditions, swap, alerts and events an SRE needs."""

from __future__ import annotations

from governor.explain import render

OBJ = {
    "metadata": {"namespace": "ml", "name": "chat"},
    "spec": {"minReplicas": 2, "maxReplicas": 16, "slo": {"latencyMs": 300}, "precision": {"preferred": "bf16"}},
    "status": {
        "replicas": 16,
        "readyReplicas": 16,
        "desiredReplicas": 16,
        "precision": "fp8",
        "metrics": {"latencyP99Ms": 412.0, "rps": 950.5, "source": "prometheus"},
        "decision": {"at": "2026-11-22T05:00:00Z", "reasons": ["p99 412 ms > SLO 300 ms at 16/16 replicas"]},
        "conditions": [{"type": "AtCapacity", "status": "True", "reason": "MaxReplicasReached", "message": "16/16"}],
        "swap": {"phase": "Rolling", "from": "bf16", "to": "fp8", "strategy": "OneAtATime"},
        "alerts": [{"name": "AtCapacityBreaching", "state": "firing", "severity": "critical"}],
    },
}
EVENTS = [
    {"lastTimestamp": "2026-11-22T04:59:00Z", "type": "Normal", "reason": "ScaledUp", "message": "12 → 16"},
    {"lastTimestamp": "2026-11-22T05:00:00Z", "type": "Normal", "reason": "PrecisionSwapped", "message": "bf16 → fp8"},
]


def test_render_shows_every_section() -> None:
    text = render(OBJ, EVENTS)
    assert text.startswith("InferenceService ml/chat")
    assert "16/16 ready, desired 16 (bounds 2..16)" in text
    assert "precision  fp8 (preferred bf16)" in text
    assert "p99 412 ms vs SLO 300 ms" in text
    assert "  - p99 412 ms > SLO 300 ms at 16/16 replicas" in text
    assert "AtCapacity" in text and "MaxReplicasReached" in text
    assert "from=bf16, to=fp8, strategy=OneAtATime" in text
    assert "AtCapacityBreaching" in text and "firing" in text
    assert text.index("ScaledUp") < text.index("PrecisionSwapped"), "events oldest first"


def test_missing_metrics_say_missing_not_zero() -> None:
    text = render({"metadata": {"namespace": "ml", "name": "x"}, "spec": {}, "status": {}}, [])
    assert "p99 missing" in text
    assert "0 ms" not in text
    assert "Alerts:\n  (none)" in text
