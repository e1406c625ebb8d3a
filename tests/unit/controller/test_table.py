from __future__ import annotations

from governor.demo.table import render


def test_table_shows_one_sorted_row_per_service_with_the_reason() -> None:
    objs = [
        {
            "metadata": {"namespace": "ml", "name": "b"},
            "status": {"conditions": [{"type": "Invalid", "status": "True", "message": "spec.maxReplicas: too small"}]},
        },
        {
            "metadata": {"namespace": "ml", "name": "a"},
            "status": {
                "replicas": 2,
                "readyReplicas": 2,
                "desiredReplicas": 3,
                "precision": "fp8",
                "decision": {"reasons": ["latency p99 above SLO"]},
                "conditions": [{"type": "Ready", "status": "True", "message": "2/2"}],
            },
        },
    ]
    lines = render(objs).splitlines()
    assert lines[0].split()[:3] == ["NAMESPACE", "NAME", "READY"]
    assert lines[1].split()[:6] == ["ml", "a", "True", "2/2", "3", "fp8"]
    assert "latency p99 above SLO" in lines[1]
    assert "Invalid: spec.maxReplicas: too small" in lines[2]
