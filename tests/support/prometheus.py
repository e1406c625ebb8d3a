"""A real Prometheus for the tests, remote write for instant data, and simulated pods in a thread.

Prometheus' first scrape lands ~5.5 s after start, so suites start one instance per session
(``prometheus_instance``) and reuse it. Remote write (``/api/v1/write``: a snappy-compressed
protobuf ``WriteRequest``, hand-encoded here) makes series queryable at once with exactly the
values a test chose. Simulated model servers run on their own event loop in a thread, so
synchronous session fixtures can start and stop them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import snappy
import yaml

from governor.testing.servers import ServerHandle, SimulatedModelServer, start_server
from tests.support.processes import free_port, require_binary, running

Labels = Mapping[str, str]
Points = Sequence[tuple[int, float]]  # (timestamp ms, value)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_write_request(series: Sequence[tuple[Labels, Points]]) -> bytes:
    """prometheus.WriteRequest{timeseries: [TimeSeries{labels, samples}]}, uncompressed."""
    body = bytearray()
    for labels, points in series:
        ts = bytearray()
        for name in sorted(labels):  # remote write requires labels sorted by name
            ts += _field(1, _field(1, name.encode()) + _field(2, str(labels[name]).encode()))
        for stamp, value in points:
            sample = b"\x09" + struct.pack("<d", value) + b"\x10" + _varint(stamp & 0xFFFFFFFFFFFFFFFF)
            ts += _field(2, sample)
        body += _field(1, bytes(ts))
    return bytes(body)


def remote_write(base_url: str, series: Sequence[tuple[Labels, Points]], batch: int = 2000) -> None:
    for start in range(0, len(series), batch):
        payload = snappy.compress(encode_write_request(series[start : start + batch]))
        request = urllib.request.Request(
            base_url + "/api/v1/write",
            data=payload,
            method="POST",
            headers={
                "Content-Encoding": "snappy",
                "Content-Type": "application/x-protobuf",
                "X-Prometheus-Remote-Write-Version": "0.1.0",
            },
        )
        with urllib.request.urlopen(request, timeout=60) as resp:
            if resp.status not in (200, 204):
                raise RuntimeError(f"remote write answered {resp.status}")


def query(base_url: str, expr: str) -> list[dict[str, Any]]:
    url = base_url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=30) as resp:
        return list(json.load(resp)["data"]["result"])


@dataclass(frozen=True)
class Target:
    address: str  # host:port
    labels: Labels


def write_config(
    workdir: Path,
    targets: Sequence[Target] = (),
    scrape_interval: str = "1s",
    rule_files: Sequence[Path] = (),
    evaluation_interval: str = "15s",
) -> Path:
    """Write ``prometheus.yml`` (scrape jobs, rule files); call ``reload`` after a change."""
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": scrape_interval,
            "scrape_timeout": scrape_interval,
            "evaluation_interval": evaluation_interval,
        },
        "scrape_configs": [
            {
                "job_name": "models",
                "static_configs": [{"targets": [t.address], "labels": dict(t.labels)} for t in targets],
            }
        ]
        if targets
        else [],
    }
    if rule_files:
        config["rule_files"] = [str(path) for path in rule_files]
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def reload(base_url: str) -> None:
    """Make Prometheus re-read its configuration and rule files (``--web.enable-lifecycle``)."""
    request = urllib.request.Request(base_url + "/-/reload", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=60) as resp:
        if resp.status != 200:
            raise RuntimeError(f"reload answered {resp.status}")


@contextlib.contextmanager
def prometheus(
    workdir: Path,
    targets: Sequence[Target] = (),
    scrape_interval: str = "1s",
    extra_args: Sequence[str] = (),
    rule_files: Sequence[Path] = (),
    evaluation_interval: str = "15s",
    port: int | None = None,
) -> Iterator[str]:
    """Run Prometheus scraping ``targets`` (and evaluating ``rule_files``) until the block exits; yields its URL.

    Pass ``port`` to restart a Prometheus at the address a client already holds.
    """
    binary = require_binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = write_config(workdir, targets, scrape_interval, rule_files, evaluation_interval)
    port = free_port() if port is None else port
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-remote-write-receiver",
        "--web.enable-lifecycle",
        "--log.level=warn",
        *extra_args,
    ]
    with running(argv, ready_url=url + "/-/ready", log_path=workdir / "prometheus.log", timeout=30):
        yield url


class ServerFleet:
    """Simulated model servers served from one background event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sim-servers", daemon=True)
        self._thread.start()
        self.handles: list[ServerHandle] = []

    def start(self, server: SimulatedModelServer) -> ServerHandle:
        handle = asyncio.run_coroutine_threadsafe(start_server(server), self.loop).result(10)
        self.handles.append(handle)
        return handle

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the servers' loop (e.g. ``server.set_load``) and wait for it."""

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        for handle in self.handles:
            asyncio.run_coroutine_threadsafe(handle.stop(), self.loop).result(10)
        self.handles.clear()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
