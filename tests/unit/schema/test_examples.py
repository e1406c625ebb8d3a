"""Every example CR is valid for the CRD schema (as written and after defaulting) and for parse_service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from governor.model import PrecisionMode, SwapMode, crdschema
from governor.model.parse import parse_service

from .conftest import EXAMPLE_FILES, documents


def _examples() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{p.name}:{d['metadata']['name']}", d) for p in EXAMPLE_FILES for d in documents(p)]


@pytest.mark.parametrize(("name", "cr"), _examples(), ids=[n for n, _ in _examples()])
def test_example_is_valid(
    name: str, cr: dict[str, Any], isvc_schema: dict[str, Any], isvc_validator: jsonschema.Draft202012Validator
) -> None:
    assert (cr["apiVersion"], cr["kind"]) == ("governor.dev/v1alpha1", "InferenceService")
    assert [e.message for e in isvc_validator.iter_errors(cr)] == []
    defaulted = crdschema.apply_defaults(isvc_schema, cr)
    assert [e.message for e in isvc_validator.iter_errors(defaulted)] == []
    assert parse_service(defaulted) == parse_service(cr)


def test_examples_cover_the_documented_modes() -> None:
    specs = {Path(n.split(":")[0]).stem: parse_service(cr) for n, cr in _examples()}
    assert len(specs) >= 4
    assert specs["vllm-chat"].owned and specs["vllm-chat"].precision.mode is PrecisionMode.AUTO
    assert {v.precision.value for v in specs["vllm-chat"].precision.variants} == {"bf16", "fp8", "int4"}
    assert all(SwapMode.IN_PLACE in v.swap_modes for v in specs["triton-inplace"].precision.variants)
    assert specs["tgi-target"].scale_target_ref is not None and not specs["tgi-target"].owned
    assert specs["observe-only"].observe_only
