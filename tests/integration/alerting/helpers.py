"""Shared set-up for alerting integration tests: registries over dicts, notifiers, notifications."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry

from governor.alerting import DictConfigReader, Notifier, ReceiverRegistry
from governor.alerting.config import CONFIG_KEY
from governor.alerting.routing import group_key
from governor.alerting.types import Event, Notification, Severity, fingerprint, frozen_labels

NS = "governor-system"
CM = "governor-receivers"
ROUTING_KEY = "R0UTINGKEY-0123456789abcdef-SECRET"
HMAC_KEY = "hmac-k3y-TOP-SECRET-value"
BEARER = "b3arer-TOKEN-SECRET-value"
SLACK_TOKEN = "T000SECRET/B000SECRET/XXXXSLACKSECRETXXXX"
SECRETS = (ROUTING_KEY, HMAC_KEY, BEARER, SLACK_TOKEN)


def reader(config_yaml: str, slack_url: str = "") -> DictConfigReader:
    return DictConfigReader(
        configmaps={(NS, CM): {CONFIG_KEY: config_yaml}},
        secrets={
            (NS, "pd"): {"routing-key": ROUTING_KEY},
            (NS, "hook"): {"key": HMAC_KEY, "token": BEARER},
            (NS, "slack"): {"url": slack_url + SLACK_TOKEN},
        },
    )


async def registry_for(config_yaml: str, slack_url: str = "") -> ReceiverRegistry:
    registry = ReceiverRegistry(reader(config_yaml, slack_url), NS, CM)
    assert await registry.reload()
    assert registry.error is None, registry.error
    return registry


def notifier(registry: ReceiverRegistry, queue_limit: int = 1000) -> tuple[Notifier, CollectorRegistry]:
    metrics = CollectorRegistry()
    return Notifier(registry, queue_limit=queue_limit, registry=metrics, base_delay=0.05, max_delay=0.4), metrics


def note(
    registry: ReceiverRegistry,
    receiver: str,
    service: str,
    *,
    event: Event = Event.FIRING,
    seq: int = 1,
    repeat: int = 0,
    severity: Severity = Severity.CRITICAL,
    at: float = 1_700_000_000.0,
    alertname: str = "RolloutFailed",
) -> Notification:
    labels: Mapping[str, str] = frozen_labels(
        {"alertname": alertname, "namespace": "ml", "service": service, "severity": severity.value}
    )
    rc = registry.config.receivers[receiver]
    return Notification(
        receiver=receiver,
        fingerprint=fingerprint(labels),
        seq=seq,
        repeat=repeat,
        event=event,
        labels=labels,
        annotations=frozen_labels({"summary": f"{service} rollout failed"}),
        severity=severity,
        starts_at=at,
        ends_at=at + 60 if event == Event.RESOLVED else None,
        group_key=group_key(rc, labels),
    )
