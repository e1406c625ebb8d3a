"""Settings come from GOVERNOR_* variables into one frozen object; bad values fail clearly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from governor.settings import Settings, SettingsError, reference

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.operator.tick_seconds == 10.0
    assert settings.operator.namespaces == ()
    assert settings.prometheus.url is None
    assert settings.prometheus.scrape_fallback is True


def test_values_are_parsed_by_type() -> None:
    settings = Settings.from_env(
        {
            "GOVERNOR_TICK_SECONDS": "2.5",
            "GOVERNOR_NAMESPACES": "ml, serving ,",
            "GOVERNOR_PROMETHEUS_INSECURE": "yes",
            "GOVERNOR_LOG_FORMAT": "json",
            "GOVERNOR_AGENT_PORT": "9500",
        }
    )
    assert settings.operator.tick_seconds == 2.5
    assert settings.operator.namespaces == ("ml", "serving")
    assert settings.prometheus.insecure is True
    assert settings.operator.log_format == "json"
    assert settings.agent.port == 9500


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings.from_env({}).operator.tick_seconds = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("var", "raw", "expected"),
    [
        ("GOVERNOR_TICK_SECONDS", "0", "expected a number > 0"),
        ("GOVERNOR_TICK_SECONDS", "soon", "could not convert"),
        ("GOVERNOR_LOG_FORMAT", "xml", "expected one of plain, json"),
        ("GOVERNOR_PROMETHEUS_INSECURE", "maybe", "expected true/false"),
        ("GOVERNOR_METRICS_PORT", "70000", "expected a port number"),
        ("GOVERNOR_ALERT_QUEUE_LIMIT", "-1", "expected an integer > 0"),
        ("GOVERNOR_PEERING_PRIORITY", "high", "expected an integer"),
        ("GOVERNOR_PEERING_LIFETIME_SECONDS", "0", "expected an integer > 0"),
    ],
)
def test_bad_value_names_variable_and_expectation(var: str, raw: str, expected: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({var: raw})
    assert var in str(info.value)
    assert repr(raw) in str(info.value)
    assert expected in str(info.value)


def test_readme_documents_every_variable() -> None:
    text = README.read_text()
    missing = [var for var, _, _ in reference() if f"`{var}`" not in text]
    assert not missing, f"README configuration reference lacks {missing}"
