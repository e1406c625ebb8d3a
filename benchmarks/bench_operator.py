"""Benchmark: Governor's whole control tick (collect + decide + act + status write) at 100 / 1,000 / 10,000 services.

The real operator — ``build_controller`` as ``governor run`` wires it, Kopf, the real control loop, the real
decision engine, actuator and alerting hook — runs in a child process against the KMock emulator, and
against a real kube-apiserver (etcd + kube-apiserver only: no controller-manager, scheduler or KWOK
compete for the two cores) at the sizes that fit. Only the metrics source is a stand-in: fresh
synthetic observations for every service on every tick (Prometheus at 10,000 services is
``bench_collector.py``'s subject). The services are owned-mode vLLM services in 20 namespaces.

Per size and API server:
1. the services are created; a first operator starts, creates every owned Deployment and Service and
   decides every service once (``first start``), then stops;
2. a fresh operator starts against the API already holding them: ``resume`` is the time from its
   process start to the end of the first tick that decided every service;
3. then, on that operator: steady ticks with nothing changed (exact readings), one tick in which 1 % of
   the services triple their load, and steady ticks whose latency and GPU readings jitter by 2 %, as
   real readings do from one tick to the next.

``tick`` is the wall time of one tick (median and max of the steady ticks); writes are the POST / PATCH /
DELETE requests Governor sent in one tick, and the API server's own count of every write it saw
between two ticks (KMock's request count, kube-apiserver's ``apiserver_request_total``); ``RSS`` is the
operator process' peak (VmHWM over both runs). Ticks run back to back (0.2 s period), the status
heartbeat is the default 60 s.

Governor's own share of the tick at 1,000 and 10,000 is measured apart, in-process over ``MemoryApi`` (no API
server, no Kopf, simulated 10 s ticks: ``tests/support/tick_inprocess.py``), since no API server here holds
10,000 services in reasonable time.

Run: PYTHONPATH=operator .venv/bin/python benchmarks/bench_operator.py [--sizes 100,1000] [--emulator-only | --real]
     [--real-sizes 100] [--in-process-sizes 1000,10000] [--json OUT]
     (about 5 minutes on 2 cores; exit 1 when a target fails)

The default sizes are 100 and 1,000 on the emulator and 100 on the real API server: at 10,000 the emulator
itself is the bottleneck (the run prints why), the real one's first start of 1,000 services took over
4 minutes on 2 shared cores (``--real-sizes 100,1000`` runs it), and larger real sizes are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.tick_bench import OperatorProcess, Run, counting_emulator, create_services, drive

from governor import data
from governor.kube.client import KubernetesApi
from governor.testing.control_plane import ControlPlane, find_binaries
from governor.testing.emulator import EmulatorThread

SIZES = (100, 1000)  # 10,000 on request (--sizes): see EMULATOR_10K
REAL_SIZES = (100,)  # 1,000 on request (--real-sizes 100,1000); larger ones are skipped
REAL_MAX = 1000
EMULATOR_10K = (
    "emulator at 10,000: not in the default run; KMock slows down with the objects it holds (creating 10,000 "
    "InferenceServices took 67 s, and the first operator had not created their Deployments after 3 minutes, "
    "with the emulator's thread on a full core): pass --sizes 10000 to try, it takes far longer than 10 minutes"
)
NAMESPACES = 20
CHANGE, JITTER = 0.01, 0.02
TICK_TARGET_S, RSS_TARGET_MB, RESUME_TARGET_S = 3.0, 600.0, 60.0
# A steady tick may write what the heartbeat spreads over it (services × tick / heartbeat) plus 1 % slack;
# a tick where 1 % of the services change load may write, per changed service, its status, its scale and
# an Event, and the next tick its status once more.
HEARTBEAT_S = 60.0
WRITES_PER_CHANGE = 4
SERVER_WRITE_VERBS = ('verb="POST"', 'verb="PATCH"', 'verb="PUT"', 'verb="DELETE"', 'verb="APPLY"')


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Api:
    """One API server holding the services: where the operator connects, and its own write count."""

    kind: str  # "emulator" | "real"
    url: str
    writes: Callable[[], int]
    token: str | None = None
    ca: str | None = None


@contextlib.contextmanager
def emulator() -> Iterator[Api]:
    kmock = counting_emulator()
    with EmulatorThread(emulator=kmock) as thread:
        yield Api("emulator", thread.url, lambda: sum(kmock.writes.values()))


class ApiServerOnly(ControlPlane):
    """etcd and kube-apiserver only: nothing else runs on the cores the operator is measured on."""

    def _spawn(self, name: str, argv: Any) -> Any:
        if name in ("controller-manager", "scheduler", "kwok"):
            return None
        return super()._spawn(name, argv)

    def _add_gpu_nodes(self) -> None:
        return None


@contextlib.contextmanager
def real(binaries: Path) -> Iterator[Api]:
    with tempfile.TemporaryDirectory(prefix="bench-operator-") as tmp, ApiServerOnly(binaries, Path(tmp)) as plane:
        plane.apply(data.crd())  # the CRD shipped with Governor (package data, a copy of crds/)
        plane.kubectl("wait", "--for=condition=Established", "crd/inferenceservices.governor.dev", "--timeout=60s")
        token, ca = plane.tokens["admin"], str(plane.pki / "ca.crt")
        yield Api("real", plane.server, lambda: apiserver_writes(plane.server, token, ca), token, ca)


def apiserver_writes(server: str, token: str, ca: str) -> int:
    """Every write kube-apiserver has served, from its own ``apiserver_request_total``."""
    import ssl

    context = ssl.create_default_context(cafile=ca)
    request = urllib.request.Request(f"{server}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30, context=context) as resp:
        lines = resp.read().decode().splitlines()
    total = 0.0
    for line in lines:
        if line.startswith("apiserver_request_total{") and any(v in line for v in SERVER_WRITE_VERBS):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


@dataclass
class Result:
    api: str
    size: int
    create_s: float
    first_start_s: float
    resume_s: float
    tick_median_s: float
    tick_max_s: float
    tick_cpu_s: float  # median operator CPU per steady tick
    reads_per_tick: int
    steady_writes: int  # max over the steady ticks, Governor's count
    steady_server_writes: int | None  # max over the steady ticks, the API server's count
    changed_services: int
    change_writes: int  # the change tick and the one after it
    change_server_writes: int | None
    jitter_writes: int  # median over the jittered ticks
    rss_mb: float
    checks: dict[str, bool]


def process(api: Api, log: Path) -> OperatorProcess:
    return OperatorProcess(url=api.url, log=log, server_writes=api.writes, token=api.token, ca=api.ca)


def measure(api: Api, size: int, workdir: Path, steady: int) -> Result:
    client = KubernetesApi.for_url(api.url, token=api.token, ca_file=api.ca)
    started = time.monotonic()
    try:
        asyncio.run(create_services(client, size, NAMESPACES))
    finally:
        client.close()
    create_s = time.monotonic() - started
    say(f"{api.kind} {size}: {size} InferenceServices created in {create_s:.1f} s; first operator starts")
    first = _run(process(api, workdir / f"{api.kind}-{size}-first.log"), size, steady=0)
    say(f"{api.kind} {size}: first start {first.reconciled_s:.1f} s; a fresh operator resumes them")
    resumed = _run(process(api, workdir / f"{api.kind}-{size}-resume.log"), size, steady=steady)
    say(f"{api.kind} {size}: resumed in {resumed.reconciled_s:.1f} s")
    return summarise(api.kind, size, create_s, first, resumed)


def _run(proc: OperatorProcess, size: int, steady: int) -> Run:
    proc.start()
    try:
        return drive(
            proc, size, settle=2, steady=steady, change=CHANGE, jitter=JITTER, jittered=min(3, steady),
            limit_s=900, progress=lambda m: say(f"  {m}"),
        )  # fmt: skip
    finally:
        proc.kill()


def summarise(kind: str, size: int, create_s: float, first: Run, run: Run) -> Result:
    walls = [t.wall for t in run.steady]
    server = [t.api_writes for t in run.steady if t.api_writes is not None]
    change_server = [t.api_writes for t in run.changed if t.api_writes is not None]
    steady_writes = max(t.writes for t in run.steady)
    change_writes = sum(t.writes for t in run.changed)
    heartbeat_share = size * statistics.median(walls) / HEARTBEAT_S + size * 0.01
    jitter = int(statistics.median(t.writes for t in run.jittered)) if run.jittered else 0
    checks = {
        "tick": statistics.median(walls) <= TICK_TARGET_S,
        "steady writes": steady_writes <= heartbeat_share and max(server, default=0) <= heartbeat_share,
        "1 % change writes": change_writes <= WRITES_PER_CHANGE * run.changed_services,
        "jittered writes": jitter <= heartbeat_share,
        "RSS": max(first.rss_mb, run.rss_mb) <= RSS_TARGET_MB,
        "resume": (run.reconciled_s or float("inf")) <= RESUME_TARGET_S,
    }
    return Result(
        api=kind,
        size=size,
        create_s=create_s,
        first_start_s=first.reconciled_s or float("nan"),
        resume_s=run.reconciled_s or float("nan"),
        tick_median_s=statistics.median(walls),
        tick_max_s=max(walls),
        tick_cpu_s=statistics.median(t.cpu for t in run.steady),
        reads_per_tick=run.steady[-1].reads,
        steady_writes=steady_writes,
        steady_server_writes=max(server) if server else None,
        changed_services=run.changed_services,
        change_writes=change_writes,
        change_server_writes=sum(change_server) if change_server else None,
        jitter_writes=jitter,
        rss_mb=max(first.rss_mb, run.rss_mb),
        checks=checks,
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(results: list[Result]) -> None:
    print(f"{'API':<9}{'services':>9}{'tick med':>9}{'max':>7}{'cpu':>7}{'reads':>6}{'steady w':>9}{'1% w':>10}"
          f"{'jitter w':>9}{'RSS MB':>8}{'first s':>8}{'resume s':>9}")  # fmt: skip
    for r in results:
        server = "" if r.steady_server_writes is None else f"/{r.steady_server_writes}"
        change = f"{r.change_writes}/{r.changed_services}"
        print(f"{r.api:<9}{r.size:>9,}{r.tick_median_s:>9.2f}{r.tick_max_s:>7.2f}{r.tick_cpu_s:>7.2f}"
              f"{r.reads_per_tick:>6}{f'{r.steady_writes}{server}':>9}{change:>10}{r.jitter_writes:>9}"
              f"{r.rss_mb:>8.0f}{r.first_start_s:>8.1f}{r.resume_s:>9.1f}")  # fmt: skip
    print()
    print("steady w: writes in a steady tick (Governor's / the API server's count); 1% w: writes in the change tick")
    print("and the next / services changed; jitter w: writes per tick when readings jitter by 2 %")
    print()
    print(f"{'API':<9}{'services':>9}  " + "  ".join(f"{name:<17}" for name in results[0].checks))
    for r in results:
        print(f"{r.api:<9}{r.size:>9,}  " + "  ".join(f"{verdict(ok):<17}" for ok in r.checks.values()))
    print(f"\ntargets: tick median ≤ {TICK_TARGET_S:g} s; steady and jittered writes ≤ services × tick / "
          f"{HEARTBEAT_S:g} s heartbeat + 1 %; 1 % change ≤ {WRITES_PER_CHANGE} writes per changed service; "
          f"RSS ≤ {RSS_TARGET_MB:g} MB; resume ≤ {RESUME_TARGET_S:g} s")  # fmt: skip


IN_PROCESS_SIZES = (1000, 10_000)


def in_process(size: int, steady: int) -> dict[str, Any]:
    """``tests/support/tick_inprocess.py`` in a child process: the tick over ``MemoryApi``, no API server."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root / 'operator'}:{root}"}
    say(f"in-process {size}: building {size:,} services in memory, resume, {steady} steady ticks")
    out = subprocess.run(
        [sys.executable, str(root / "tests" / "support" / "tick_inprocess.py"), str(size), str(steady)],
        env=env, capture_output=True, text=True, timeout=1800, check=True,
    )  # fmt: skip
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return row


