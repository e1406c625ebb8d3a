"""The simulated replicas: start-up delay, scale up / down and the physics of a precision swap.

Every policy drives the same ``Fleet`` with two numbers (desired replicas, desired precision),
so differences between policies come from their decisions, never from different physics.

Per-replica capacity: a replica serves ``slots`` requests at once (continuous batching); one
request takes ``service_time_s / relative_throughput`` seconds at a variant, so a replica
completes ``slots * relative_throughput / service_time_s`` requests per second.

Swaps, as the target variant declares them:

* **Rolling** (Deployment rolling update, ``maxUnavailable: 0``): while the fleet is below
  ``max_replicas`` it surges new pods at the new precision (up to ``surge_share`` of the
  desired count and never above ``max_replicas``) and deletes one old pod each time a new one
  becomes ready; at ``max_replicas`` there is no room to surge, so old pods restart one at a
  time, each serving nothing for the start-up time. A controller may allow more for one
  rollout (``max_unavailable``, like the Deployment's ``maxUnavailable``): old pods then
  restart while fewer than that many pods are not ready (pods of a scale-up, which start at
  the new precision, count).
* **InPlace** (e.g. Triton model control): at most ``max(1, floor(in_place_share * N))`` ready
  pods at once stop serving for ``in_place_s`` while the server loads the other version.

A pod that is still starting simply starts at the new precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from governor.model.spec import Precision, ServiceSpec


@dataclass(frozen=True)
class VariantPhysics:
    """What the fleet needs to know about one variant."""

    precision: Precision
    rate_per_replica: float  # requests/s one replica completes at full batch
    service_time_s: float  # seconds one request takes
    quality: float
    in_place: bool  # the variant can be loaded without a pod restart


@dataclass
class Pod:
    """One replica; mutable on purpose, private to the fleet."""

    precision: Precision
    ready_at: float  # when it serves (start-up or rolling restart)
    swap_until: float = -math.inf  # in-place model load in progress until then
    surge: bool = False  # created by a rolling update to replace an old pod

    def serving(self, now: float) -> bool:
        return self.ready_at <= now and self.swap_until <= now


@dataclass(frozen=True)
class FleetConfig:
    startup_s: float
    max_replicas: int
    in_place_s: float = 20.0
    in_place_share: float = 0.25
    surge_share: float = 0.25

    @classmethod
    def of(cls, spec: ServiceSpec, in_place_s: float) -> FleetConfig:
        """The fleet a service's spec describes: its start-up, bounds and in-place share."""
        return cls(
            startup_s=spec.startup_seconds,
            max_replicas=spec.max_replicas,
            in_place_s=in_place_s,
            in_place_share=spec.precision.in_place_max_unavailable,
        )


