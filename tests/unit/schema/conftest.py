"""Shared loading of the CRDs, examples and manifests for the schema tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from governor.model import crdschema

ROOT = Path(__file__).resolve().parents[3]
CRD_FILES = sorted((ROOT / "crds").glob("*.yaml"))
EXAMPLE_FILES = sorted((ROOT / "examples").glob("*.yaml"))
# kustomization.yaml only lists the others (tests/cluster/test_chart.py checks it renders them all).
MANIFEST_FILES = sorted(p for p in (ROOT / "manifests").glob("*.yaml") if p.name != "kustomization.yaml")
ISVC_CRD = ROOT / "crds" / "inferenceservice.yaml"


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@pytest.fixture(scope="session")
def isvc_schema() -> dict[str, Any]:
    return dict(crdschema.version_schema(documents(ISVC_CRD)[0]))


@pytest.fixture(scope="session")
def isvc_validator(isvc_schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    schema = crdschema.to_json_schema(isvc_schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)
