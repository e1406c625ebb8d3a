"""The operator benchmark's harness at 50 services: every service decided, and a steady tick writes nothing.

``benchmarks/bench_operator.py`` runs the same harness at 100 to 10,000 services; here it must hold
its promises on a small fleet, so a change that makes every tick rewrite every status, or loses a
service from the tick, fails in CI rather than only in a benchmark run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from governor.kube.client import KubernetesApi
from governor.testing.emulator import EmulatorThread
from tests.support.tick_bench import OperatorProcess, counting_emulator, create_services, drive

SIZE = 50


def test_steady_ticks_write_nothing_and_a_load_change_writes_only_its_services(tmp_path: Path) -> None:
    kmock = counting_emulator()
    with EmulatorThread(emulator=kmock) as thread:
        client = KubernetesApi.for_url(thread.url)
        try:
            asyncio.run(create_services(client, SIZE, namespaces=5))
        finally:
            client.close()
        process = OperatorProcess(
            url=thread.url, log=tmp_path / "operator.log", server_writes=lambda: sum(kmock.writes.values())
        )
        process.start()
        try:
            run = drive(process, SIZE, settle=2, steady=3, change=0.1, limit_s=60)
        finally:
            process.kill()
    assert run.reconciled_s is not None
    assert all(t.decided == SIZE and t.services == SIZE for t in run.steady)
    # Nothing changed: no status, scale or Event write, from Governor or anyone else the API server saw.
    assert [t.writes for t in run.steady] == [0, 0, 0]
    assert [t.api_writes for t in run.steady] == [0, 0, 0]
    # A tenth of the services triple their load: each is scaled and its status written, no other one.
    changed = run.changed[0]
    assert changed.requests.get("PATCH deployments", 0) == run.changed_services == 5
    assert changed.status_writes + run.changed[1].status_writes <= 3 * run.changed_services
    assert run.rss_mb > 0
