"""JSON log lines carry the logger, and the namespace and name of the InferenceService they are about."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from governor.controller.logs import JsonFormatter, configure_logging
from governor.model import ServiceKey
from governor.settings import OperatorSettings


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("governor.test.logs")
    logger.addHandler(handler)
    logger.propagate, logger.level = False, logging.INFO
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_governor_line_about_a_service(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = lines
    logger.info("%s: decision %s: %s", ServiceKey("ml", "chat"), "up", "p99 above SLO")
    (record,) = _records(stream)
    assert record["message"] == "ml/chat: decision up: p99 above SLO"
    assert (record["logger"], record["namespace"], record["name"], record["severity"]) == (
        "governor.test.logs",
        "ml",
        "chat",
        "info",
    )


def test_kopf_per_object_line_and_a_plain_line(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = lines
    ref = {"apiVersion": "governor.dev/v1alpha1", "kind": "InferenceService", "name": "code", "namespace": "team"}
    logger.warning("Handler failed", extra={"k8s_ref": ref, "k8s_skip": False})
    logger.info("tick skipped: %s", "no API")
    kopf_line, plain = _records(stream)
    assert (kopf_line["namespace"], kopf_line["name"], kopf_line["object"]) == ("team", "code", ref)
    assert plain["logger"] == "governor.test.logs" and "namespace" not in plain and "name" not in plain


def test_configure_installs_it_only_for_json() -> None:
    root, quiet = logging.getLogger(), logging.getLogger("asyncio")  # kopf.configure silences asyncio
    saved = root.handlers[:], root.level, quiet.handlers[:], quiet.propagate
    try:
        configure_logging(OperatorSettings(log_format="json"))
        assert any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)
        configure_logging(OperatorSettings(log_format="plain"))
        assert not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)
    finally:
        root.handlers[:], root.level, quiet.handlers[:], quiet.propagate = saved
