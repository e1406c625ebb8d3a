"""Local HTTP receivers that answer like Slack, PagerDuty or a generic webhook, with scripted answers.

Each ``ScriptedReceiver`` runs an aiohttp server on a free loopback port in its own thread
and event loop, so one instance serves both synchronous session fixtures and async tests.
A test scripts the next answers (``script(503, 503, (429, {"Retry-After": "1"}))``), can take
the receiver down (connections refused) and bring it back on the same port, and reads
every request it got. Always stopped by the ``running_receiver`` context manager.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.processes import free_port

Answer = int | tuple[int, dict[str, str]]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    at: float = field(default_factory=time.time)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def _default_answer(kind: str, body: bytes) -> web.Response:
    if kind == "slack":
        return web.Response(status=200, text="ok")
    if kind == "pagerduty":
        try:
            dedup = json.loads(body).get("dedup_key", "")
        except ValueError:
            return web.json_response({"status": "invalid event", "message": "Event object is invalid"}, status=400)
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": dedup}, status=202)
    return web.Response(status=200, text="")


def _error_body(kind: str, status: int) -> web.Response:
    if kind == "slack":
        text = {400: "invalid_payload", 403: "invalid_token", 404: "no_service", 429: "rate_limited"}.get(
            status, "error"
        )
        return web.Response(status=status, text=text)
    if kind == "pagerduty":
        return web.json_response({"status": "error", "message": f"HTTP {status}"}, status=status)
    return web.Response(status=status, text=f"scripted {status}")


class ScriptedReceiver:
    """A receiver of ``kind`` "webhook" | "slack" | "pagerduty" at ``url``."""

    def __init__(self, kind: str = "webhook") -> None:
        self.kind = kind
        self.port = free_port()
        self.requests: list[Received] = []
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"receiver-{kind}", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    # ---- control ------------------------------------------------------------------------------
    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()
        self._call(self._up())

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._down())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def go_down(self) -> None:
        """Close the port: connections are refused until ``come_up``."""
        self._call(self._down())

    def come_up(self) -> None:
        self._call(self._up())

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with these statuses (then the kind's normal answer)."""
        with self._lock:
            self._script.extend(answers)

    def received(self, predicate: Callable[[Received], bool] = lambda r: True) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if predicate(r)]

    def accepted(self) -> list[Received]:
        return self.received(lambda r: 200 <= r.status < 300)

    async def wait_for(self, predicate: Callable[[list[Received]], bool], within: float = 20.0) -> list[Received]:
        """Poll until ``predicate(accepted requests)`` holds; raise TimeoutError otherwise."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            got = self.accepted()
            if predicate(got):
                return got
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.kind} receiver: condition not met in {within}s; got {len(self.accepted())} requests")

    # ---- inside the receiver's loop ----------------------------------------------------------
    def _call(self, coro: Any) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(15)

    async def _up(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
        self._runner = runner

    async def _down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            answer = self._script.popleft() if self._script else None
        if answer is None:
            response = _default_answer(self.kind, body)
        else:
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            response = _default_answer(self.kind, body) if status < 300 else _error_body(self.kind, status)
            response.set_status(status)
            response.headers.update(headers)
        with self._lock:
            self.requests.append(Received(request.path, dict(request.headers), body, response.status))
        return response


@contextlib.contextmanager
def running_receiver(kind: str = "webhook") -> Iterator[ScriptedReceiver]:
    receiver = ScriptedReceiver(kind)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
