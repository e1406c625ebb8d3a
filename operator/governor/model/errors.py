"""Governor's own small error hierarchy.

Lower layers raise these; only the controller translates them into Kopf's
``TemporaryError`` / ``PermanentError`` at the handler edge.
"""

from __future__ import annotations

from dataclasses import dataclass


class GovernorError(Exception):
    """Base of every error Governor raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a spec, addressed by its JSON path (``spec.maxReplicas``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InvalidSpec(GovernorError):
    """The InferenceService spec cannot be served; carries every problem found, not just the first."""

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors) or "invalid spec")
