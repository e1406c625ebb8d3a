"""HTTP delivery to one receiver (aiohttp): build the request, send it, classify the answer.

The answer is reduced to what the delivery queue needs: delivered, retry (5xx, 408, 429
with its ``Retry-After``, network errors, timeouts) or rejected (any other 4xx: sending the
same request again cannot help). Error details are scrubbed of every secret of the
receiver — a Slack URL or a routing key in an exception message never reaches a log.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp

from governor.alerting.config import ReceiverKind
from governor.alerting.loader import ResolvedReceiver
from governor.alerting.payloads import alertmanager_alerts, pagerduty_event, slack_message, webhook_v4
from governor.alerting.secrets import scrub
from governor.alerting.signing import signature_headers
from governor.alerting.types import Notification

MAX_RETRY_AFTER = 3600.0
USER_AGENT = "governor-alerting/1"


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True)
class SendResult:
    outcome: DeliveryOutcome
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


def batch_size(kind: ReceiverKind) -> int:
    """How many notifications of one group one request may carry."""
    return 1 if kind == ReceiverKind.PAGERDUTY else 100


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def classify(status: int, retry_after: str | None, now: float) -> SendResult:
    if 200 <= status < 300:
        return SendResult(DeliveryOutcome.DELIVERED, status)
    if status == 429:
        return SendResult(DeliveryOutcome.RETRY, status, parse_retry_after(retry_after, now), "rate limited (429)")
    if status == 408 or status >= 500:
        return SendResult(DeliveryOutcome.RETRY, status, parse_retry_after(retry_after, now), f"HTTP {status}")
    return SendResult(DeliveryOutcome.REJECTED, status, None, f"HTTP {status}: receiver refused the request")


def build_request(
    receiver: ResolvedReceiver, notes: Sequence[Notification], now: float
) -> tuple[str, bytes, dict[str, str]]:
    """(url, body, headers) for one request carrying ``notes`` (PagerDuty: exactly one)."""
    rc = receiver.config
    url = receiver.url.reveal()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    payload: Any
    if rc.kind == ReceiverKind.ALERTMANAGER:
        url = url.rstrip("/") + "/api/v2/alerts"
        payload = alertmanager_alerts(notes, now, ttl=max(4 * rc.repeat_interval, 300.0))
    elif rc.kind == ReceiverKind.WEBHOOK:
        payload = webhook_v4(rc.name, notes, rc.group_by)
    elif rc.kind == ReceiverKind.SLACK:
        payload = slack_message(notes)
    else:
        payload = pagerduty_event(notes[0], receiver.routing_key.reveal() if receiver.routing_key else "", now)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    if receiver.bearer_token is not None:
        headers["Authorization"] = "Bearer " + receiver.bearer_token.reveal()
    if receiver.hmac_key is not None:
        headers.update(signature_headers(receiver.hmac_key.reveal(), body, now))
    return url, body, headers


async def send(
    session: aiohttp.ClientSession, receiver: ResolvedReceiver, notes: Sequence[Notification], now: float | None = None
) -> SendResult:
    """POST ``notes`` to ``receiver``; never raises for network trouble, only reports it."""
    now = time.time() if now is None else now
    url, body, headers = build_request(receiver, notes, now)
    timeout = aiohttp.ClientTimeout(total=receiver.config.timeout)
    try:
        async with session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False) as resp:
            await resp.read()
            return classify(resp.status, _header(resp.headers, "Retry-After"), now)
    except aiohttp.InvalidURL:
        return SendResult(DeliveryOutcome.REJECTED, None, None, "the receiver's URL is not valid")
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        detail = scrub(f"{type(exc).__name__}: {exc}", receiver.secrets())
        return SendResult(DeliveryOutcome.RETRY, None, None, detail)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name)
