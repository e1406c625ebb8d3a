"""Kubernetes Events about an InferenceService, with Governor's reasons (``governor.model.events``).

Events are posted through ``KubeApi`` (not Kopf's per-handler poster) so the control loop, which
runs outside any handler, reports the same way the handlers do. Posting is best effort: a failed
Event is logged and counted, never allowed to break a reconcile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from governor.kube.client import ApiError, KubeApi, api_path
from governor.model import ServiceKey
from governor.model.events import EventReason, EventType
from governor.model.resource import API_VERSION, KIND
from governor.model.times import now_iso

logger = logging.getLogger(__name__)

COMPONENT: Final = "governor"


@dataclass(frozen=True)
class EventRecorder:
    api: KubeApi

    async def post(self, key: ServiceKey, uid: str, type: EventType, reason: EventReason, message: str) -> bool:
        now = now_iso()
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{key.name}.", "namespace": key.namespace},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": key.name,
                "namespace": key.namespace,
                "uid": uid,
            },
            "type": type,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self.api.create(api_path("v1", "events", key.namespace), body)
        except ApiError as exc:
            logger.warning("could not post Event %s for %s: %s", reason, key, exc)
            return False
        return True
