"""`governor validate`: problems printed with file, object and field path; exit status 1 on any."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from governor import cli, validate
from governor.model import rules

from .conftest import EXAMPLE_FILES, ISVC_CRD, ROOT

BAD = """\
apiVersion: governor.dev/v1alpha1
kind: InferenceService
metadata: {name: bad, namespace: ml}
spec:
  template: {spec: {containers: [{name: server}]}}
  minReplicas: 9
  maxReplicas: 3
  maxReplicaCount: 3
  alerts: {receivers: ["https://hooks.example.com/x"]}
  metrics: {overrides: {requestRate: 'sum(rate(x{ns={{namespace}}}[5m]))'}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: kserve-owns-this-kind-too}
spec: {predictor: {}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli.main(["validate", *argv])
    return code, capsys.readouterr().out.splitlines()


def test_examples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run([str(ROOT / "examples")], capsys)
    assert code == 0
    assert lines == [f"{len(EXAMPLE_FILES)} InferenceService(s) checked, 0 with problems, 0 problem(s)"]


def test_problems_name_file_object_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    code, lines = run([str(bad), "--crd", str(ISVC_CRD)], capsys)
    assert code == 1
    prefix = f"{bad}: InferenceService ml/bad: "
    assert f"{prefix}spec.minReplicas: {rules.MIN_LE_MAX}" in lines
    assert f"{prefix}spec.maxReplicaCount: unknown field" in lines
    assert (
        f"{prefix}spec.alerts.receivers[0]: 'https://hooks.example.com/x' is not a receiver name "
        "(a DNS-1123 name, never a URL)" in lines
    )
    assert any(line.startswith(f"{prefix}spec.metrics.overrides.requestRate: placeholder") for line in lines)
    assert lines[-1] == "1 InferenceService(s) checked, 1 with problems, 4 problem(s)"  # KServe's kind is not ours


def test_a_spec_of_the_wrong_type_is_one_problem() -> None:
    schema, note = validate.load_schema_check(ISVC_CRD)
    assert schema is not None and note is None
    obj = {"apiVersion": "governor.dev/v1alpha1", "kind": "InferenceService", "metadata": {"name": "a"}, "spec": []}
    problems = validate.check_object(obj, "f.yaml", "InferenceService a", schema)
    assert [str(p) for p in problems] == ["f.yaml: InferenceService a: spec: must be an object, got array"]


def test_stdin_yaml_errors_and_missing_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("kind: [unclosed\n"))
    code, lines = run(["-", str(tmp_path / "missing.yaml"), "-q"], capsys)
    assert code == 1
    assert lines[0].startswith("<stdin>: YAML: ")
    assert lines[1] == f"{tmp_path / 'missing.yaml'}: file: cannot be read"
    assert len(lines) == 2  # --quiet: no summary


def test_the_crd_shipped_with_governor_is_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    assert cli.main(["validate", str(bad), "-q"]) == 1
    assert capsys.readouterr().err == ""  # no note: the schema check ran, from package data
    assert validate.load_schema_check(None)[0] is not None


def test_with_an_unreadable_crd_file_parse_rules_still_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    code = cli.main(["validate", str(bad), "--crd", str(tmp_path / "missing-crd.yaml")])
    captured = capsys.readouterr()
    assert code == 1
    assert "note: CRD file cannot be read" in captured.err
    assert f"{bad}: InferenceService ml/bad: spec.minReplicas: {rules.MIN_LE_MAX}" in captured.out.splitlines()


def test_without_jsonschema_parse_rules_still_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "jsonschema", None)  # makes `import jsonschema` fail
    schema, note = validate.load_schema_check(ISVC_CRD)
    assert schema is None and note is not None and "jsonschema is not installed" in note
    count, problems = validate.check_text(BAD, "bad.yaml", schema)
    assert count == 1 and any(p.message == rules.MIN_LE_MAX for p in problems)
