"""Small builders for alerting tests: specs, observations, decisions and a recording sink."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from governor.alerting import AlertingConfig, parse_config
from governor.alerting.loader import ResolvedReceiver
from governor.alerting.secrets import Secret
from governor.alerting.types import Delivery, Notification
from governor.model import AlertsSpec, Decision, Observation, Precision, Sample, ScaleDirection, ServiceSpec, SLOSpec
from governor.model.spec import PrecisionMode, PrecisionSpec, TargetsSpec, Variant


def spec(
    *,
    receivers: tuple[str, ...] = ("pager",),
    disabled: tuple[str, ...] = (),
    overrides: Mapping[str, str] | None = None,
    objective: float = 0.999,
    period_days: float = 30.0,
    max_replicas: int = 4,
    cache_floor: float | None = None,
    name: str = "chat",
) -> ServiceSpec:
    return ServiceSpec(
        namespace="ml",
        name=name,
        max_replicas=max_replicas,
        slo=SLOSpec(latency_ms=300.0, objective=objective, period_days=period_days),
        targets=TargetsSpec(gpu_utilization=0.75, cache_hit_ratio_floor=cache_floor),
        precision=PrecisionSpec(
            mode=PrecisionMode.AUTO,
            preferred=Precision.BF16,
            quality_floor=0.9,
            variants=(Variant(Precision.BF16), Variant(Precision.FP8, 1.6, 0.99)),
        ),
        alerts=AlertsSpec(receivers=receivers, disabled=disabled, severity_overrides=dict(overrides or {})),
    )


def observation(
    now: float, *, rate: float | None = 10.0, attainment: float | None = 1.0, **signals: float
) -> Observation:
    values: dict[str, Any] = {name: Sample(v, now) for name, v in signals.items()}
    if rate is not None:
        values["request_rate"] = Sample(rate, now)
    if attainment is not None:
        values["slo_attainment"] = Sample(attainment, now)
    return Observation(at=now, source="sim", **values)


def decision(
    now: float, *, current: int = 2, replicas: int | None = None, precision: Precision = Precision.BF16
) -> Decision:
    return Decision(
        at=now,
        current_replicas=current,
        replicas=current if replicas is None else replicas,
        current_precision=precision,
        precision=precision,
        direction=ScaleDirection.NONE,
        reasons=("test",),
    )


CONFIG_YAML = """
receivers:
  - name: pager
    kind: pagerduty
    namespaces: ["*"]
    routing_key: {secret: pd, key: routing-key}
    match: {severities: [critical]}
  - name: slack
    kind: slack
    namespaces: ["*"]
    url: {secret: slack, key: url}
    group_wait: 0s
    repeat_interval: 1h
  - name: hook
    kind: webhook
    namespaces: ["*"]
    url: http://127.0.0.1:1/hook
    hmac_key: {secret: hook, key: key}
    group_wait: 0s
default_receivers: [slack]
"""


def config(text: str = CONFIG_YAML) -> AlertingConfig:
    return parse_config(text)


@dataclass
class StaticCatalog:
    """A ``ReceiverCatalog`` over a parsed config; every receiver usable with dummy secrets."""

    config: AlertingConfig = field(default_factory=config)

    def receiver(self, name: str) -> ResolvedReceiver | None:
        rc = self.config.receivers.get(name)
        if rc is None:
            return None
        return ResolvedReceiver(rc, Secret(rc.url or "http://127.0.0.1:1/"), hmac_key=Secret("k" * 8),
                                routing_key=Secret("r" * 32))  # fmt: skip

    async def reload(self) -> bool:
        return False


@dataclass
class RecordingSink:
    """A ``NotificationSink`` that records submissions and acknowledges on demand."""

    submitted: list[Notification] = field(default_factory=list)
    acks: dict[str, dict[str, Delivery]] = field(default_factory=dict)

    def submit(self, notes: Iterable[Notification]) -> int:
        notes = list(notes)
        self.submitted.extend(notes)
        return len(notes)

    def acknowledged(self, fingerprint: str) -> Mapping[str, Delivery]:
        return self.acks.get(fingerprint, {})

    def forget(self, fingerprints: Iterable[str]) -> None:
        for fp in fingerprints:
            self.acks.pop(fp, None)

    def deliver_all(self, at: float) -> None:
        for n in self.submitted:
            mine = self.acks.setdefault(n.fingerprint, {})
            known = mine.get(n.receiver)
            if known is None or n.version > known.version:
                mine[n.receiver] = Delivery(n.seq, n.repeat, at)
        self.submitted.clear()
