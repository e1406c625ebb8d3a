"""A real Prometheus scraping a real Governor operator that has been through a bad day.

The operator (Kopf + the control loop, against the KMock emulator) runs with the real direct-scrape
metrics source, the real alert engine and notifier, and serves its ``/metrics`` on a free port;
Prometheus scrapes it the way the ServiceMonitor does (target labels ``namespace``/``service``/``pod``,
``honor_labels``). The world gives every metric a reason to exist: ``chat`` is overloaded (SLO
burn alerts), ``search``'s pod serves a page over the scrape bound (a rejection, MetricsUnavailable),
one receiver answers and one is down with a tiny queue (deliveries, retries, drops), and the
emulator refuses ``search``'s status writes (API errors). A labelled counter has no series before
its first count, so a healthier world would leave those panels empty.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from prometheus_client import CollectorRegistry

from governor.alerting import AlertEngine, DictConfigReader, Notifier, ReceiverRegistry
from governor.alerting.config import CONFIG_KEY
from governor.controller.metrics import OperatorMetrics
from governor.metrics.build import build_source
from governor.model import ServiceKey
from governor.settings import PrometheusSettings, Settings
from governor.testing.client import KubeClient, wait_for
from governor.testing.emulator import EmulatorThread
from governor.testing.servers import LatencyDistribution, ServedLoad, SimulatedModelServer
from governor.testing.standins import DeploymentStandIn
from tests.integration.controller.test_owned import NS, service
from tests.integration.metrics.conftest import StaticPods
from tests.support.kube_operator import run_operator
from tests.support.processes import free_port
from tests.support.prometheus import ServerFleet, prometheus, query, reload

RECEIVERS_NS, RECEIVERS_CM = "governor-system", "governor-receivers"
SCRAPE_MAX_BYTES = 64 * 1024
VLLM = {"preset": "vllm", "gpuSource": "none"}
# What the ServiceMonitor's target carries (Prometheus Operator relabelling); honor_labels keeps the exposed ones.
TARGET_LABELS = {"namespace": "governor-system", "service": "governor-metrics", "pod": "governor-0"}


class OversizedPage(SimulatedModelServer):
    """A pod whose /metrics page is twice the scrape bound."""

    def render(self) -> str:
        return "vllm:num_requests_waiting 1\n" * (2 * SCRAPE_MAX_BYTES // 28 + 1)


@dataclass(frozen=True)
class Governed:
    prometheus_url: str
    metrics: OperatorMetrics
    workdir: Path


def _receivers(ok_url: str, down_url: str) -> str:
    hook = {"kind": "webhook", "group_by": ["..."], "group_wait": "0s", "send_resolved": True, "namespaces": ["*"]}
    config = {
        "receivers": [{"name": "ops", "url": ok_url, **hook}, {"name": "pager", "url": down_url, **hook}],
        "default_receivers": ["ops", "pager"],
        "rules": {"at_capacity_for": "1s", "metrics_unavailable_for": "1s", "burn_rate_for": "0s"},
    }
    return yaml.safe_dump(config)


async def _start_webhook() -> tuple[web.AppRunner, str]:
    async def accept(_: web.Request) -> web.Response:
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/{tail:.*}", accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


def _search_status_write(request: object) -> bool:
    """The emulator refuses every status write of ``search`` (HTTP 409): the operator's API errors."""
    return (
        getattr(request, "name", None) == "search"
        and getattr(request, "subresource", None) == "status"
        and "inferenceservices" in str(getattr(request, "resource", ""))
    )


def _fires(client: KubeClient, name: str, alertname: str) -> bool:
    status = (client.find("inferenceservices", NS, name) or {}).get("status") or {}
    return any(a.get("name") == alertname and a.get("state") == "firing" for a in status.get("alerts") or [])


def _scrape_config(path: Path, port: int) -> None:
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    config["scrape_configs"] = [
        {
            "job_name": "governor-metrics",
            "honor_labels": True,
            "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": TARGET_LABELS}],
        }
    ]
    path.write_text(yaml.safe_dump(config))


