"""HMAC-SHA256 signatures for the generic webhook, and the check a receiver runs.

Headers on every signed webhook request:

* ``X-Governor-Timestamp``: unix seconds when the request was signed;
* ``X-Governor-Signature``: ``sha256=`` + hex HMAC-SHA256 over ``<timestamp> + "." + <body>``.

Signing the timestamp with the body lets a receiver reject replays: ``verify_signature``
refuses a signature older (or newer) than ``tolerance`` seconds.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Governor-Timestamp"
SIGNATURE_HEADER = "X-Governor-Signature"
SCHEME = "sha256="


def _as_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def sign(key: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Governor-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(_as_bytes(key), timestamp.encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signature_headers(key: str | bytes, body: bytes, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(key, timestamp, body)}


def verify_signature(
    key: str | bytes,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now: float,
    tolerance: float = 300.0,
) -> bool:
    """True when ``signature`` is this key's signature of (timestamp, body) and the timestamp is recent."""
    if not timestamp or not signature:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(key, timestamp, body), signature)
