"""What an SRE sees of an InferenceService through the real kubectl against the real apiserver.

The unit suite checks that every field of the CRD carries a description and that the printer
columns point at fields that exist; only the apiserver publishes them (OpenAPI v3 for ``kubectl
explain``, the Table for ``kubectl get``), so only these tests show what a person reads.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from governor.model import crdschema
from tests.cluster.conftest import Cluster
from tests.support.control_plane import REPO
from tests.unit.schema.test_crds import PRINTER_COLUMNS, WIDE_COLUMNS

CRD = yaml.safe_load((REPO / "crds" / "inferenceservice.yaml").read_text())
SCHEMA = crdschema.version_schema(CRD)
# What kubectl explain prints for a field without a description (in FIELDS) and for the field itself.
UNDESCRIBED = ("<no description>", "<empty>")
FIELD_LINE = re.compile(r"^(?P<indent> +)(?P<name>[A-Za-z0-9_]+)\t<")

# The status Governor would write for 3 asked, 2 ready, 4 desired replicas at fp8.
STATUS = {
    "replicas": 3,
    "readyReplicas": 2,
    "desiredReplicas": 4,
    "precision": "fp8",
    "metrics": {"latencyP99Ms": 412.5, "gpuUtilization": 0.61, "cacheHitRatio": 0.42},
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "ReplicasReady",
            "message": "2/3 replicas ready",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ],
}


def explain(cluster: Cluster, *args: str) -> str:
    """``kubectl explain``, waiting for the apiserver to publish the CRD's OpenAPI (seconds after Established)."""
    deadline = time.monotonic() + 30
    while True:
        result = cluster.kubectl("explain", *args, check=False)
        if result.returncode == 0 or time.monotonic() > deadline:
            assert result.returncode == 0, result.stderr
            return result.stdout
        time.sleep(0.5)


def schema_fields(node: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted field paths kubectl names under ``node`` (list items and map values have no name)."""
    if node.get("type") == "array" and isinstance(node.get("items"), Mapping):
        node = node["items"]
    paths = []
    for name, child in (node.get("properties") or {}).items():
        paths.append(f"{prefix}{name}")
        paths.extend(schema_fields(child, f"{prefix}{name}."))
    return paths


def recursive_fields(output: str) -> list[str]:
    """The dotted field paths of ``kubectl explain --recursive`` output (two spaces per level)."""
    stack: list[str] = []
    paths = []
    for line in output.partition("FIELDS:")[2].splitlines():
        match = FIELD_LINE.match(line)
        if match is None:
            continue  # the `enum: …` lines and blanks
        depth = len(match["indent"]) // 2 - 1
        stack[depth:] = [match["name"]]
        paths.append(".".join(stack))
    return paths


def objects_with_fields(node: Mapping[str, Any], path: str) -> list[str]:
    """``path`` and every field under it that has fields of its own: what ``kubectl explain`` lists."""
    if node.get("type") == "array" and isinstance(node.get("items"), Mapping):
        node = node["items"]
    properties = node.get("properties") or {}
    found = [path] if properties else []
    for name, child in properties.items():
        found.extend(objects_with_fields(child, f"{path}.{name}"))
    return found


@pytest.mark.parametrize("part", ["spec", "status"])
def test_explain_recursive_names_every_field_of_the_schema(cluster: Cluster, part: str) -> None:
    output = explain(cluster, f"inferenceservice.{part}", "--recursive")
    assert sorted(recursive_fields(output)) == sorted(schema_fields(SCHEMA["properties"][part]))


def test_explain_describes_every_field(cluster: Cluster) -> None:
    """Every object's explain page lists each of its fields with a description: no <no description>."""
    paths = objects_with_fields(SCHEMA, "inferenceservice")
    assert len(paths) >= 20
    for path in paths:
        output = explain(cluster, path)
        assert "DESCRIPTION:" in output, output
        blank = [line for line in output.splitlines() if line.strip() in UNDESCRIBED]
        assert blank == [], f"kubectl explain {path} prints fields without a description:\n{output}"


def test_explain_slo_gives_units_defaults_and_effect(cluster: Cluster) -> None:
    output = " ".join(explain(cluster, "inferenceservice.spec.slo").split())
    for field in ("latencyMs", "latencyQuantile", "objective", "periodDays"):
        assert f"{field} <number>" in output, output
    assert "milliseconds" in output and "default 1000" in output, output
    assert "default 0.99" in output and "default 0.999" in output and "default 30" in output, output
    assert "error budget" in output, output


def applied_example(cluster: Cluster, namespace: str) -> str:
    """examples/vllm-chat.yaml in ``namespace``, with the status Governor would write; its name."""
    doc = next(d for d in yaml.safe_load_all((REPO / "examples" / "vllm-chat.yaml").read_text()) if d)
    doc = copy.deepcopy(doc)
    doc["metadata"]["namespace"] = namespace
    cluster.plane.apply(doc)
    name = str(doc["metadata"]["name"])
    patch = yaml.safe_dump({"status": STATUS})
    cluster.kubectl("patch", "gisvc", name, "-n", namespace, "--subresource=status", "--type=merge", "-p", patch)
    return name


def _cells(header: str, row: str) -> dict[str, str]:
    """A kubectl table row by column: cells start where their header starts, and may be blank."""
    starts = [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 1] == " ")]
    ends = [*starts[1:], max(len(row), len(header)) + 1]
    return {header[a:b].strip(): row[a:b].strip() for a, b in zip(starts, ends, strict=True)}


def test_get_wide_prints_the_columns_an_sre_reads(cluster: Cluster, namespace: str) -> None:
    name = applied_example(cluster, namespace)
    header, row = cluster.kubectl("get", "gisvc", name, "-n", namespace, "-o", "wide").stdout.splitlines()
    assert header.split() == ["NAME", *(c.upper() for c in PRINTER_COLUMNS), *(c.upper() for c in WIDE_COLUMNS)]
    cells = _cells(header, row)
    assert cells["NAME"] == name and cells["READY"] == "True" and cells["PRECISION"] == "fp8"
    assert cells["TTFT(MS)"] == cells["ITL(MS)"] == ""  # no token objective declared: blank, not a shifted row
    assert (cells["MIN"], cells["MAX"], cells["SLO(MS)"]) == ("2", "16", "300")  # the example's spec
    assert (cells["DESIRED"], cells["REPLICAS"], cells["READY-REPLICAS"]) == ("4", "3", "2")
    assert (cells["P99(MS)"], cells["GPU"], cells["CACHE-HIT"]) == ("412.5", "0.61", "0.42")
    plain = cluster.kubectl("get", "gisvc", name, "-n", namespace).stdout.splitlines()[0].split()
    assert plain == ["NAME", *(c.upper() for c in PRINTER_COLUMNS)]


def test_describe_shows_the_conditions_in_words(cluster: Cluster, namespace: str) -> None:
    name = applied_example(cluster, namespace)
    output = cluster.kubectl("describe", "gisvc", name, "-n", namespace).stdout
    status = " ".join(output.partition("\nStatus:")[2].split())
    for text in ("Message: 2/3 replicas ready", "Reason: ReplicasReady", "Desired Replicas: 4", "Ready Replicas: 2"):
        assert text in status, output
