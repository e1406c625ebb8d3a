"""The Alertmanager ``route:`` example in docs/alerting.md is valid and routes as the page says (real amtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.processes import require_binary

DOCS = Path(__file__).parents[3] / "docs" / "alerting.md"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("# alertmanager.yml")
    path = tmp_path_factory.mktemp("am-docs") / "alertmanager.yml"
    path.write_text(text[start : text.index("```", start)])
    return path


def _amtool(*args: str) -> str:
    done = subprocess.run([require_binary("amtool"), *args], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_example_is_a_valid_alertmanager_config(example: Path) -> None:
    _amtool("check-config", str(example))


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ("severity=critical namespace=ml", "oncall-pagerduty,ml-team-slack"),
        ("severity=warning namespace=ml-vision", "ml-team-slack"),
        ("severity=info namespace=ml", "ml-team-email"),
        ("severity=warning namespace=payments-eu", "payments-slack"),
        ("severity=critical namespace=payments", "oncall-pagerduty,payments-slack"),
        ("severity=info namespace=payments", "platform-slack"),
        ("severity=warning namespace=search", "platform-slack"),
    ],
)
def test_the_example_routes_by_namespace_and_severity(example: Path, labels: str, receivers: str) -> None:
    assert _amtool("config", "routes", "test", f"--config.file={example}", *labels.split()) == receivers
