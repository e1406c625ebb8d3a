"""The real control plane for the cluster tests: ``governor.testing.control_plane`` with the build step.

``binaries()`` uses what ``scripts/test.sh`` exported (``GOVERNOR_CONTROL_PLANE_BIN``), or runs
``scripts/control-plane.sh`` — which returns at once on a warm cache and builds otherwise — so
``pytest tests/cluster`` works on its own too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from governor.testing.control_plane import GPU_NODES, GPUS_PER_NODE, ControlPlane, ControlPlaneError, complete

REPO = Path(__file__).resolve().parents[2]

__all__ = ["GPUS_PER_NODE", "GPU_NODES", "REPO", "ControlPlane", "binaries", "running_control_plane"]


def binaries() -> Path:
    given = os.environ.get("GOVERNOR_CONTROL_PLANE_BIN")
    if given and complete(Path(given)):
        return Path(given)
    result = subprocess.run(
        [str(REPO / "scripts" / "control-plane.sh")], stdout=subprocess.PIPE, stderr=None, text=True, check=False
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise ControlPlaneError(f"scripts/control-plane.sh failed with exit code {result.returncode}")
    return Path(lines[-1])


@contextlib.contextmanager
def running_control_plane(workdir: Path) -> Iterator[ControlPlane]:
    with ControlPlane(bin_dir=binaries(), workdir=workdir) as plane:
        yield plane
