"""What the decision engine remembers between ticks, as one frozen, JSON-safe value.

``PolicyState`` is persisted in the CR's status (``to_dict`` / ``from_dict``), so a restarted
operator keeps its stabilisation history, rate-limit events, forecast, learned capacity and
swap bookkeeping. The caller feeds the world in with ``observed`` before each ``decide``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from governor.model.spec import Precision
from governor.policy.behavior import History
from governor.policy.forecast import Holt
from governor.policy.tokens import TokenModel


@dataclass(frozen=True)
class PolicyState:
    replicas: int  # replicas asked of the workload now (Deployment spec.replicas)
    precision: Precision  # precision served now (the one the pods run)
    swapping: bool = False  # a precision swap is rolling through the pods
    target_precision: Precision | None = None  # a swap we asked for and have not seen finish
    swap_starts: tuple[float, ...] = ()  # when each swap of the last hour was asked for
    last_swap_at: float | None = None  # when the last swap was asked for or seen to finish
    headroom_since: float | None = None  # since when a step up would have enough headroom
    recommendations: History = ()  # raw recommendations, for stabilisation windows
    scale_events: History = ()  # (time, replica change), for rate-limit policies
    forecast: Holt = field(default_factory=Holt)
    capacity_ref: float | None = None  # learned requests/s one replica serves at relative throughput 1.0
    service_time: float | None = None  # learned mean seconds a request spends in service
    data_seen_at: float | None = None  # last time the request rate was fresh
    data_lost_at: float | None = None  # when the request rate went missing (None while present)
    # The two latest distinct (queue depth, sample time) samples, oldest first, for the queue's growth rate.
    queue_seen: tuple[tuple[float, float], ...] = ()
    # Learned squared coefficient of variation of inter-arrival times (ca², 1.0 for Poisson).
    arrival_scv: float | None = None
    # The two latest distinct (effective rate, sample time) samples, oldest first, for ca².
    rate_seen: tuple[tuple[float, float], ...] = ()
    # Since when the observed p99 and attainment have met the SLO (None while they do not).
    calm_since: float | None = None
    # What the token model learned (services with TTFT/ITL objectives; None until it has data).
    token_model: TokenModel | None = None

    @classmethod
    def initial(cls, replicas: int, precision: Precision) -> PolicyState:
        return cls(replicas=replicas, precision=precision)

    def observed(self, replicas: int, precision: Precision, swapping: bool = False) -> PolicyState:
        """This state with what the cluster (or simulator) reports now.

        ``replicas`` is the count asked of the workload (Deployment ``spec.replicas``); ready
        replicas come in the Observation. A finished swap is noticed by ``decide``.
        """
        return replace(self, replicas=replicas, precision=precision, swapping=swapping)

    def evolve(self, changes: dict[str, Any]) -> PolicyState:
        """This state with ``changes`` (field name → value) applied; a fast ``dataclasses.replace``.

        Every field is a plain value and there is no ``__post_init__``, so copying the
        instance dictionary is equivalent; unknown names are rejected like ``replace`` does.
        """
        unknown = changes.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"unknown PolicyState fields: {sorted(unknown)}")
        new = object.__new__(PolicyState)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def to_dict(self) -> dict[str, Any]:
        return {
            "replicas": self.replicas,
            "precision": self.precision.value,
            "swapping": self.swapping,
            "targetPrecision": self.target_precision.value if self.target_precision else None,
            "swapStarts": list(self.swap_starts),
            "lastSwapAt": self.last_swap_at,
            "headroomSince": self.headroom_since,
            "recommendations": [[t, r] for t, r in self.recommendations],
            "scaleEvents": [[t, c] for t, c in self.scale_events],
            "forecast": {"level": self.forecast.level, "trend": self.forecast.trend, "at": self.forecast.at},
            "capacityRef": self.capacity_ref,
            "serviceTime": self.service_time,
            "dataSeenAt": self.data_seen_at,
            "dataLostAt": self.data_lost_at,
            "queueSeen": [list(pair) for pair in self.queue_seen],
            "arrivalScv": self.arrival_scv,
            "rateSeen": [list(pair) for pair in self.rate_seen],
            "calmSince": self.calm_since,
            "tokenModel": self.token_model.to_dict() if self.token_model is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyState:
        fc = data.get("forecast") or {}
        target = data.get("targetPrecision")
        return cls(
            replicas=int(data["replicas"]),
            precision=Precision(data["precision"]),
            swapping=bool(data.get("swapping", False)),
            target_precision=Precision(target) if target else None,
            swap_starts=tuple(float(t) for t in data.get("swapStarts", ())),
            last_swap_at=_opt_float(data.get("lastSwapAt")),
            headroom_since=_opt_float(data.get("headroomSince")),
            recommendations=tuple((float(t), int(r)) for t, r in data.get("recommendations", ())),
            scale_events=tuple((float(t), int(c)) for t, c in data.get("scaleEvents", ())),
            forecast=Holt(
                level=_opt_float(fc.get("level")), trend=float(fc.get("trend", 0.0)), at=_opt_float(fc.get("at"))
            ),
            capacity_ref=_opt_float(data.get("capacityRef")),
            service_time=_opt_float(data.get("serviceTime")),
            data_seen_at=_opt_float(data.get("dataSeenAt")),
            data_lost_at=_opt_float(data.get("dataLostAt")),
            queue_seen=tuple((float(v), float(t)) for v, t in data.get("queueSeen") or ()),
            arrival_scv=_opt_float(data.get("arrivalScv")),
            rate_seen=tuple((float(v), float(t)) for v, t in data.get("rateSeen") or ()),
            calm_since=_opt_float(data.get("calmSince")),
            token_model=TokenModel.from_dict(data["tokenModel"]) if data.get("tokenModel") else None,
        )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