def in_process_table(rows: list[dict[str, Any]]) -> bool:
    """Print the in-process rows and their checks; True when every target holds."""
    print("\nin-process (MemoryApi, no API server, no Kopf; simulated 2 s ticks, so no heartbeat falls due):")
    print(f"{'services':>9}{'tick med':>9}{'max':>7}{'steady w':>9}{'1% w':>10}{'jitter w':>9}"
          f"{'RSS MB':>8}{'of it API':>10}{'resume s':>9}  tick    RSS     resume")  # fmt: skip
    ok = True
    for r in rows:
        checks = (
            r["tick_median_s"] <= TICK_TARGET_S,
            r["rss_mb"] <= RSS_TARGET_MB,
            r["resume_s"] <= RESUME_TARGET_S,
        )
        ok = ok and all(checks)
        print(f"{r['size']:>9,}{r['tick_median_s']:>9.2f}{r['tick_max_s']:>7.2f}{r['steady_writes']:>9}"
              f"{r['change_writes']:>6}/{r['changed_services']:<3}{r['jitter_writes']:>9}{r['rss_mb']:>8.0f}"
              f"{r['world_rss_mb']:>10.0f}{r['resume_s']:>9.1f}  "
              + "  ".join(f"{verdict(c):<6}" for c in checks))  # fmt: skip
    print("RSS is the process peak, the in-memory API's own objects included ('of it API': the process with the")
    print("API's objects before the operator starts)")
    return ok


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="emulator sizes (default %(default)s)")
    parser.add_argument("--real-sizes", default=",".join(map(str, REAL_SIZES)),
                        help=f"real control-plane sizes (default %(default)s; above {REAL_MAX:,} skipped)")  # fmt: skip
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--emulator-only", action="store_true", help="skip the real control plane")
    which.add_argument("--real", action="store_true", help="only the real control plane")
    parser.add_argument("--in-process-sizes", default=",".join(map(str, IN_PROCESS_SIZES)),
                        help="sizes of the tick over an in-memory API ('' skips; default %(default)s)")  # fmt: skip
    parser.add_argument("--steady", type=int, default=5, help="steady ticks per size (default %(default)s)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    return parser.parse_args(argv)


def sizes(text: str) -> list[int]:
    return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    print("metrics source: a stand-in with fresh synthetic observations for every service (not Prometheus)")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-operator-logs-") as tmp:
        workdir = Path(tmp)
        if not args.real:
            if 10_000 not in sizes(args.sizes):
                print(EMULATOR_10K)
            for size in sizes(args.sizes):
                with emulator() as api:
                    results.append(measure(api, size, workdir, args.steady))
        if not args.emulator_only:
            results += run_real(sizes(args.real_sizes), workdir, args.steady)
    memory_rows = [in_process(size, args.steady) for size in sizes(args.in_process_sizes)]
    if not results and not memory_rows:
        print("nothing measured")
        return 1
    if results:
        table(results)
    memory_ok = in_process_table(memory_rows) if memory_rows else True
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps({"servers": [asdict(r) for r in results], "in_process": memory_rows}, indent=2))
    return 0 if memory_ok and all(all(r.checks.values()) for r in results) else 1


def run_real(wanted: list[int], workdir: Path, steady: int) -> list[Result]:
    binaries = find_binaries()
    if binaries is None:
        print(
            "real control plane: skipped, no binaries (run scripts/control-plane.sh or set GOVERNOR_CONTROL_PLANE_BIN)"
        )
        return []
    results = []
    for size in wanted:
        if size > REAL_MAX:
            print(f"real control plane at {size:,}: skipped, the first start of 1,000 services alone took over "
                  f"4 minutes on 2 shared cores")  # fmt: skip
            continue
        with real(binaries) as api:
            results.append(measure(api, size, workdir, steady))
    return results


if __name__ == "__main__":
    sys.exit(main())
