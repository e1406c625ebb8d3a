"""Which replica acts: Kopf peering's rule, applied to Governor's own control loop too.

Replicas that share a ``ClusterKopfPeering`` each keep a record alive in its status (identity →
priority, lifetime, lastseen). Kopf pauses the handlers of a replica that sees a live peer of
higher or equal priority — but that pause is Kopf-internal (no handler argument, setting or flag
exposes it), and the control loop is Governor's own task, not a Kopf handler. So the loop asks
this module before each tick: it reads the same peering object and applies the same rule, plus
one more condition — this replica's own record must be live. A replica that cannot renew its
record (partitioned from the API server) steps down by the deadline at which its peers give it
up for dead, so two replicas do not act at once.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from governor.kube.client import ApiError, KubeApi, api_path
from governor.settings import OperatorSettings

logger = logging.getLogger(__name__)

PEERING_API_VERSION = "kopf.dev/v1"
UNSTATED_LIFETIME = 60.0  # what Kopf assumes for a record without a lifetime
MAX_RANDOM_PRIORITY = 32767  # the range of bash's $RANDOM, as Kopf's docs suggest for replicas


@dataclass(frozen=True)
class Peering:
    """This replica in the cluster-wide peering object: shared with Kopf so both apply one rule."""

    name: str
    identity: str
    priority: int
    lifetime_seconds: int

    @classmethod
    def from_settings(cls, settings: OperatorSettings) -> Peering | None:
        """``None`` without ``GOVERNOR_PEERING`` (standalone: the only replica, always active)."""
        if settings.peering is None:
            return None
        priority = settings.peering_priority
        if priority is None:
            priority = random.randint(0, MAX_RANDOM_PRIORITY)
        return cls(settings.peering, own_identity(), priority, settings.peering_lifetime_seconds)

    @property
    def path(self) -> str:
        return api_path(PEERING_API_VERSION, "clusterkopfpeerings", None, self.name)


def own_identity() -> str:
    """The pod's name in a cluster (``POD_ID``, as Kopf reads it, else ``HOSTNAME``), made unique per start."""
    host = os.environ.get("POD_ID") or os.environ.get("HOSTNAME") or socket.gethostname()
    return f"{host}/{os.getpid()}/{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Standing:
    active: bool
    reason: str
    outranked: int = 0  # live replicas of lower priority (standing by, or about to: a handover)


def standing(records: Mapping[str, Any], me: Peering, now: float) -> Standing:
    """Kopf's rule on the peering object's status: act only without a live peer of priority >= ours."""
    if _live_priority(records.get(me.identity), now) is None:
        return Standing(False, "this replica's keep-alive is not (or no longer) recorded")
    rivals = sorted(
        (priority, str(identity))
        for identity, record in records.items()
        if identity != me.identity and (priority := _live_priority(record, now)) is not None
    )
    if rivals and rivals[-1][0] >= me.priority:
        priority, identity = rivals[-1]
        return Standing(False, f"{identity} (priority {priority}) is live with a priority >= {me.priority}")
    return Standing(True, f"the live replica with the highest priority, {me.priority}", outranked=len(rivals))


def _live_priority(record: object, now: float) -> int | None:
    """A record's priority while it is live at ``now``; ``None`` when it is expired, absent or unreadable."""
    if not isinstance(record, Mapping):
        return None
    try:
        priority = int(record.get("priority", 0))
        lifetime = float(record.get("lifetime", UNSTATED_LIFETIME))
        lastseen = record.get("lastseen")
        seen = now if lastseen is None else datetime.fromisoformat(str(lastseen)).timestamp()
    except (TypeError, ValueError):
        return None
    return priority if seen + lifetime > now else None


class ActiveGate(Protocol):
    """Asked at the top of every tick: may this replica act now?"""

    async def may_act(self, now: float) -> bool: ...


class AlwaysActive:
    """Standalone: the only replica is always the active one."""

    async def may_act(self, now: float) -> bool:
        return True


@dataclass
class PeeringGate:
    """Reads the peering object once per tick and logs each change of this replica's standing.

    Taking over from live replicas (this one joined with a higher priority) waits ``handover_seconds``
    — one tick — so that the replica it replaces has seen it and stopped before this one acts. A
    takeover from a dead replica does not wait: nobody else is acting.
    """

    api: KubeApi
    peering: Peering
    handover_seconds: float = 0.0
    _active: bool | None = None
    _entitled_since: float | None = None

    async def may_act(self, now: float) -> bool:
        current = await self._standing(now)
        if not current.active:
            self._entitled_since = None
        elif current.outranked and not self._active:
            self._entitled_since = now if self._entitled_since is None else self._entitled_since
            if now - self._entitled_since < self.handover_seconds:
                return False
        if current.active != self._active:
            state = "active" if current.active else "standing by"
            logger.info("peering %s: %s %s: %s", self.peering.name, self.peering.identity, state, current.reason)
        self._active = current.active
        return current.active

    async def _standing(self, now: float) -> Standing:
        try:
            body = await self.api.get(self.peering.path)
        except ApiError as exc:
            return Standing(False, f"cannot read ClusterKopfPeering {self.peering.name}: {exc}")
        return standing(body.get("status") or {}, self.peering, now)
