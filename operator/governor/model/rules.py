"""The cross-field rules of the InferenceService CRD, worded once for both enforcers.

Each rule exists twice: as a CEL ``x-kubernetes-validations`` entry in
``crds/inferenceservice.yaml`` (enforced by the API server on clusters with CEL) and in
``governor.model.parse`` (enforced by the operator and ``governor validate`` everywhere).
Both use the messages below, and ``tests/unit/schema`` checks that every CEL message of the
CRD is one of them and that a violating object makes ``parse_service`` report it at the
same path.
"""

from __future__ import annotations

from typing import Final

# the object, fieldPath .metadata.name: the name becomes a Service name and a label value.
NAME_IS_DNS_LABEL: Final = (
    "must be a DNS-1035 label (at most 63 lowercase letters, digits or '-', starting with a letter"
    " and ending with a letter or digit): the owned Service, the Deployment and the pods' label carry it"
)
# spec (fieldPath: the whole spec): owned mode or target mode, never both, never neither.
WORKLOAD_ONE_OF: Final = "exactly one of template or scaleTargetRef must be set"
# spec, fieldPath .minReplicas
MIN_LE_MAX: Final = "minReplicas must not be greater than maxReplicas"
# spec.precision, fieldPath .preferred
PREFERRED_IN_VARIANTS: Final = "preferred must be the precision of one of the variants"
# spec.precision, fieldPath .qualityFloor
PREFERRED_ABOVE_FLOOR: Final = "the preferred variant's relativeQuality must be at least qualityFloor"
# spec.precision.variants[*], fieldPath .modelVersion
IN_PLACE_NEEDS_VERSION: Final = "a variant that allows the InPlace swap mode must set modelVersion"
# spec.precision.variants (list-type map keyed by precision; parse words the duplicate like this)
DUPLICATE_PRECISION: Final = "duplicate precision: each precision may have one variant only"

CEL_MESSAGES: Final = (
    NAME_IS_DNS_LABEL,
    WORKLOAD_ONE_OF,
    MIN_LE_MAX,
    PREFERRED_IN_VARIANTS,
    PREFERRED_ABOVE_FLOOR,
    IN_PLACE_NEEDS_VERSION,
)
