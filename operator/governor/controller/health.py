"""Liveness and readiness of the operator, and the one HTTP server that answers for them and /metrics.

Kubernetes restarts a pod whose ``/healthz`` fails and takes one whose ``/readyz`` fails out of its
Service. What they mean here:

* live: the control-loop task is running and it turned within the last few tick periods (a hung
  tick or a dead task fails it; a standby turns too — it asks its peering gate every tick);
* ready: the loop's last turn succeeded — a full tick (Deployments listed) on the active replica,
  or an answer from the gate on a standby, which is ready and says it stands by.

The server runs in a daemon thread, apart from the asyncio loop, so a stuck event loop still gets a
clear "last tick N s ago" answer instead of a probe timeout. ``serve`` binds at once: a port in use
is an ``OSError`` the caller reports before anything else starts.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

STALE_TICKS = 3  # live while the loop turned within this many tick periods...
MIN_STALE_SECONDS = 60.0  # ...but never less than this (an API request may take 30 s)
STARTUP_GRACE_SECONDS = 120.0  # before the loop's first turn: Kopf logs in, lists, starts the loop

Check = tuple[bool, str]


@dataclass
class Health:
    """What the probes report, fed by the control loop at each turn (times from a monotonic clock)."""

    tick_seconds: float = 10.0
    clock: Callable[[], float] = time.monotonic
    task: asyncio.Task[None] | None = None  # the control loop, once started
    started_at: float = field(init=False)
    last_turn: float | None = None
    active: bool | None = None  # None before the first turn
    ok: bool = False  # the last turn succeeded
    problem: str = "no tick yet"

    def __post_init__(self) -> None:
        self.started_at = self.clock()

    def turned(self, active: bool) -> None:
        """The loop asked its gate (start of every tick, active or not); a standby's turn ends here."""
        self.last_turn, self.active = self.clock(), active
        if not active:
            self.ok, self.problem = True, ""

    def tick_done(self) -> None:
        self.ok, self.problem = True, ""

    def tick_failed(self, problem: str) -> None:
        self.ok, self.problem = False, problem

    def liveness(self) -> Check:
        now = self.clock()
        if self.task is not None and self.task.done():
            return False, "the control loop task has ended"
        if self.last_turn is None:
            waited = now - self.started_at
            return waited < STARTUP_GRACE_SECONDS, f"starting: no tick yet after {waited:.0f} s"
        age, limit = now - self.last_turn, max(STALE_TICKS * self.tick_seconds, MIN_STALE_SECONDS)
        return age <= limit, f"last tick {age:.0f} s ago (limit {limit:.0f} s)"

    def readiness(self) -> Check:
        if self.last_turn is None:
            return False, "no tick yet"
        if not self.ok:
            return False, self.problem
        if self.active:
            return True, "active: ticking"
        return True, "standing by: another replica is active (Kopf peering)"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # probes every few seconds: no access log
        return None


def wsgi_app(health: Health, registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    """``/healthz`` and ``/readyz`` (200 or 503, with the reason as text); everything else is /metrics."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        probe = {"/healthz": health.liveness, "/readyz": health.readiness}.get(environ.get("PATH_INFO", ""))
        if probe is None:
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        ok, text = probe()
        status = "200 OK" if ok else "503 Service Unavailable"
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [f"{'ok' if ok else 'failing'}: {text}\n".encode()]

    return app


@dataclass
class Server:
    """The running HTTP server; ``close`` stops it and frees the port."""

    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def serve(health: Health, registry: CollectorRegistry, port: int, addr: str = "0.0.0.0") -> Server:
    """Bind ``addr:port`` now (``OSError`` when taken) and answer in a daemon thread."""

    class Bound(_ThreadingServer):
        address_family = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

    httpd = make_server(addr, port, wsgi_app(health, registry), Bound, handler_class=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="governor-metrics", daemon=True)
    thread.start()
    return Server(httpd, thread)
