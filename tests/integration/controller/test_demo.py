"""``governor demo`` runs the operator against the embedded emulator and exits cleanly."""

from __future__ import annotations

import subprocess
import sys


def test_demo_prints_the_status_table_and_exits_zero() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "governor", "demo", "--ticks", "6", "--tick-seconds", "1", "--startup-seconds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--- tick 6 ---" in proc.stdout
    assert "NAMESPACE" in proc.stdout and " chat " in proc.stdout
    assert "True" in proc.stdout.split("--- tick 6 ---")[1], proc.stdout[-1500:]
