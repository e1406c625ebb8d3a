"""The InferenceService's identity in the Kubernetes API, and the label that ties pods to their service.

One place for what every layer names: the CRD's group, version, kind, plural and short name
(``crds/inferenceservice.yaml`` declares the same, and a test compares them), and the
``governor.dev/service`` label that Governor puts on the pods of a service and selects them by.
"""

from __future__ import annotations

from typing import Final

GROUP: Final = "governor.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "InferenceService"
PLURAL: Final = "inferenceservices"
SHORT_NAME: Final = "gisvc"
CRD_NAME: Final = f"{PLURAL}.{GROUP}"
SERVICE_LABEL: Final = "governor.dev/service"


def service_labels(name: str) -> dict[str, str]:
    """The labels that mark a pod as serving the service ``name``."""
    return {SERVICE_LABEL: name}


def service_selector(name: str) -> str:
    """The pods of the service ``name`` as a label selector: ``governor.dev/service=chat``."""
    return f"{SERVICE_LABEL}={name}"
