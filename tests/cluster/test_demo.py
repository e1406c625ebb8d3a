"""``governor demo --cluster real``: the live demo on the real control plane tells the same story as on
the emulator — the real Deployment controller and KWOK roll the pods Governor asks for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.support.control_plane import binaries


def test_demo_runs_on_the_real_control_plane() -> None:
    env_bin = str(binaries())
    proc = subprocess.run(
        [sys.executable, "-m", "governor", "demo", "--duration", "14", "--speed", "20", "--tick-seconds", "0.5",
         "--json", "--cluster", "real"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "GOVERNOR_CONTROL_PLANE_BIN": env_bin},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    kinds: dict[str, list[dict[str, Any]]] = {}
    for line in proc.stdout.splitlines():
        doc = json.loads(line)
        kinds.setdefault(doc["kind"], []).append(doc)
    (start,) = kinds["start"]
    assert start["cluster"] == "real" and start["api"].startswith("https://127.0.0.1:")
    reasons = {e["reason"] for e in kinds["event"]}
    assert {"ScaledUp", "PrecisionSwapStarted", "PrecisionSwapped"} <= reasons, reasons
    ready = [t["ready"] for t in kinds["tick"]]
    assert max(ready) >= 4, "the real ReplicaSets brought the scaled-up pods to Ready"
    assert kinds["summary"], "the run ends with its summary"
