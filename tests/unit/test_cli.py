"""Every subcommand turns a bad GOVERNOR_* value into one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from governor.cli import main


@pytest.mark.parametrize("argv", [["run"], ["demo"], ["agent"], ["prometheus-rules"]])
def test_bad_setting_is_one_line_and_exit_2(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GOVERNOR_TICK_SECONDS", "soon")
    monkeypatch.setenv("GOVERNOR_AGENT_PORT", "70000")
    monkeypatch.setenv("GOVERNOR_PROMETHEUS_TIMEOUT_SECONDS", "-1")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"governor {argv[0]}: GOVERNOR_")
    assert "is invalid" in err
    assert "Traceback" not in err
