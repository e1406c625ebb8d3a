"""The ``governor.dev/*`` annotations of an InferenceService, parsed with its spec.

Annotations are not in the CRD's schema: the API server takes any string for any key. Yet
Governor acts on four of them (how to reach the model server, how long a manual scale holds,
which container is the model's), so each is checked here like a spec field and reported at
``metadata.annotations["governor.dev/…"]`` with the values it accepts. An unknown key under
``governor.dev/`` is reported too: a misspelt knob that silently does nothing is worse than an
``Invalid`` condition naming it. Other annotations are none of Governor's business.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from governor.model.fields import FieldReader, kind_of
from governor.model.names import DNS_LABEL
from governor.model.spec import ActuationHints, InPlaceProtocol

PREFIX: Final = "governor.dev/"
PROTOCOL_ANNOTATION: Final = "governor.dev/in-place-protocol"
PORT_ANNOTATION: Final = "governor.dev/in-place-port"
HOLD_ANNOTATION: Final = "governor.dev/manual-hold-seconds"
MODEL_CONTAINER_ANNOTATION: Final = "governor.dev/model-container"
KNOWN: Final = (PROTOCOL_ANNOTATION, PORT_ANNOTATION, HOLD_ANNOTATION, MODEL_CONTAINER_ANNOTATION)

MAX_HOLD_SECONDS: Final = 7 * 24 * 3600
PORT: Final = re.compile(r"[0-9]{1,5}")  # ASCII digits only: int() would also take '٨٠' or ' 80'
SECONDS: Final = re.compile(r"[0-9]{1,7}(\.[0-9]{1,3})?")  # float() would also take '1e12', 'nan', '1_000'


def annotation_path(key: str) -> str:
    """Where an annotation's problem is reported: ``metadata.annotations["governor.dev/in-place-port"]``."""
    return f'metadata.annotations["{key}"]'


def parse_annotations(r: FieldReader, value: Any, path: str, containers: Sequence[str] | None = None) -> ActuationHints:
    """``metadata.annotations`` → ``ActuationHints``; ``containers``: the owned template's container names."""
    annotations = r.mapping(value, path)
    if annotations is None:
        return ActuationHints()
    texts: dict[str, str] = {}
    for key, text in annotations.items():
        if not key.startswith(PREFIX):
            continue
        if key not in KNOWN:
            r.error(annotation_path(key), f"unknown Governor annotation; known: {', '.join(KNOWN)}")
        elif not isinstance(text, str):
            r.error(annotation_path(key), f"must be a string, got {kind_of(text)}")
        else:
            texts[key] = text
    d = ActuationHints()
    return ActuationHints(
        in_place_protocol=_protocol(r, texts.get(PROTOCOL_ANNOTATION)),
        in_place_port=_port(r, texts.get(PORT_ANNOTATION), d.in_place_port),
        manual_hold_seconds=_hold(r, texts.get(HOLD_ANNOTATION)),
        model_container=_container(r, texts.get(MODEL_CONTAINER_ANNOTATION), containers),
    )


def _shown(text: str) -> str:
    return repr(text if len(text) <= 64 else text[:61] + "...")


def _protocol(r: FieldReader, text: str | None) -> InPlaceProtocol | None:
    if text is None:
        return None
    allowed = [p.value for p in InPlaceProtocol]
    if text in allowed:
        return InPlaceProtocol(text)
    r.error(annotation_path(PROTOCOL_ANNOTATION), f"must be one of {', '.join(allowed)}, got {_shown(text)}")
    return None


def _port(r: FieldReader, text: str | None, default: int) -> int:
    if text is None:
        return default
    if PORT.fullmatch(text) and 1 <= int(text) <= 65535:
        return int(text)
    r.error(annotation_path(PORT_ANNOTATION), f"must be a port number from 1 to 65535, got {_shown(text)}")
    return default


def _hold(r: FieldReader, text: str | None) -> float | None:
    if text is None:
        return None
    if SECONDS.fullmatch(text) and float(text) <= MAX_HOLD_SECONDS:
        return float(text)
    r.error(
        annotation_path(HOLD_ANNOTATION),
        f"must be a number of seconds from 0 to {MAX_HOLD_SECONDS} (7 days), got {_shown(text)}",
    )
    return None


def _container(r: FieldReader, text: str | None, containers: Sequence[str] | None) -> str | None:
    if text is None:
        return None
    where = annotation_path(MODEL_CONTAINER_ANNOTATION)
    name = r.check_string(text, where, None, 63, DNS_LABEL, "a DNS-1123 label (a container name)")
    if name is not None and containers is not None and name not in containers:
        r.error(where, f"names no container of spec.template.spec.containers ({', '.join(containers)})")
        return None
    return name


def container_names(template: Mapping[str, Any] | None) -> list[str] | None:
    """The container names of an owned pod template (``None`` in target mode: the workload is not read here)."""
    if template is None:
        return None
    pod = template.get("spec")
    containers = pod.get("containers") if isinstance(pod, Mapping) else None
    if not isinstance(containers, Sequence) or isinstance(containers, str):
        return []
    return [str(c.get("name")) for c in containers if isinstance(c, Mapping) and isinstance(c.get("name"), str)]
