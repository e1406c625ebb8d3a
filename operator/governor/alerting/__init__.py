"""Alerting: SLO burn-rate and saturation rules, receivers from a ConfigMap, reliable delivery.

The controller's view, per tick::

    engine = AlertEngine(registry, notifier)        # once
    await engine.refresh()                          # each tick: re-read receivers when due
    result = engine.evaluate_part(spec, observation, decision, AlertContext(...),
                                  status.alerts, now)  # per service, in its reconcile
    status.alerts = result.part; surface result.problem_lines on the CR

Rules, lifecycle, routing and status are pure; ``loader``, ``senders`` and ``delivery`` do I/O.
"""

from governor.alerting.budget import BudgetHistory
from governor.alerting.config import AlertingConfig, ConfigError, ReceiverConfig, ReceiverKind
from governor.alerting.delivery import Notifier
from governor.alerting.engine import AlertEngine, AlertEvaluation
from governor.alerting.loader import ConfigReader, DictConfigReader, ReceiverRegistry, ResolvedReceiver
from governor.alerting.parse import parse_config
from governor.alerting.rules import RULES, AlertContext, RuleSettings
from governor.alerting.secrets import Secret
from governor.alerting.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from governor.alerting.status import from_status, to_status
from governor.alerting.types import AlertRecord, Condition, Event, Notification, Phase, Severity, fingerprint

__all__ = [
    "RULES",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AlertContext",
    "AlertEngine",
    "AlertEvaluation",
    "AlertRecord",
    "AlertingConfig",
    "BudgetHistory",
    "Condition",
    "ConfigError",
    "ConfigReader",
    "DictConfigReader",
    "Event",
    "Notification",
    "Notifier",
    "Phase",
    "ReceiverConfig",
    "ReceiverKind",
    "ReceiverRegistry",
    "ResolvedReceiver",
    "RuleSettings",
    "Secret",
    "Severity",
    "fingerprint",
    "from_status",
    "parse_config",
    "to_status",
    "verify_signature",
]
