"""Blocking Prometheus HTTP queries (``/api/v1/query``) with Governor's auth knobs.

The client is synchronous (prometheus-api-client over requests); the Prometheus source calls it
from a thread pool so the event loop never blocks. Failures are sorted into "Prometheus is
unavailable" (connection, timeout, 5xx: the fallback takes over) and "this query was rejected"
(4xx: a bad override).

At 10,000 services one answer is ~20 MB of JSON. Decoding it builds hundreds of thousands of
dicts and lists, and the cyclic garbage collector walking them again and again made decoding
5-7× slower than the parse itself; queries therefore run with the collector paused (see
``paused_gc``). Answers are not gzip-compressed by default: on the short in-cluster hop
Prometheus spends more CPU compressing than the transfer saves (``compress=True`` asks for it).
"""

from __future__ import annotations

import contextlib
import gc
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
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

    def close(self) -> None:
        """Release connections now (sockets left to a paused garbage collector leak)."""
        ...


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
    """``QueryClient`` over Prometheus' HTTP API (``/api/v1/query``) through prometheus-api-client."""

    def __init__(self, settings: PrometheusSettings, *, compress: bool = False) -> None:
        if not settings.url:
            raise ValueError("Prometheus URL is not set")
        session = requests.Session()
        session.verify = False if settings.insecure else (settings.ca_file or True)
        session.auth = _auth(settings)
        # No retries: the fallback source answers this tick instead.
        session.mount(settings.url, HTTPAdapter(max_retries=Retry(total=0)))
        self._session = session
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip" if compress else "identity"}
        self._prometheus = PrometheusConnect(
            url=settings.url.rstrip("/"),
            headers=headers,
            disable_ssl=settings.insecure,
            retry=Retry(total=0),
            session=session,
            timeout=settings.timeout_seconds,
        )

    def close(self) -> None:
        self._session.close()

    def query(self, expr: str) -> Rows:
        try:
            with paused_gc():
                result = self._prometheus.custom_query(expr)
        except requests.JSONDecodeError as exc:  # a non-JSON answer (a proxy's error page)
            raise MetricsUnavailable(f"Prometheus answered garbage: {exc}") from exc
        except requests.RequestException as exc:
            raise MetricsUnavailable(f"Prometheus unreachable: {exc}") from exc
        except PrometheusApiClientException as exc:
            if _status_of(exc) in (400, 422):
                raise QueryRejected(str(exc)[:600]) from exc
            raise MetricsUnavailable(f"Prometheus failed: {str(exc)[:600]}") from exc
        except (ValueError, KeyError, TypeError) as exc:  # JSON, but not Prometheus' answer shape
            raise MetricsUnavailable(f"Prometheus answered garbage: {exc}") from exc
        if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
            return [{"metric": {}, "value": result}]  # a scalar answer
        return list(result or [])


def _status_of(exc: PrometheusApiClientException) -> int | None:
    """The HTTP status prometheus-api-client put in its message (``HTTP Status Code 400 (...)``)."""
    match = re.search(r"HTTP Status Code (\d+)", str(exc))
    return int(match.group(1)) if match else None
