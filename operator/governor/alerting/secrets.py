"""A string that never prints itself, and a scrubber for text that might contain one.

Receiver URLs (a Slack webhook URL *is* a credential), tokens, HMAC keys and PagerDuty
routing keys are held as ``Secret``: ``str()``, ``repr()`` and f-strings show ``***``, so
a secret reaching a log line, a status field or an Event by accident shows nothing.
Only the senders call ``reveal()``, right where the request is built.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def scrub(text: str, secrets: Iterable[Secret | None]) -> str:
    """``text`` with every occurrence of any secret's value replaced by ``***``."""
    for secret in secrets:
        if secret is not None and len(secret.reveal()) >= 4:
            text = text.replace(secret.reveal(), MASK)
    return text
