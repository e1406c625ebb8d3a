"""The real apiserver accepts Governor's CRDs and examples, and rejects bad InferenceServices where
``governor validate`` does: the same field for every case, and the same words for every CEL rule.

The unit suite checks the schema with jsonschema and mirrors the CEL rules in the parser; only a
real apiserver compiles the CEL rules (within its cost budget), prunes and defaults, and answers a
create with the errors a user sees.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from governor import validate
from governor.model import InvalidSpec, rules
from governor.model.parse import parse_service
from governor.testing.client import ApiStatusError, object_path
from tests.cluster.conftest import Cluster
from tests.support.control_plane import REPO
from tests.unit.schema.test_invalid_crs import BASE, CASES

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
CEL_MESSAGES = set(rules.CEL_MESSAGES)


def server_create(cluster: Cluster, obj: dict[str, Any], namespace: str, dry_run: bool = True) -> dict[str, Any]:
    """POST like ``kubectl create`` does (strict field validation), optionally as a server-side dry run."""
    query = "?fieldValidation=Strict" + ("&dryRun=All" if dry_run else "")
    path = object_path("inferenceservices", namespace) + query
    return dict(cluster.client.request("POST", path, obj))


def rejection(cluster: Cluster, obj: dict[str, Any], namespace: str) -> tuple[set[str], str]:
    """The fields the apiserver names when it refuses ``obj``, and its whole message."""
    with pytest.raises(ApiStatusError) as caught:
        server_create(cluster, obj, namespace)
    body = str(caught.value).partition(": ")[2]
    try:
        status = json.loads(body)
    except ValueError:
        return set(), body
    causes = (status.get("details") or {}).get("causes") or []
    return {str(c.get("field", "")) for c in causes}, str(status.get("message", ""))


def test_crds_are_established_with_structural_schemas(cluster: Cluster) -> None:
    for name in ("inferenceservices.governor.dev", "clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"):
        crd = cluster.client.get("customresourcedefinitions", None, name)
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions.get("Established") == "True", (name, conditions)
        assert conditions.get("NamesAccepted") == "True", (name, conditions)
        assert "NonStructuralSchema" not in conditions, (name, conditions)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_is_accepted(cluster: Cluster, namespace: str, path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "InferenceService"]
    assert docs, f"{path} holds no InferenceService"
    for doc in docs:
        doc = copy.deepcopy(doc)
        doc["metadata"]["namespace"] = namespace
        created = server_create(cluster, doc, namespace)
        assert created["metadata"]["name"] == doc["metadata"]["name"]


def test_base_case_is_accepted(cluster: Cluster, namespace: str) -> None:
    body = copy.deepcopy(BASE)
    body["metadata"]["namespace"] = namespace
    created = server_create(cluster, body, namespace)
    assert created["spec"]["minReplicas"] == 1, "the apiserver applies the schema's defaults"


@pytest.mark.parametrize(("body", "parse_error"), [(c[1], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_is_rejected_where_governor_validate_rejects_it(
    cluster: Cluster, namespace: str, body: dict[str, Any], parse_error: tuple[str, str]
) -> None:
    schema, _ = validate.load_schema_check(REPO / "crds" / "inferenceservice.yaml")
    ours = {p.path: p.message for p in validate.check_object(body, "case.yaml", "case", schema)}
    path, message = parse_error
    assert path in ours, ours
    obj = copy.deepcopy(body)
    obj["metadata"]["namespace"] = namespace
    fields, server_message = rejection(cluster, obj, namespace)
    assert path in fields or path in server_message, (fields, server_message)
    if message in CEL_MESSAGES:
        assert message in server_message, server_message


@pytest.mark.parametrize("name", ["qwen2.5-7b", "7b-chat", "x" * 64], ids=["dot", "leading-digit", "64-chars"])
def test_a_name_governor_cannot_give_its_objects_is_refused_up_front(
    cluster: Cluster, namespace: str, name: str
) -> None:
    """Valid object names that are not Service names or label values: the apiserver refuses them with
    the parser's words, instead of accepting them and answering 422 to every one of Governor's writes."""
    body = copy.deepcopy(BASE)
    body["metadata"] = {"name": name, "namespace": namespace}
    with pytest.raises(InvalidSpec) as caught:
        parse_service(body)
    assert [(e.path, e.message) for e in caught.value.errors] == [("metadata.name", rules.NAME_IS_DNS_LABEL)]
    _, server_message = rejection(cluster, body, namespace)
    assert rules.NAME_IS_DNS_LABEL in server_message, server_message


def test_token_objectives_are_accepted_and_defaulted(cluster: Cluster, namespace: str) -> None:
    """ttft/itl beside or instead of latencyMs; quantile defaults to 0.9; latencyMs is not filled in beside them."""
    body = copy.deepcopy(BASE)
    body["metadata"]["namespace"] = namespace
    body["spec"]["slo"] = {"ttft": {"ms": 300}, "itl": {"ms": 40, "quantile": 0.99}}
    created = server_create(cluster, body, namespace)
    assert created["spec"]["slo"]["ttft"] == {"ms": 300, "quantile": 0.9}
    assert created["spec"]["slo"]["itl"] == {"ms": 40, "quantile": 0.99}
    assert "latencyMs" not in created["spec"]["slo"]  # only token objectives: request latency is not judged
    slo = parse_service(created).slo
    assert slo.latency_declared is False and slo.ttft is not None and slo.ttft.quantile == 0.9
    body["spec"]["slo"] = {"latencyMs": 2000, "ttft": {"ms": 300}}
    assert parse_service(server_create(cluster, body, namespace)).slo.latency_declared is True


def test_an_invalid_token_objective_is_rejected(cluster: Cluster, namespace: str) -> None:
    body = copy.deepcopy(BASE)
    body["metadata"]["namespace"] = namespace
    body["spec"]["slo"] = {"itl": {"ms": -1, "quantile": 1.5}}
    _, message = rejection(cluster, body, namespace)
    assert "spec.slo.itl.ms" in message and "spec.slo.itl.quantile" in message, message


def test_a_variants_token_costs_are_stored_and_a_bad_one_rejected(cluster: Cluster, namespace: str) -> None:
    body = copy.deepcopy(BASE)
    body["metadata"]["namespace"] = namespace
    variant = {"precision": "bf16", "tokenCosts": {"stepMs": 18, "kvTokens": 1200000}}
    body["spec"]["precision"] = {"variants": [variant]}
    created = server_create(cluster, body, namespace)
    assert created["spec"]["precision"]["variants"][0]["tokenCosts"] == {"stepMs": 18, "kvTokens": 1200000}
    costs = parse_service(created).precision.variants[0].token_costs
    assert costs is not None and costs.step_ms == 18.0 and costs.prefill_us_per_token is None
    body["metadata"]["name"] = "bad-costs"
    body["spec"]["precision"]["variants"][0]["tokenCosts"] = {"stepMs": 0}
    _, message = rejection(cluster, body, namespace)
    assert "tokenCosts.stepMs" in message, message
