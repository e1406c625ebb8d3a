"""The install paths of Governor, driven by the real tools: ``helm`` on ``charts/governor`` and
``kubectl kustomize`` / ``apply -k`` on ``manifests/``. Both binaries come from the control plane's
folder (``scripts/control-plane.sh`` builds helm beside kubectl)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.control_plane import REPO, binaries

CHART = REPO / "charts" / "governor"
MANIFESTS = REPO / "manifests"
Key = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name


@functools.cache
def tool(name: str) -> Path:
    """``helm`` or ``kubectl`` from the control plane's folder (built on first use). A folder given by
    GOVERNOR_CONTROL_PLANE_BIN from before helm joined lacks helm: the script's own folder has it."""
    found = binaries() / name
    if not found.exists():
        script = subprocess.run([str(REPO / "scripts" / "control-plane.sh")], stdout=subprocess.PIPE, text=True)
        found = Path(script.stdout.strip().splitlines()[-1]) / name
    return found


def run(name: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(tool(name)), *args], capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise AssertionError(f"{name} {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def objects(text: str) -> dict[Key, dict[str, Any]]:
    """Rendered YAML as objects keyed by kind, namespace and name (an object twice is an error)."""
    found: dict[Key, dict[str, Any]] = {}
    for doc in yaml.safe_load_all(text):
        if doc:
            meta = doc["metadata"]
            key = (doc["kind"], meta.get("namespace", ""), meta["name"])
            assert key not in found, f"{key} rendered twice"
            found[key] = doc
    return found


def helm_template(*args: str, namespace: str = "governor-system") -> dict[Key, dict[str, Any]]:
    return objects(run("helm", "template", "governor", str(CHART), "--namespace", namespace, *args))


def kustomize(folder: Path = MANIFESTS) -> dict[Key, dict[str, Any]]:
    return objects(run("kubectl", "kustomize", str(folder)))
