"""Opt-in end to end on a real cluster (``GOVERNOR_E2E=1`` with a reachable kubeconfig and kubectl).

Applies ``crds/``, starts ``governor run`` against the cluster, applies a small owned-mode
InferenceService (a pause container, no GPU) and waits until its status says Ready; everything
it created is deleted afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.processes import running

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def kubectl(*args: str, stdin: str | None = None) -> str:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("GOVERNOR_E2E=1 needs kubectl on PATH")
    return subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, check=True, timeout=60).stdout


def _ready(namespace: str, name: str) -> bool:
    raw = kubectl("get", "inferenceservice.governor.dev", name, "-n", namespace, "-o", "json")
    conditions = json.loads(raw).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_operator_makes_a_service_ready_on_a_real_cluster(tmp_path: Path) -> None:
    namespace = f"governor-e2e-{uuid.uuid4().hex[:6]}"
    kubectl("apply", "-f", str(REPO / "crds"))
    kubectl("create", "namespace", namespace)
    manifest = {
        "apiVersion": "governor.dev/v1alpha1",
        "kind": "InferenceService",
        "metadata": {"name": "e2e", "namespace": namespace},
        "spec": {
            "minReplicas": 1,
            "maxReplicas": 2,
            "template": {"spec": {"containers": [{"name": "server", "image": "registry.k8s.io/pause:3.9"}]}},
        },
    }
    # `running` passes this process's environment on; `env` adds the operator's settings.
    settings = [f"GOVERNOR_NAMESPACES={namespace}", "GOVERNOR_TICK_SECONDS=2", "GOVERNOR_METRICS_PORT=0"]
    argv = ["env", *settings, sys.executable, "-m", "governor", "run"]
    try:
        with running(argv, log_path=tmp_path / "operator.log"):
            kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
            deadline = time.monotonic() + 180
            while not _ready(namespace, "e2e"):
                if time.monotonic() > deadline:
                    pytest.fail(
                        "InferenceService not Ready after 180 s:\n" + (tmp_path / "operator.log").read_text()[-3000:]
                    )
                time.sleep(2)
            deployment = json.loads(kubectl("get", "deployment", "e2e", "-n", namespace, "-o", "json"))
            assert deployment["metadata"]["ownerReferences"][0]["kind"] == "InferenceService"
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