@dataclass
class Fleet:
    """Pods of one service, their precision and how much they can serve right now."""

    config: FleetConfig
    variants: dict[Precision, VariantPhysics]
    target: Precision
    desired: int
    pods: list[Pod] = field(default_factory=list)
    max_unavailable: int | None = None  # this rollout's allowance (None: one at a time at max)
    _next_event: float = math.inf

    @classmethod
    def started(
        cls, config: FleetConfig, variants: dict[Precision, VariantPhysics], precision: Precision, replicas: int
    ) -> Fleet:
        """A fleet that has been running long enough for every pod to be ready."""
        pods = [Pod(precision, ready_at=-math.inf) for _ in range(replicas)]
        return cls(config, variants, precision, replicas, pods)

    # --- what policies and telemetry read -------------------------------------------------
    @property
    def alive(self) -> int:
        return len(self.pods)

    def ready(self, now: float) -> int:
        return sum(1 for p in self.pods if p.ready_at <= now)

    def serving_pods(self, now: float) -> list[Pod]:
        return [p for p in self.pods if p.serving(now)]

    def swapping(self, now: float) -> bool:
        """A precision change is under way: old pods left, surges pending or a model loading."""
        return any(p.precision != self.target or p.surge or p.swap_until > now for p in self.pods)

    def capacity(self, now: float) -> dict[Precision, float]:
        """Requests/s the serving pods complete at full batch, per precision."""
        out: dict[Precision, float] = {}
        for pod in self.serving_pods(now):
            out[pod.precision] = out.get(pod.precision, 0.0) + self.variants[pod.precision].rate_per_replica
        return out

    def next_event(self) -> float:
        return self._next_event

    # --- what the policy's command changes ------------------------------------------------
    def command(
        self, replicas: int, precision: Precision, now: float, max_unavailable: int | None = None
    ) -> tuple[bool, bool]:
        """Apply a desired (replicas, precision); returns (scaled, swapped)."""
        self.max_unavailable = max_unavailable
        replicas = max(0, min(replicas, self.config.max_replicas))
        swapped = precision != self.target and precision in self.variants
        if swapped:
            self.target = precision
        scaled = replicas != self.desired
        self.desired = replicas
        self.reconcile(now)
        return scaled, swapped

    def reconcile(self, now: float) -> None:
        """Play the Deployment controller: match the desired count, progress a swap, finish surges."""
        self._finish_surges(now)
        self._match_count(now)
        if any(p.precision != self.target for p in self.pods):
            if self.variants[self.target].in_place:
                self._progress_in_place(now)
            else:
                self._progress_rolling(now)
        pending = [p.ready_at for p in self.pods if p.ready_at > now]
        pending += [p.swap_until for p in self.pods if p.swap_until > now]
        self._next_event = min(pending, default=math.inf)

    def _old(self) -> list[Pod]:
        return [p for p in self.pods if p.precision != self.target]

    def _finish_surges(self, now: float) -> None:
        for pod in [p for p in self.pods if p.surge and p.ready_at <= now]:
            pod.surge = False
            old = sorted(self._old(), key=lambda p: (p.ready_at <= now, -p.ready_at))
            if old:
                self.pods.remove(old[0])

    def _match_count(self, now: float) -> None:
        regular = [p for p in self.pods if not p.surge]
        missing = self.desired - len(regular)
        for _ in range(max(0, missing)):
            self.pods.append(Pod(self.target, ready_at=now + self.config.startup_s))
        if missing < 0:
            # ReplicaSet order: not-ready pods first, then old precision, then the newest.
            victims = sorted(regular, key=lambda p: (p.ready_at <= now, p.precision == self.target, -p.ready_at))
            for pod in victims[:-missing]:
                self.pods.remove(pod)
        # Surge pods beyond the old pods still to replace are no longer needed.
        surges = sorted((p for p in self.pods if p.surge), key=lambda p: p.ready_at)
        for pod in surges[len(self._old()) :]:
            self.pods.remove(pod)

    def _progress_in_place(self, now: float) -> None:
        limit = max(1, math.floor(self.config.in_place_share * max(self.desired, 1)))
        for pod in self._old():
            if pod.ready_at > now:  # still starting: it loads the new version at start
                pod.precision = self.target
        busy = sum(1 for p in self.pods if p.swap_until > now)
        for pod in self._old():
            if busy >= limit:
                break
            if pod.swap_until <= now:
                pod.precision = self.target
                pod.swap_until = now + self.config.in_place_s
                busy += 1

    def _progress_rolling(self, now: float) -> None:
        for pod in self._old():
            if pod.ready_at > now and not pod.surge:  # a starting old pod is recreated at the new precision
                pod.precision = self.target
        old = self._old()
        if not old:
            return
        surging = sum(1 for p in self.pods if p.surge)
        room = self.config.max_replicas - len(self.pods)
        allowance = min(math.ceil(self.config.surge_share * max(self.desired, 1)), surging + room)
        if allowance > 0:
            for _ in range(min(allowance, len(old)) - surging):
                self.pods.append(Pod(self.target, ready_at=now + self.config.startup_s, surge=True))
            if self.max_unavailable is None:
                return
        limit = self.max_unavailable if self.max_unavailable is not None else 1
        unready = sum(1 for p in self.pods if p.ready_at > now)
        for victim in old:
            if unready >= limit:
                break
            if victim.ready_at <= now:
                victim.precision = self.target
                victim.ready_at = now + self.config.startup_s
                unready += 1
