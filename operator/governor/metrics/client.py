"""Blocking Prometheus HTTP queries through prometheus-api-client, with Governor's auth knobs.

The client is synchronous (requests); the Prometheus source calls it from a thread pool so the
event loop never blocks. Failures are sorted into "Prometheus is unavailable" (connection,
timeout, 5xx: the fallback takes over) and "this query was rejected" (4xx: a bad override).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from governor.metrics.source import MetricsUnavailable
from governor.model.errors import GovernorError
from governor.settings import PrometheusSettings

Rows = list[dict[str, Any]]


class QueryRejected(GovernorError):
    """Prometheus answered but refused the query (bad PromQL, 4xx)."""


class QueryClient(Protocol):
    def query(self, expr: str) -> Rows: ...


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

    def __init__(self, settings: PrometheusSettings) -> None:
        if not settings.url:
            raise ValueError("Prometheus URL is not set")
        session = requests.Session()
        session.verify = False if settings.insecure else (settings.ca_file or True)
        self._prom = PrometheusConnect(
            url=settings.url.rstrip("/"),
            auth=_auth(settings),
            session=session,
            timeout=settings.timeout_seconds,
            retry=Retry(total=0),  # fail fast: the fallback source answers this tick instead
        )

    def query(self, expr: str) -> Rows:
        try:
            result = self._prom.custom_query(expr)
        except requests.RequestException as exc:
            raise MetricsUnavailable(f"Prometheus unreachable: {exc}") from exc
        except PrometheusApiClientException as exc:
            if any(f"HTTP Status Code {code}" in str(exc) for code in (400, 422)):
                raise QueryRejected(str(exc)) from exc
            raise MetricsUnavailable(f"Prometheus failed: {exc}") from exc
        except ValueError as exc:  # a non-JSON answer (a proxy's error page)
            raise MetricsUnavailable(f"Prometheus answered garbage: {exc}") from exc
        if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
            return [{"metric": {}, "value": result}]  # a scalar answer
        return list(result or [])
