"""A real Kubernetes control plane on loopback, for the cluster tests and ``governor demo``: etcd,
kube-apiserver (RBAC), kube-controller-manager, kube-scheduler and KWOK with fake GPU nodes.

The binaries come from ``scripts/control-plane.sh`` (built once from the Go module proxy into a
cache outside the repository, or taken from ``KUBEBUILDER_ASSETS``); ``find_binaries`` looks for
them without building. Everything here is a plain process on 127.0.0.1 with its log in the work
folder:

* etcd with ``--unsafe-no-fsync`` (a test cluster needs no durability);
* kube-apiserver with ``--authorization-mode=RBAC``, static tokens for the admin and the control
  plane's own components, and a service-account signing key so ``kubectl create token`` works;
  ``OwnerReferencesPermissionEnforcement`` is on, as on hardened clusters;
* kube-controller-manager with the Deployment, ReplicaSet, StatefulSet, DaemonSet (the install
  tests' NVML agent), garbage-collector and namespace controllers (no node lifecycle, so KWOK nodes
  are never tainted);
* kube-scheduler, which places pods on KWOK nodes by their ``nvidia.com/gpu`` allocatable;
* KWOK, which plays the kubelets: pods get loopback IPs from ``--cidr`` and turn Ready after the
  delay their ``pod-ready.stage.kwok.x-k8s.io/delay`` annotation chooses (stages in
  ``kwok-stages.yaml``, package data beside this module, copied into the work folder for KWOK).

The administrator and the control plane's own components authenticate with static tokens; anyone
else (the operator under its shipped RBAC) gets a real ServiceAccount token with
``service_account_kubeconfig``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

STAGES = "kwok-stages.yaml"  # package data of governor.testing
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "governor" / "control-plane"
# Pods get loopback IPs, so a simulated model server can bind any pod's IP. Each control plane draws
# its own /18 block, so two of them on one machine (parallel test runs, a demo beside the tests)
# never hand out the same address.
POD_CIDR_SECOND_OCTETS = range(64, 251)
GPU_NODES = 2
GPUS_PER_NODE = 8
BOOT_TIMEOUT = 90.0  # seconds; the apiserver alone takes 10–40 s on 2 busy cores


class ControlPlaneError(RuntimeError):
    """A control-plane process did not start, or a kubectl call failed."""


def complete(folder: Path) -> bool:
    return all((folder / name).exists() for name in BINARIES)


def find_binaries() -> Path | None:
    """The folder holding every binary: ``GOVERNOR_CONTROL_PLANE_BIN``, ``KUBEBUILDER_ASSETS``, or the
    newest folder ``scripts/control-plane.sh`` built under ``~/.cache/governor/control-plane``."""
    cache_root = Path(os.environ.get("GOVERNOR_CONTROL_PLANE_CACHE") or CACHE)
    candidates = [Path(v) for k in ("GOVERNOR_CONTROL_PLANE_BIN", "KUBEBUILDER_ASSETS") if (v := os.environ.get(k))]
    built = sorted(cache_root.glob("*/bin"), key=lambda p: p.stat().st_mtime, reverse=True)
    return next((folder for folder in [*candidates, *built] if complete(folder)), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(pki: Path) -> None:
    """A CA, the apiserver's serving certificate for 127.0.0.1, and the service-account key pair."""
    pki.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=governor-test-ca", cwd=pki)  # fmt: skip
    (pki / "san.ext").write_text(
        "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=kube-apiserver", cwd=pki)  # fmt: skip
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "san.ext", cwd=pki)  # fmt: skip
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def kubeconfig(server: str, ca: Path, token: str, user: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "test", "user": user}}],
        "current-context": user,
    }


