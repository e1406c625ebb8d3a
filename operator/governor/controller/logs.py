"""Logging of ``governor run``: Kopf's formatter, plus the fields a log pipeline filters on.

Kopf's JSON lines carry ``message``, ``timestamp``, ``severity`` and, for Kopf's own per-object
logger, an ``object`` reference. Governor adds ``logger`` to every line, and ``namespace`` and
``name`` to every line about one InferenceService: those from Kopf's per-object logger, and
Governor's own ``logger.info("%s: ...", key)`` lines, whose first ``ServiceKey`` argument names it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf
from kopf._core.actions.loggers import ObjectJsonFormatter  # Kopf's JSON formatter; not re-exported

from governor.model import ServiceKey
from governor.settings import OperatorSettings


class JsonFormatter(ObjectJsonFormatter):
    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["logger"] = record.name
        key = object_of(record)
        if key is not None:
            log_record["namespace"], log_record["name"] = key.namespace, key.name


def object_of(record: logging.LogRecord) -> ServiceKey | None:
    """The InferenceService a line is about: Kopf's ``k8s_ref``, else the first ``ServiceKey`` argument."""
    ref = getattr(record, "k8s_ref", None)
    if isinstance(ref, Mapping) and ref.get("name"):
        return ServiceKey(str(ref.get("namespace") or ""), str(ref["name"]))
    args = record.args if isinstance(record.args, tuple) else ()
    return next((a for a in args if isinstance(a, ServiceKey)), None)


def configure_logging(settings: OperatorSettings) -> None:
    """Kopf's own formatter (plain or JSON, with per-object context) at the configured level."""
    json = settings.log_format == "json"
    kopf.configure(
        verbose=settings.log_level == "DEBUG", log_format=kopf.LogFormat.JSON if json else kopf.LogFormat.FULL
    )
    root = logging.getLogger()
    root.setLevel(settings.log_level)
    if json:
        for handler in root.handlers:
            if isinstance(handler.formatter, ObjectJsonFormatter):
                handler.setFormatter(JsonFormatter())