def _missing(metrics: OperatorMetrics) -> list[str]:
    """What the bad day has not produced yet."""
    counted = {s.name for m in metrics.registry.collect() for s in m.samples if s.value > 0}
    wanted = [
        "governor_api_errors_total",
        "governor_scrape_rejected_total",
        "governor_alert_queue_dropped_total",
        "governor_alert_notifications_total",
        "governor_service_alerts",
        "governor_service_slo_attainment",
    ]
    return [name for name in wanted if name not in counted]


def _scraped(base_url: str) -> set[str]:
    """The metric names Prometheus holds samples of."""
    return {str(r["metric"]["__name__"]) for r in query(base_url, 'group by (__name__) ({__name__=~"governor_.+"})')}


def _wait_for_the_bad_day(metrics: OperatorMetrics, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while missing := _missing(metrics):
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout:g} s the operator has not produced: {', '.join(missing)}")
        time.sleep(0.2)


def _pods(fleet: ServerFleet) -> StaticPods:
    """``chat``: an overloaded vLLM pod (half the requests over the SLO); ``search``: an oversized page."""
    overloaded = ServedLoad(rps=400.0, latency=LatencyDistribution(((0.1, 0.3, 0.5), (1.0, 3.0, 0.5))), error_ratio=0.2)
    chat = fleet.start(SimulatedModelServer("vllm", overloaded))
    oversized = fleet.start(OversizedPage("vllm"))
    return StaticPods(
        {
            ServiceKey(NS, "chat"): [f"{chat.host}:{chat.port}"],
            ServiceKey(NS, "search"): [f"{oversized.host}:{oversized.port}"],
        }
    )


def _alerting(registry: CollectorRegistry, ok_url: str) -> tuple[AlertEngine, Notifier]:
    """The real alert engine and notifier; ``pager`` points at a closed port, and the queue holds two."""
    config = _receivers(ok_url, f"http://127.0.0.1:{free_port()}/down")
    reader = DictConfigReader(configmaps={(RECEIVERS_NS, RECEIVERS_CM): {CONFIG_KEY: config}})
    receivers = ReceiverRegistry(reader, RECEIVERS_NS, RECEIVERS_CM)
    notifier = Notifier(receivers, queue_limit=2, registry=registry, base_delay=0.05, max_delay=0.2)
    return AlertEngine(receivers, notifier), notifier


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Governed]:
    workdir = tmp_path_factory.mktemp("governed")
    metrics = OperatorMetrics()
    fleet, emulator = ServerFleet(), EmulatorThread()
    webhook: web.AppRunner | None = None
    try:
        settings = Settings(prometheus=PrometheusSettings(scrape_max_bytes=SCRAPE_MAX_BYTES, timeout_seconds=1.0))
        source = build_source(settings, _pods(fleet), on_scrape_rejected=metrics.count_scrape_rejected)
        webhook, ok_url = asyncio.run_coroutine_threadsafe(_start_webhook(), fleet.loop).result(10)
        alerts, notifier = _alerting(metrics.registry, ok_url)
        client, port = KubeClient(emulator.start()), free_port()
        with (
            prometheus(workdir, scrape_interval="1s", evaluation_interval="1s") as prom_url,
            run_operator(
                emulator.url,
                tick_seconds=0.3,
                metrics_port=port,
                metrics=metrics,
                metrics_source=source,
                alerts=alerts,
                background=(notifier,),
            ),
            DeploymentStandIn(client, delay=0.1),
        ):
            _scrape_config(workdir / "prometheus.yml", port)
            reload(prom_url)
            for name in ("chat", "search"):
                client.create("inferenceservices", service(name, maxReplicas=3, slo={"latencyMs": 300}, metrics=VLLM))
            wait_for(lambda: _fires(client, "search", "MetricsUnavailable"), what="search's status with its alert")
            emulator.emulator.conflict_rules.append(_search_status_write)
            _wait_for_the_bad_day(metrics)
            exported = {s.name for m in metrics.registry.collect() for s in m.samples}
            wait_for(lambda: exported <= _scraped(prom_url), timeout=30, what="Prometheus to scrape every series")
            time.sleep(3)  # a few more scrapes, so rates over the last 30 s have several points
            yield Governed(prom_url, metrics, workdir)
    finally:
        if webhook is not None:
            asyncio.run_coroutine_threadsafe(webhook.cleanup(), fleet.loop).result(10)
        fleet.stop()
        emulator.stop()
