"""``governor run`` as operators meet it: a taken port, an unreachable API server, ``--version``, probes.

Each is a real subprocess, as a pod or a terminal runs it: one log line (JSON when asked), an exit
code, no traceback and no retry loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from governor import package_version
from tests.integration.controller.test_owned import NS, service
from tests.support.kube import KubeHarness
from tests.support.processes import free_port, http_get, wait_http_ok

GOVERNOR = [sys.executable, "-m", "governor"]


@pytest.fixture
def unreachable_kubeconfig(tmp_path: Path) -> Path:
    port = free_port()  # nothing listens there once the probe socket is closed
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_") and k != "KUBERNETES_SERVICE_HOST"}
    return subprocess.run([*GOVERNOR, *args], env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_taken_metrics_port_is_one_json_line_naming_the_setting_and_exit_2(
    taken_port: int, unreachable_kubeconfig: Path
) -> None:
    done = _run(
        "run",
        GOVERNOR_METRICS_PORT=str(taken_port),
        GOVERNOR_LOG_FORMAT="json",
        KUBECONFIG=str(unreachable_kubeconfig),
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    record = json.loads(line)
    assert "GOVERNOR_METRICS_PORT" in record["message"] and f"port {taken_port}" in record["message"]
    assert record["severity"] == "fatal" and record["logger"] == "governor.controller.entry"


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_unreachable_api_server_is_one_line_and_a_nonzero_exit(unreachable_kubeconfig: Path, log_format: str) -> None:
    done = _run(
        "run",
        GOVERNOR_METRICS_PORT=str(free_port()),
        GOVERNOR_LOG_FORMAT=log_format,
        KUBECONFIG=str(unreachable_kubeconfig),
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    message = json.loads(line)["message"] if log_format == "json" else line
    assert "cannot reach the Kubernetes API server at https://127.0.0.1:" in message
    assert "KUBECONFIG" in message


def test_missing_credentials_exit_2(tmp_path: Path) -> None:
    done = _run("run", GOVERNOR_METRICS_PORT="0", KUBECONFIG=str(tmp_path / "absent"), HOME=str(tmp_path))
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "no Kubernetes credentials" in done.stderr


@pytest.mark.parametrize("argv", [["--version"], ["run", "--version"]])
def test_version(argv: list[str]) -> None:
    done = _run(*argv)
    assert done.returncode == 0
    assert done.stdout == f"governor {package_version()}\n"
    assert package_version()[0].isdigit()


def test_help_shows_every_setting_with_its_default() -> None:
    done = _run("run", "--help")
    assert done.returncode == 0
    assert "GOVERNOR_METRICS_PORT" in done.stdout and "[8090]" in done.stdout
    assert "GOVERNOR_PEERING " in done.stdout and "[unset]" in done.stdout


@pytest.fixture
def kubeconfig_for(kube: KubeHarness, tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": kube.url}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


@contextlib.contextmanager
def governor_run(kubeconfig: Path, **settings: str) -> Iterator[tuple[int, queue.Queue[str]]]:
    """``governor run`` as a subprocess against ``kubeconfig``, ready; yields its metrics port and its stderr lines.

    Stopped with SIGTERM (as the kubelet does) when the block exits.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNOR_") and k != "KUBERNETES_SERVICE_HOST"}
    env |= {"KUBECONFIG": str(kubeconfig), "GOVERNOR_METRICS_PORT": str(port), **settings}
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen([*GOVERNOR, "run"], env=env, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True)  # type: ignore[union-attr]
        reader.start()
        try:
            wait_http_ok(f"http://127.0.0.1:{port}/readyz", timeout=30, proc=proc)
            yield port, lines
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            reader.join(timeout=10)


def test_running_operator_is_ready_and_logs_json_about_each_service(kube: KubeHarness, kubeconfig_for: Path) -> None:
    kube.client.create("inferenceservices", service("chat"))
    records: list[dict[str, Any]] = []
    with governor_run(kubeconfig_for, GOVERNOR_LOG_FORMAT="json", GOVERNOR_TICK_SECONDS="0.5") as (port, lines):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as live:
            assert live.status == 200 and live.read().startswith(b"ok: last tick ")
        # ready means the loop ticks; the watch may deliver "chat" a tick later, so wait for its record
        deadline = time.monotonic() + 30
        while not any(r.get("name") == "chat" for r in records) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                records.append(json.loads(lines.get(timeout=0.5)))
    while not lines.empty():
        records.append(json.loads(lines.get()))
    assert records[0]["message"].startswith(f"starting governor {package_version()}")
    about = [r for r in records if r.get("name") == "chat"]
    assert about and all(r["namespace"] == NS and r["logger"] for r in about)


def test_running_operator_serves_the_alert_delivery_metrics(kube: KubeHarness, kubeconfig_for: Path) -> None:
    """The notifier's queue and delivery metrics are on the operator's own /metrics, beside the loop's."""
    with governor_run(kubeconfig_for, GOVERNOR_TICK_SECONDS="0.5") as (port, _):
        status, page = http_get(port, "/metrics")
    assert status == 200
    exposed = {line.split(" ")[2].removesuffix("_total") for line in page.splitlines() if line.startswith("# TYPE ")}
    assert "governor_ticks" in exposed  # the operator's registry, not some other page
    assert {"governor_alert_notifications", "governor_alert_queue_dropped", "governor_alert_queue_depth"} <= exposed
    assert "\ngovernor_alert_queue_depth 0.0\n" in page
