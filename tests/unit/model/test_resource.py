"""The CR identity every layer names comes from one module, and it is the CRD's."""

from __future__ import annotations

from pathlib import Path

import yaml

from governor.model import resource

CRD = Path(__file__).resolve().parents[3] / "crds" / "inferenceservice.yaml"


def test_the_identity_is_the_crds() -> None:
    crd = yaml.safe_load(CRD.read_text())
    names = crd["spec"]["names"]
    assert crd["metadata"]["name"] == resource.CRD_NAME
    assert crd["spec"]["group"] == resource.GROUP
    assert [v["name"] for v in crd["spec"]["versions"]] == [resource.VERSION]
    assert (names["kind"], names["plural"]) == (resource.KIND, resource.PLURAL)
    assert resource.SHORT_NAME in names["shortNames"]
    assert f"{resource.GROUP}/{resource.VERSION}" == resource.API_VERSION


def test_pods_of_a_service_are_selected_by_its_label() -> None:
    assert resource.service_labels("chat") == {"governor.dev/service": "chat"}
    assert resource.service_selector("chat") == "governor.dev/service=chat"
