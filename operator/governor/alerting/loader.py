"""Loads the receivers ConfigMap and the Secrets it references, and reloads them on change.

Reading goes through the small ``ConfigReader`` Protocol: the controller passes one backed
by the Kubernetes API, tests and the demo pass ``DictConfigReader``. A bad new ConfigMap
never takes receivers away: the registry keeps the last good configuration and reports the
problem in ``error`` (safe to show in status and Events: paths and names, never values).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from governor.alerting.config import CONFIG_KEY, AlertingConfig, ConfigError, ReceiverConfig, SecretRef
from governor.alerting.parse import parse_config
from governor.alerting.secrets import Secret

logger = logging.getLogger(__name__)


class ConfigReader(Protocol):
    """Reads a ConfigMap's ``data`` and a Secret's decoded ``data``; ``None`` when absent."""

    async def read_configmap(self, namespace: str, name: str) -> Mapping[str, str] | None: ...

    async def read_secret(self, namespace: str, name: str) -> Mapping[str, str] | None: ...


@dataclass
class DictConfigReader:
    """A ``ConfigReader`` over plain dicts keyed by ``(namespace, name)``."""

    configmaps: dict[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)
    secrets: dict[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)

    async def read_configmap(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self.configmaps.get((namespace, name))

    async def read_secret(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self.secrets.get((namespace, name))


@dataclass(frozen=True)
class ResolvedReceiver:
    """A receiver with its credentials filled in from Secrets; prints no secret."""

    config: ReceiverConfig
    url: Secret
    bearer_token: Secret | None = None
    hmac_key: Secret | None = None
    routing_key: Secret | None = None

    @property
    def name(self) -> str:
        return self.config.name

    def secrets(self) -> tuple[Secret, ...]:
        values = (self.url, self.bearer_token, self.hmac_key, self.routing_key)
        return tuple(s for s in values if s is not None)


class ReceiverRegistry:
    """The current receivers; ``await reload()`` re-reads them, cheaply a no-op when nothing changed."""

    def __init__(self, reader: ConfigReader, namespace: str, configmap: str) -> None:
        self.reader = reader
        self.namespace = namespace
        self.configmap = configmap
        self.config = AlertingConfig()
        self.error: str | None = None  # last problem, or None
        self.generation = 0  # bumped on every applied change
        self._resolved: dict[str, ResolvedReceiver] = {}
        self._digest = ""

    def receiver(self, name: str) -> ResolvedReceiver | None:
        return self._resolved.get(name)

    def secrets(self) -> tuple[Secret, ...]:
        return tuple(s for r in self._resolved.values() for s in r.secrets())

    async def reload(self) -> bool:
        """Re-read the ConfigMap and its Secrets; True when the configuration changed."""
        data = await self.reader.read_configmap(self.namespace, self.configmap)
        text = None if data is None else data.get(CONFIG_KEY)
        try:
            config = parse_config(text)
        except ConfigError as exc:
            self._report(f"ConfigMap {self.namespace}/{self.configmap} key {CONFIG_KEY}: {exc}")
            return False
        values, missing = await self._read_secrets(config)
        digest = hashlib.sha256(repr((text, sorted(values.items()))).encode()).hexdigest()
        problems = list(missing)
        if data is None:
            problems.insert(0, f"ConfigMap {self.namespace}/{self.configmap} not found: no receivers")
        self._report("; ".join(problems) or None)
        if digest == self._digest:
            return False
        self._digest = digest
        self.config = config
        self._resolved = _resolve(config, values)
        self.generation += 1
        logger.info("alert receivers loaded: %s", ", ".join(sorted(self._resolved)) or "none")
        return True

    async def _read_secrets(self, config: AlertingConfig) -> tuple[dict[tuple[str, str], str], list[str]]:
        refs = {ref for rc in config.receivers.values() for ref in rc.secret_refs()}
        cache: dict[str, Mapping[str, str] | None] = {}
        values: dict[tuple[str, str], str] = {}
        missing = []
        for ref in sorted(refs, key=lambda r: (r.secret, r.key)):
            if ref.secret not in cache:
                cache[ref.secret] = await self.reader.read_secret(self.namespace, ref.secret)
            secret = cache[ref.secret]
            if secret is None or ref.key not in secret:
                missing.append(f"{ref} not found in namespace {self.namespace}")
            else:
                values[(ref.secret, ref.key)] = secret[ref.key]
        return values, missing

    def _report(self, problem: str | None) -> None:
        if problem and problem != self.error:
            logger.error("alert receivers: %s", problem)
        self.error = problem


def _resolve(config: AlertingConfig, values: Mapping[tuple[str, str], str]) -> dict[str, ResolvedReceiver]:
    """Receivers whose every Secret reference could be read (the others stay unusable)."""

    def get(ref: SecretRef | None) -> Secret | None:
        if ref is None:
            return None
        value = values.get((ref.secret, ref.key))
        return Secret(value.strip()) if value is not None else None

    resolved = {}
    for name, rc in config.receivers.items():
        if any((ref.secret, ref.key) not in values for ref in rc.secret_refs()):
            continue
        url = get(rc.url_secret) if rc.url_secret is not None else Secret(rc.url or "")
        if url is None:
            continue
        resolved[name] = ResolvedReceiver(rc, url, get(rc.bearer_token), get(rc.hmac_key), get(rc.routing_key))
    return resolved
