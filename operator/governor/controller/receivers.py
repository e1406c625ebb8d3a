"""Alert receivers as the administrator defines them: a ConfigMap plus Secrets, read through the API.

The alerting layer parses and routes; this module only fetches ``data`` (decoding Secrets) so
``governor run`` can hand the alert engine a reader that works against a real cluster.
Secret values never leave this reader except to the alerting layer's senders.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from governor.alerting import AlertEngine, ConfigReader, Notifier, ReceiverRegistry
from governor.kube.client import ApiError, KubeApi, api_path
from governor.settings import AlertingSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KubeConfigReader:
    """``governor.alerting.ConfigReader`` over the Kubernetes API."""

    api: KubeApi

    async def read_configmap(self, namespace: str, name: str) -> Mapping[str, str] | None:
        obj = await self._get(api_path("v1", "configmaps", namespace, name))
        return None if obj is None else {str(k): str(v) for k, v in (obj.get("data") or {}).items()}

    async def read_secret(self, namespace: str, name: str) -> Mapping[str, str] | None:
        """A Secret's decoded data; ``None`` when it is missing or Governor may not read it (the Role names
        each Secret it may get: a receiver whose Secret is not named there is unusable, the others still work)."""
        try:
            obj = await self._get(api_path("v1", "secrets", namespace, name))
        except ApiError as exc:
            if exc.status != 403:
                raise
            logger.warning(
                "alert receivers: Secret %s/%s is not readable (add its name to the Role): %s", namespace, name, exc
            )
            return None
        if obj is None:
            return None
        decoded: dict[str, str] = {}
        for key, value in (obj.get("data") or {}).items():
            try:
                decoded[str(key)] = base64.b64decode(str(value), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                continue  # not base64 text: the receiver referencing it reports the key as missing
        return decoded

    async def _get(self, path: str) -> dict[str, Any] | None:
        try:
            return await self.api.get(path)
        except ApiError as exc:
            if exc.not_found:
                return None
            raise


def build_alerting(
    reader: ConfigReader, settings: AlertingSettings, metrics_registry: CollectorRegistry, stale_seconds: float = 60.0
) -> tuple[AlertEngine, Notifier]:
    """The alert engine for the reconciler and the notifier whose lifecycle the controller runs, with the
    receivers ``reader`` gives (``KubeConfigReader`` under governor run); the notifier's delivery metrics go on
    ``metrics_registry`` (the one the operator serves on /metrics)."""
    registry = ReceiverRegistry(reader, settings.receivers_namespace, settings.receivers_configmap)
    notifier = Notifier(registry, queue_limit=settings.queue_limit, registry=metrics_registry)
    return AlertEngine(registry, notifier, stale_seconds=stale_seconds), notifier  # the one staleness setting
