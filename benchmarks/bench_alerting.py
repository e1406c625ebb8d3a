"""How much a control tick spends on alerting, and what the delivery queue sustains.

Prints: rule evaluation + lifecycle + routing per service per tick (1,000 services, a day of
burn-rate history each), the size of the persisted status, and notifications per second
through the queue to a local webhook receiver. It reuses the test builders, so run it from the
repository root: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_alerting.py``.
"""

from __future__ import annotations

import asyncio
import json
import time

from tests.integration.alerting.helpers import note, notifier, registry_for
from tests.support.receivers import running_receiver
from tests.unit.alerting.factories import RecordingSink, StaticCatalog, decision, observation, spec

from governor.alerting import AlertEngine
from governor.alerting.rules import AlertContext

SERVICES = 1000
T0 = 1_700_000_000.0


def bench_evaluate() -> None:
    sink = RecordingSink()
    engine = AlertEngine(StaticCatalog(), sink)
    specs = [spec(name=f"svc-{i}", receivers=("slack",)) for i in range(SERVICES)]
    for s in specs:  # a day of history at 60 s resolution
        history = engine.history(s)
        for k in range(1440):
            history.record(observation(T0 - 86400 + 60 * k, attainment=0.999))
    status: dict[str, list] = {s.name: [] for s in specs}
    ticks = 5
    start = time.perf_counter()
    for k in range(ticks):
        now = T0 + 10 * k
        ctx = AlertContext(rollout_failed=k % 2 == 0)
        for s in specs:
            result = engine.evaluate(s, observation(now, attainment=0.99), decision(now), ctx, status[s.name], now)
            status[s.name] = result.status
        sink.deliver_all(now)
    per = (time.perf_counter() - start) / (ticks * SERVICES)
    budget = engine.history(specs[0]).to_status()
    print(
        f"evaluate: {per * 1e6:.0f} µs per service per tick ({SERVICES} services → {per * SERVICES * 1e3:.0f} ms/tick)"
    )
    print(f"status: alerts {len(json.dumps(status[specs[0].name]))} B, burn-rate history {len(json.dumps(budget))} B")


async def bench_delivery() -> None:
    with running_receiver("webhook") as hook:
        yaml = (
            f"receivers: [{{name: hook, kind: webhook, url: '{hook.url}h', group_wait: 0s, group_by: ['...'],"
            " rate_limit: {per_second: 100000, burst: 1000}}]"
        )
        registry = await registry_for(yaml)
        sender, _ = notifier(registry, queue_limit=100000)
        await sender.start()
        n = 2000
        start = time.perf_counter()
        sender.submit([note(registry, "hook", f"svc-{i}") for i in range(n)])
        async with asyncio.timeout(120):
            await sender.wait_idle()
        took = time.perf_counter() - start
        await sender.stop()
        print(f"delivery: {n} notifications (one request each) in {took:.2f} s → {n / took:.0f}/s to a local webhook")


if __name__ == "__main__":
    bench_evaluate()
    asyncio.run(bench_delivery())
