"""Operator settings: one frozen object built from ``GOVERNOR_*`` environment variables.

Every knob has a default that works for the embedded demo. A bad value fails at start-up
with a message naming the variable, what was given and what is expected.
See the configuration reference in README.md (kept in sync by ``tests/unit/test_settings.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

PREFIX = "GOVERNOR_"
T = TypeVar("T")


class SettingsError(ValueError):
    """A ``GOVERNOR_*`` variable holds a value Governor cannot use."""


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true/false")


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("expected a number > 0")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected an integer > 0")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("expected a port number 0..65535")
    return value


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return raw

    return parse


def _optional_str(raw: str) -> str | None:
    return raw or None


def _optional_int(raw: str) -> int | None:
    try:
        return int(raw) if raw.strip() else None
    except ValueError:
        raise ValueError("expected an integer") from None


def knob(name: str, parse: Callable[[str], Any], default: Any, doc: str) -> Any:
    """A dataclass field read from ``GOVERNOR_<name>``."""
    return field(default=default, metadata={"env": PREFIX + name, "parse": parse, "doc": doc})


@dataclass(frozen=True)
class OperatorSettings:
    tick_seconds: float = knob("TICK_SECONDS", _positive_float, 10.0, "Control-loop period.")
    namespaces: tuple[str, ...] = knob(
        "NAMESPACES", _csv, (), "Comma-separated namespaces to watch; empty watches the whole cluster."
    )
    peering: str | None = knob("PEERING", _optional_str, None, "Kopf peering object name for HA (one active operator).")
    peering_priority: int | None = knob(
        "PEERING_PRIORITY",
        _optional_int,
        None,
        "Rank among peered replicas: the live one with the highest priority acts; unset → random 0..32767.",
    )
    peering_lifetime_seconds: int = knob(
        "PEERING_LIFETIME_SECONDS",
        _positive_int,
        30,
        "A replica silent this long in the peering object is presumed dead; a standby takes over (failover time).",
    )
    log_format: str = knob("LOG_FORMAT", _choice("plain", "json"), "plain", "Log format: plain or json.")
    log_level: str = knob(
        "LOG_LEVEL", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", "Log level of the operator."
    )
    status_heartbeat_seconds: float = knob(
        "STATUS_HEARTBEAT_SECONDS", _positive_float, 60.0, "Status is re-written at least this often."
    )
    metrics_port: int = knob(
        "METRICS_PORT", _port, 8090, "Port of the operator's own /metrics, /healthz and /readyz (0 = off)."
    )


@dataclass(frozen=True)
class PrometheusSettings:
    url: str | None = knob("PROMETHEUS_URL", _optional_str, None, "Prometheus base URL; unset → scrape pods directly.")
    bearer_token_file: str | None = knob(
        "PROMETHEUS_BEARER_TOKEN_FILE", _optional_str, None, "File holding a bearer token."
    )
    basic_auth_user: str | None = knob("PROMETHEUS_BASIC_AUTH_USER", _optional_str, None, "Basic-auth user.")
    basic_auth_password_file: str | None = knob(
        "PROMETHEUS_BASIC_AUTH_PASSWORD_FILE", _optional_str, None, "File holding the basic-auth password."
    )
    ca_file: str | None = knob("PROMETHEUS_CA_FILE", _optional_str, None, "CA bundle for HTTPS.")
    insecure: bool = knob("PROMETHEUS_INSECURE", _bool, False, "Skip TLS verification (testing only).")
    timeout_seconds: float = knob("PROMETHEUS_TIMEOUT_SECONDS", _positive_float, 5.0, "Per-query timeout.")
    rate_window: str = knob("PROMETHEUS_RATE_WINDOW", str, "1m", "Range of rate()/histogram windows.")
    service_label: str = knob(
        "PROMETHEUS_SERVICE_LABEL", str, "service", "Series label holding the pod's governor.dev/service (relabeled)."
    )
    recording_rules: str = knob(
        "PROMETHEUS_RECORDING_RULES",
        _choice("auto", "on", "off"),
        "auto",
        "Read Governor's recorded series (governor prometheus-rules): auto-detect, on or off.",
    )
    dcgm_selector: str = knob(
        "PROMETHEUS_DCGM_SELECTOR",
        str,
        'job=~"dcgm-exporter|nvidia-dcgm-exporter"',
        "Label matchers of the DCGM exporter's own series (its target labels); DCGM series of other jobs are ignored.",
    )
    pod_labels_selector: str = knob(
        "PROMETHEUS_POD_LABELS_SELECTOR",
        str,
        'job="kube-state-metrics"',
        "Label matchers of kube-state-metrics' kube_pod_labels, which map DCGM's pods to services.",
    )
    scrape_fallback: bool = knob(
        "SCRAPE_FALLBACK", _bool, True, "Scrape pods directly while Prometheus is unreachable."
    )
    scrape_max_bytes: int = knob(
        "SCRAPE_MAX_BYTES",
        _positive_int,
        4 * 1024 * 1024,
        "Largest pod /metrics page the direct scrape reads; a bigger one is refused unread and counted.",
    )
    stale_seconds: float = knob(
        "METRICS_STALE_SECONDS",
        _positive_float,
        60.0,
        "A sample older than this counts as missing: the direct scrape takes no rate over a longer gap, and the"
        " decision engine holds without a fresher request rate.",
    )


@dataclass(frozen=True)
class AlertingSettings:
    receivers_configmap: str = knob(
        "RECEIVERS_CONFIGMAP", str, "governor-receivers", "ConfigMap defining alert receivers."
    )
    receivers_namespace: str = knob(
        "RECEIVERS_NAMESPACE", str, "governor-system", "Namespace of the receivers ConfigMap and Secrets."
    )
    queue_limit: int = knob(
        "ALERT_QUEUE_LIMIT", _positive_int, 10000, "Most notifications held while receivers are down."
    )


@dataclass(frozen=True)
class AgentSettings:
    port: int = knob("AGENT_PORT", _port, 9400, "Port of the NVML node agent.")
    interval_seconds: float = knob("AGENT_INTERVAL_SECONDS", _positive_float, 5.0, "NVML sampling period.")
    node_name: str | None = knob("NODE_NAME", _optional_str, None, "Node the agent runs on (downward API).")
    namespace: str = knob(
        "AGENT_NAMESPACE",
        str,
        "governor-system",
        "Namespace of the NVML agents' pods, whose GPU readings the operator takes while it scrapes pods directly.",
    )


@dataclass(frozen=True)
class Settings:
    operator: OperatorSettings = OperatorSettings()
    prometheus: PrometheusSettings = PrometheusSettings()
    alerting: AlertingSettings = AlertingSettings()
    agent: AgentSettings = AgentSettings()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            operator=_section(OperatorSettings, env),
            prometheus=_section(PrometheusSettings, env),
            alerting=_section(AlertingSettings, env),
            agent=_section(AgentSettings, env),
        )


def _section(cls: type[T], env: Mapping[str, str]) -> T:
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        var = f.metadata["env"]
        if var not in env:
            continue
        raw = env[var]
        try:
            values[f.name] = f.metadata["parse"](raw)
        except ValueError as exc:
            raise SettingsError(f"{var}={raw!r} is invalid: {exc}") from None
    return cls(**values)


def reference() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every knob, for docs and ``governor run --help``."""
    rows = []
    for section in (OperatorSettings, PrometheusSettings, AlertingSettings, AgentSettings):
        for f in fields(section):
            default = f.default if f.default not in (None, ()) else ""
            rows.append((f.metadata["env"], str(default), f.metadata["doc"]))
    return rows
