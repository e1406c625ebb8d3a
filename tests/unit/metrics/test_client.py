"""The HTTP client: answers, the unavailable/rejected split, rotated tokens, and the garbage-collector pause."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from governor.metrics.client import HttpQueryClient, QueryRejected, paused_gc
from governor.metrics.source import MetricsUnavailable
from governor.settings import PrometheusSettings


@pytest.fixture
def gc_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_nested_pauses_reenable_after_the_last(gc_restored: None) -> None:
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(gc_restored: None) -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_concurrent_pauses_from_threads(gc_restored: None) -> None:
    gc.enable()
    inside, release = threading.Barrier(5), threading.Event()

    def worker() -> None:
        with paused_gc():
            inside.wait(10)
            release.wait(10)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    inside.wait(10)  # all four hold a pause at once
    assert not gc.isenabled()
    release.set()
    for thread in threads:
        thread.join(10)
    assert gc.isenabled()


def test_an_exception_inside_still_restores(gc_restored: None) -> None:
    gc.enable()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


class _Handler(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[int, bytes]]] = {}
    seen: ClassVar[list[tuple[str, str | None, str | None]]] = []

    def do_GET(self) -> None:
        expr = parse_qs(urlparse(self.path).query)["query"][0]
        self.seen.append((expr, self.headers.get("Authorization"), self.headers.get("Accept-Encoding")))
        status, body = self.answers[expr]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return


@pytest.fixture
def fake_prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_answers_errors_and_headers(fake_prometheus: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    vector = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"namespace": "ml", "service": "a"}, "value": [1.5, "NaN"]}]}}  # fmt: skip
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [2.0, "7"]}}
    _Handler.answers.update({
        "v": (200, json.dumps(vector).encode()),
        "s": (200, json.dumps(scalar).encode()),
        "bad": (400, b'{"status":"error","error":"parse error"}'),
        "down": (503, b"unavailable"),
        "html": (200, b"<html>proxy error</html>"),
    })  # fmt: skip
    token = tmp_path / "token"
    token.write_text("first\n")
    client = HttpQueryClient(PrometheusSettings(url=fake_prometheus, bearer_token_file=str(token), timeout_seconds=5))
    request.addfinalizer(client.close)
    assert client.query("v") == vector["data"]["result"]  # type: ignore[index]
    assert client.query("s") == [{"metric": {}, "value": [2.0, "7"]}]
    with pytest.raises(QueryRejected):
        client.query("bad")
    with pytest.raises(MetricsUnavailable):
        client.query("down")
    with pytest.raises(MetricsUnavailable, match="garbage"):
        client.query("html")
    token.write_text("rotated")
    client.query("v")
    assert _Handler.seen[0][1:] == ("Bearer first", "identity")
    assert _Handler.seen[-1][1] == "Bearer rotated"
    assert gc.isenabled()  # decoding paused the collector and gave it back


def test_unreachable_is_unavailable() -> None:
    client = HttpQueryClient(PrometheusSettings(url="http://127.0.0.1:1", timeout_seconds=2))
    try:
        with pytest.raises(MetricsUnavailable, match="unreachable"):
            client.query("up")
    finally:
        client.close()
