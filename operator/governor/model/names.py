"""The shapes of names Governor accepts from a tenant, each with the words an error uses for it.

A name a tenant writes may become part of a Kubernetes object name, a label, or a URL path on a
model server (``/v2/models/{model}/versions/{version}/ready``). Each pattern here is the narrow
set that is safe where the name goes; ``crds/inferenceservice.yaml`` declares the same patterns
where the schema can carry them.
"""

from __future__ import annotations

import re
from typing import Final

DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_1035_LABEL: Final = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

# A Triton model repository name, and what the HTTP hook gets: one URL path segment, never `.` or `..`.
MODEL_NAME: Final = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
MODEL_NAME_HINT: Final = "a model name (1 to 128 letters, digits, '_', '-' or '.', not starting with '.')"
MODEL_VERSION: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MODEL_VERSION_HINT: Final = "a model version (1 to 128 letters, digits, '_', '-' or '.', not starting with '.' or '-')"
TRITON_VERSION: Final = re.compile(r"[1-9][0-9]{0,18}")  # Triton versions are positive int64s
