"""``build_status``: compose a status from what a reconcile saw, JSON in and out, for the status tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governor.controller.status import Parts, Seen, compose_status
from governor.kube.status import status_material
from governor.model.status import ServiceStatus


def build_status(seen: Seen, previous: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The status JSON composed from ``previous`` (the other layers' parts carried as they were)."""
    prior = ServiceStatus.from_status(previous)
    return compose_status(seen, prior, Parts.of(prior), now).to_status()


def changed(previous: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether the status writer would write ``new`` after ``previous`` (a material change)."""
    return status_material(ServiceStatus.from_status(previous)) != status_material(ServiceStatus.from_status(new))