@dataclass
class ControlPlane:
    """One running control plane; ``kubectl`` runs as admin unless given another kubeconfig."""

    bin_dir: Path
    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    pod_cidr: str = field(default_factory=lambda: f"127.{secrets.choice(POD_CIDR_SECOND_OCTETS)}.0.0/18")

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def pki(self) -> Path:
        return self.workdir / "pki"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    # ---- start / stop ----------------------------------------------------------------------

    def start(self) -> ControlPlane:
        started = time.monotonic()
        self.logs.mkdir(parents=True, exist_ok=True)
        make_certificates(self.pki)
        self.ports = {"etcd": free_port(), "etcd-peer": free_port(), "apiserver": free_port()}
        groups = {"admin": "system:masters", "controller-manager": "system:masters", "scheduler": "system:masters",
                  "kwok": "system:masters"}  # fmt: skip
        self.tokens = {user: secrets.token_hex(16) for user in groups}
        (self.pki / "tokens.csv").write_text("".join(f'{self.tokens[u]},{u},{u},"{g}"\n' for u, g in groups.items()))
        for user in groups:
            path = self.admin_kubeconfig if user == "admin" else self.workdir / f"{user}.kubeconfig"
            path.write_text(yaml.safe_dump(kubeconfig(self.server, self.pki / "ca.crt", self.tokens[user], user)))
        self._start_etcd()
        self._start_apiserver()
        self.wait_ready()
        self._spawn("controller-manager", self._controller_manager_argv())
        self._spawn("scheduler", self._scheduler_argv())
        (self.workdir / STAGES).write_text(files(__package__ or "governor.testing").joinpath(STAGES).read_text())
        self._spawn("kwok", self._kwok_argv())
        self._add_gpu_nodes()
        self.boot_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            stop(self.procs.pop(name))

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again on the same port (etcd keeps the state)."""
        stop(self.procs.pop("apiserver"))
        self._start_apiserver()
        self.wait_ready()

    def _spawn(self, name: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def _start_etcd(self) -> None:
        port, peer = self.ports["etcd"], self.ports["etcd-peer"]
        self._spawn("etcd", [
            str(self.bin_dir / "etcd"), "--data-dir", str(self.workdir / "etcd"), "--unsafe-no-fsync",
            "--listen-client-urls", f"http://127.0.0.1:{port}", "--advertise-client-urls", f"http://127.0.0.1:{port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer}", "--log-level", "warn",
        ])  # fmt: skip

    def _start_apiserver(self) -> None:
        pki = self.pki
        self._spawn("apiserver", [
            str(self.bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.ports['apiserver']}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={pki / 'server.crt'}", f"--tls-private-key-file={pki / 'server.key'}",
            f"--client-ca-file={pki / 'ca.crt'}", f"--token-auth-file={pki / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",  # no node-lifecycle controller
            "--enable-admission-plugins=OwnerReferencesPermissionEnforcement",
            "--endpoint-reconciler-type=none", "--profiling=false", "--v=1",
        ])  # fmt: skip

    def _controller_manager_argv(self) -> list[str]:
        controllers = "deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller,"
        controllers += "garbage-collector-controller,namespace-controller"
        return [
            str(self.bin_dir / "kube-controller-manager"),
            f"--kubeconfig={self.workdir / 'controller-manager.kubeconfig'}",
            f"--controllers={controllers}", "--leader-elect=false", "--secure-port=0",
            "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10", "--v=1",
        ]  # fmt: skip

    def _scheduler_argv(self) -> list[str]:
        return [
            str(self.bin_dir / "kube-scheduler"), f"--kubeconfig={self.workdir / 'scheduler.kubeconfig'}",
            "--leader-elect=false", "--secure-port=0", "--v=1",
        ]  # fmt: skip

    def _kwok_argv(self) -> list[str]:
        return [
            str(self.bin_dir / "kwok"), f"--kubeconfig={self.workdir / 'kwok.kubeconfig'}",
            "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={self.pod_cidr}", "--node-ip=127.0.0.1", f"--config={self.workdir / STAGES}",
            f"--server-address=127.0.0.1:{free_port()}",
        ]  # fmt: skip

    def wait_ready(self, timeout: float = BOOT_TIMEOUT) -> None:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        request = urllib.request.Request(
            f"{self.server}/readyz", headers={"Authorization": f"Bearer {self.tokens['admin']}"}
        )
        deadline, last = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ControlPlaneError(f"{name} exited with {proc.returncode}; see {self.logs / name}.log")
            try:
                with urllib.request.urlopen(request, timeout=2.0, context=context) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError) as exc:
                last = str(exc)
            time.sleep(0.25)
        raise ControlPlaneError(f"kube-apiserver not ready after {timeout:.0f} s ({last}); see {self.logs}")

    def _add_gpu_nodes(self) -> None:
        for index in range(GPU_NODES):
            resources = {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": str(GPUS_PER_NODE)}
            self.apply({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": f"gpu-node-{index}", "annotations": {"kwok.x-k8s.io/node": "fake"},
                             "labels": {"type": "kwok", "nvidia.com/gpu.present": "true"}},
                "status": {"allocatable": resources, "capacity": resources},
            })  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            conditions = [n.get("status", {}).get("conditions", ()) for n in self.get_json("nodes")["items"]]
            ready = [c for c in conditions if any(x.get("type") == "Ready" and x.get("status") == "True" for x in c)]
            if len(ready) >= GPU_NODES:
                return
            time.sleep(0.25)
        raise ControlPlaneError(f"KWOK did not make the GPU nodes Ready; see {self.logs / 'kwok.log'}")

    # ---- kubectl ---------------------------------------------------------------------------

    def kubectl(
        self, *args: str, input: str | None = None, kubeconfig: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin_dir / "kubectl"), f"--kubeconfig={kubeconfig or self.admin_kubeconfig}", *args]
        result = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=60, check=False)
        if check and result.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result

    def apply(self, *docs: Mapping[str, Any], namespace: str | None = None) -> None:
        text = yaml.safe_dump_all([dict(d) for d in docs])
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                     *(["-n", namespace] if namespace else []), input=text)  # fmt: skip

    def apply_file(self, path: Path, namespace: str | None = None) -> None:
        self.kubectl("apply", "-f", str(path), *(["-n", namespace] if namespace else []))

    def get_json(self, *args: str) -> dict[str, Any]:
        return dict(json.loads(self.kubectl("get", *args, "-o", "json").stdout))

    def find(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        result = self.kubectl("get", resource, name, "-n", namespace, "-o", "json", check=False)
        if result.returncode != 0:
            if "NotFound" in result.stderr:
                return None
            raise ControlPlaneError(f"kubectl get {resource} {name}: {result.stderr.strip()}")
        return dict(json.loads(result.stdout))

    def service_account_kubeconfig(self, namespace: str, name: str, path: Path) -> Path:
        """A kubeconfig holding a real token of ``namespace/name`` (``kubectl create token``)."""
        token = self.kubectl("create", "token", name, "-n", namespace, "--duration=24h").stdout.strip()
        path.write_text(yaml.safe_dump(kubeconfig(self.server, self.pki / "ca.crt", token, f"{namespace}-{name}")))
        return path

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name} (last {len(tail)} lines) ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def __enter__(self) -> ControlPlane:
        try:
            return self.start()
        except BaseException:
            self.stop()  # whatever did start is stopped, also when start-up fails half-way
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
