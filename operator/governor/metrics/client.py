"""Blocking Prometheus HTTP queries (``/api/v1/query``) with Governor's auth knobs.

The client is synchronous (requests); the Prometheus source calls it from a thread pool so the
event loop never blocks. Failures are sorted into "Prometheus is unavailable" (connection,
timeout, 5xx: the fallback takes over) and "this query was rejected" (4xx: a bad override).

The request is made here rather than through prometheus-api-client's ``custom_query``: at
10,000 services one answer is ~20 MB of JSON and ``custom_query`` decodes it with the standard
library's parser through ``requests``, with no way to choose another. Here the body is decoded
by ``orjson`` with the cyclic garbage collector paused (see ``paused_gc``), several times
faster, and the answer is not gzip-compressed by default: on the short in-cluster hop
Prometheus spends more CPU compressing than the transfer saves (``compress=True`` asks for it).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from governor.metrics.source import MetricsUnavailable
from governor.model.errors import GovernorError
from governor.settings import PrometheusSettings

Rows = list[dict[str, Any]]


class QueryRejected(GovernorError):
    """Prometheus answered but refused the query (bad PromQL, 4xx)."""


class QueryClient(Protocol):
    def query(self, expr: str) -> Rows: ...


class _GcPause:
    """Pause the cyclic garbage collector while a large answer is decoded and sorted.

    Decoding creates hundreds of thousands of dicts and lists, none of them garbage; every 700
    allocations a collection walks them again, which made decoding 5-7x slower. Reference
    counting still frees everything. Pauses nest (concurrent queries in the pool): the collector
    comes back when the last one ends, and only if it was enabled before the first.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


paused_gc = _GcPause()


class BearerTokenFile(requests.auth.AuthBase):
    """Reads the token on every request, so a rotated (projected) token is picked up."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Bearer " + self.path.read_text().strip()
        return request


def _auth(settings: PrometheusSettings) -> Any:
    if settings.bearer_token_file:
        return BearerTokenFile(settings.bearer_token_file)
    if settings.basic_auth_user:
        password = ""
        if settings.basic_auth_password_file:
            password = Path(settings.basic_auth_password_file).read_text().strip()
        return (settings.basic_auth_user, password)
    return None


class HttpQueryClient:
    """``QueryClient`` over Prometheus' HTTP API (``/api/v1/query``)."""

    def __init__(self, settings: PrometheusSettings, *, compress: bool = False) -> None:
        if not settings.url:
            raise ValueError("Prometheus URL is not set")
        self.url = settings.url.rstrip("/") + "/api/v1/query"
        self.timeout = settings.timeout_seconds
        self.headers = {"Accept": "application/json", "Accept-Encoding": "gzip" if compress else "identity"}
        self._session = requests.Session()
        self._session.verify = False if settings.insecure else (settings.ca_file or True)
        self._session.auth = _auth(settings)
        # No retries: the fallback source answers this tick instead.
        self._session.mount(settings.url, HTTPAdapter(max_retries=Retry(total=0)))

    def query(self, expr: str) -> Rows:
        try:
            response = self._session.get(self.url, params={"query": expr}, headers=self.headers, timeout=self.timeout)
            body = response.content
        except requests.RequestException as exc:
            raise MetricsUnavailable(f"Prometheus unreachable: {exc}") from exc
        if response.status_code in (400, 422):
            raise QueryRejected(f"HTTP Status Code {response.status_code} ({body[:500]!r})")
        if response.status_code != 200:
            raise MetricsUnavailable(f"Prometheus failed: HTTP Status Code {response.status_code} ({body[:500]!r})")
        try:
            with paused_gc():
                result = orjson.loads(body)["data"]["result"]
        except (ValueError, KeyError, TypeError) as exc:  # a non-JSON answer (a proxy's error page)
            raise MetricsUnavailable(f"Prometheus answered garbage: {exc}") from exc
        if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
            return [{"metric": {}, "value": result}]  # a scalar answer
        return list(result or [])
