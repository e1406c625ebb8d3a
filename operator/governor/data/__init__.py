"""Files shipped inside the package, read with ``importlib.resources`` wherever Governor is installed.

No module reads files relative to the source tree: an installed Governor (a wheel, the image) has
none. What a module needs at run time ships here as package data:

* ``inferenceservice.yaml``: the InferenceService CRD, a byte-equal copy of
  ``crds/inferenceservice.yaml`` (the file administrators apply and the chart copies; a unit test,
  ``tests/unit/schema/test_crds.py``, fails when the copy is stale). ``governor validate`` checks
  manifests against its schema and ``governor demo`` applies it.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any, Final

import yaml

CRD_FILE: Final = "inferenceservice.yaml"


def crd_text() -> str:
    """The InferenceService CRD as shipped, as YAML text."""
    return files(__name__).joinpath(CRD_FILE).read_text(encoding="utf-8")


def crd() -> dict[str, Any]:
    """The InferenceService CRD as shipped, parsed."""
    doc = yaml.safe_load(crd_text())
    if not isinstance(doc, dict):
        raise ValueError(f"{CRD_FILE} shipped with Governor is not one YAML mapping")
    return doc
