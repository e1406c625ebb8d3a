"""Fixtures of the cluster suite: one real control plane per session, one namespace per test, and the
real ``governor run`` as a subprocess under its shipped RBAC (a token of its own ServiceAccount).

* ``cluster``: the running control plane with Governor's CRDs, namespace, RBAC and peering object
  applied as an administrator would (``kubectl apply -f crds/ -f manifests/…``);
* ``namespace``: a fresh namespace per test (deleted afterwards; the namespace controller and the
  garbage collector clean up what it held);
* ``operators``: start ``governor run`` processes watching that namespace; each is stopped (or was
  killed by the test) at the end, and its log is attached to the report of a failed test;
* ``pods``: simulated model servers on the loopback IPs KWOK gives the namespace's pods.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from governor.testing.client import KubeClient
from tests.support.control_plane import REPO, ControlPlane, running_control_plane
from tests.support.pod_servers import PodServers
from tests.support.processes import stop

OPERATOR_NAMESPACE = "governor-system"
TICK_SECONDS = "0.5"
# What a request refused by RBAC leaves in the operator's log: Governor's ApiError ("HTTP 403: … is
# forbidden: User …"), Kopf's retried APIForbiddenError, and Kopf's observers' permission fallbacks.
FORBIDDEN = re.compile(r"HTTP 403|forbidden|not enough permissions", re.IGNORECASE)


@dataclass
class Cluster:
    plane: ControlPlane
    operator_kubeconfig: Path
    client: KubeClient  # admin

    def kubectl(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.plane.kubectl(*args, **kwargs)

    def operator_may(self, verb: str, resource: str, namespace: str) -> bool:
        """Whether the apiserver's RBAC authorizer grants Governor's ServiceAccount this right now."""
        argv = ("auth", "can-i", verb, resource, "-n", namespace)
        return self.kubectl(*argv, kubeconfig=self.operator_kubeconfig, check=False).stdout.strip() == "yes"


@dataclass
class OperatorProcess:
    proc: subprocess.Popen[bytes]
    log: Path
    excused: list[tuple[int, int]] = field(default_factory=list)  # log byte ranges whose 403s are expected

    def kill(self) -> None:
        """SIGKILL: the operator gets no chance to clean up (a crash, an OOM kill, a node loss)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        stop(self.proc)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def forbidden(self) -> list[str]:
        """The log's lines showing a request the apiserver refused (HTTP 403), outside excused ranges."""
        found, offset = [], 0
        for raw in (self.log.read_bytes() if self.log.exists() else b"").splitlines(keepends=True):
            line = raw.decode(errors="replace").rstrip()
            if FORBIDDEN.search(line) and not any(start <= offset < end for start, end in self.excused):
                found.append(line)
            offset += len(raw)
        return found


@dataclass
class Operators:
    cluster: Cluster
    namespace: str
    workdir: Path
    started: list[OperatorProcess] = field(default_factory=list)

    def start(self, **env: str) -> OperatorProcess:
        """``governor run`` watching the test's namespace; ``env`` adds or overrides GOVERNOR_* settings."""
        settings = {
            "KUBECONFIG": str(self.cluster.operator_kubeconfig),
            "GOVERNOR_NAMESPACES": self.namespace,
            "GOVERNOR_TICK_SECONDS": TICK_SECONDS,
            "GOVERNOR_METRICS_PORT": "0",
            "GOVERNOR_STATUS_HEARTBEAT_SECONDS": "30",
            "GOVERNOR_RECEIVERS_NAMESPACE": OPERATOR_NAMESPACE,
            **env,
        }
        log = self.workdir / f"operator-{len(self.started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "governor", "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **settings},
                start_new_session=True,
            )
        handle = OperatorProcess(proc, log)
        self.started.append(handle)
        return handle

    def stop_all(self) -> None:
        for handle in self.started:
            handle.stop()

    def forbidden(self) -> list[str]:
        """Every line of the operators' logs showing a request the shipped RBAC refused (HTTP 403)."""
        return [f"governor run #{index}: {line}" for index, h in enumerate(self.started) for line in h.forbidden()]

    @contextlib.contextmanager
    def excusing_forbidden(self) -> Iterator[None]:
        """403s the running operators log inside this block are not failures. Only for a window in
        which the apiserver itself refuses wrongly: right after it restarts, its RBAC authorizer
        answers from caches still empty ("clusterrole … not found") until its informers sync."""
        starts = [handle.log_size() for handle in self.started]
        try:
            yield
        finally:
            for handle, start in zip(self.started, starts, strict=False):
                handle.excused.append((start, handle.log_size()))


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("control-plane")
    with running_control_plane(workdir) as plane:
        plane.kubectl("apply", "-f", str(REPO / "crds"))
        plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/inferenceservices.governor.dev")
        for manifest in ("00-namespace.yaml", "rbac.yaml", "peering.yaml", "admission.yaml"):
            plane.apply_file(REPO / "manifests" / manifest)
        kubeconfig = plane.service_account_kubeconfig(OPERATOR_NAMESPACE, "governor", workdir / "governor.kubeconfig")
        client = KubeClient(plane.server, token=plane.tokens["admin"], ca_file=str(plane.pki / "ca.crt"))
        print(f"\ncontrol plane up in {plane.boot_seconds:.1f} s; logs in {plane.logs}", file=sys.stderr)
        yield Cluster(plane, kubeconfig, client)


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{base}-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def operators(cluster: Cluster, namespace: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Operators]:
    ops = Operators(cluster, namespace, tmp_path)
    request.node.governor_operators = ops
    try:
        yield ops
    finally:
        ops.stop_all()
    # manifests/rbac.yaml grants only what the code uses: any flow that needs more fails its test here.
    if denied := ops.forbidden():
        pytest.fail("403 under the shipped RBAC (manifests/rbac.yaml):\n" + "\n".join(denied[:20]), pytrace=False)


@pytest.fixture
def pods(cluster: Cluster, namespace: str) -> Iterator[PodServers]:
    with PodServers(cluster.client, namespace) as servers:
        yield servers


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and call.when == "call":
        ops: Operators | None = getattr(item, "governor_operators", None)
        for index, handle in enumerate(ops.started if ops else ()):
            tail = "\n".join(handle.output().splitlines()[-80:])
            report.sections.append((f"governor run #{index} ({handle.log})", tail))
        plane = getattr(item, "funcargs", {}).get("cluster")
        if isinstance(plane, Cluster):
            report.sections.append(("control plane logs", plane.plane.log_tail(15)))
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/cluster carries the ``cluster`` marker (``-m "not cluster"`` for a quick run)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.cluster)
