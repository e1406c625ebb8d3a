"""The clairvoyant bound: a controller that sees the true arrivals ahead of time.

No real autoscaler knows the future, so this row is not a competitor but a yardstick: it
sees the true arrivals ``startup_seconds + 30`` seconds ahead and the true queue, so every
replica it starts is ready before the load it was started for, and every swap it starts can
finish before the load that needs it. It still runs under the same physics (start-up time,
in-place and rolling swaps) and the same swap budget as Governor (at most four swaps in any
sliding hour, ``minDwellSeconds`` between swaps), so its violations bound what foresight
alone can buy under those rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from governor.model.spec import Precision, SwapMode
from governor.sim.baselines import PROVISION_UTILIZATION, allowed_precisions
from governor.sim.control import Command, SimView
from governor.sim.scenario import Scenario

SWAPS_PER_HOUR = 4  # the same budget Governor's decision engine keeps
PEAK_WINDOW_S = 10  # the load is sized on its worst 10-second mean
STEP_DOWN_HEADROOM = 2.0  # a step down binds for minDwellSeconds, far past the lookahead: twice the need
READY_UTILIZATION = 0.9  # a rolling swap keeps enough pods ready to serve the near load at this


def worst_mean(counts: np.ndarray, window_s: int) -> float:
    """The highest mean of ``counts`` over any ``window_s`` consecutive seconds (the mean if shorter)."""
    if counts.size == 0:
        return 0.0
    if counts.size <= window_s:
        return float(counts.mean())
    sums = np.cumsum(np.concatenate([[0.0], counts]))
    return float((sums[window_s:] - sums[:-window_s]).max() / window_s)


@dataclass
class ClairvoyantController:
    """Sizes for the worst 10 s of the next ``startup + 30`` seconds; swaps ahead of need."""

    scenario: Scenario
    name: str = "clairvoyant"
    period_s: int = 1
    drain_seconds: float = 30.0
    _swaps: list[float] = field(default_factory=list)
    _swap_from: Precision | None = None
    _starting: list[tuple[float, int]] = field(default_factory=list)  # (ready at, pods) of scale-ups
    _restarting: list[tuple[float, int]] = field(default_factory=list)  # (ready at, pods) of swap restarts

    @property
    def lookahead_s(self) -> int:
        return math.ceil(self.scenario.spec.startup_seconds) + 30

    def describe(self) -> str:
        return (
            f"bound, not a policy: true arrivals {self.lookahead_s} s ahead (start-up + 30 s) + backlog/"
            f"{self.drain_seconds:g} s, every second; sized for the worst {PEAK_WINDOW_S} s at "
            f"{PROVISION_UTILIZATION:.0%} utilisation, down at once; highest precision that carries it at "
            f"maxReplicas, swapped ahead of need within {SWAPS_PER_HOUR} swaps/hour and minDwellSeconds"
        )

    def decide(self, view: SimView) -> Command:
        now = int(view.now)
        ahead = self.scenario.arrivals.counts[now : now + self.lookahead_s].astype(float)
        if ahead.size == 0:
            return Command(view.replicas, view.precision)
        drain = view.truth.queue / self.drain_seconds
        need = worst_mean(ahead, PEAK_WINDOW_S) + drain
        if not view.swapping:
            self._swap_from = None
        wanted = self._precision(view, need)
        batch_s = int(self.scenario.in_place_s if self._in_place(wanted) else self.scenario.spec.startup_seconds)
        during = worst_mean(ahead[:batch_s], PEAK_WINDOW_S) + drain
        precision = wanted if self._swap_affordable(view, wanted, need, during) else view.precision
        if precision != view.precision:
            self._swaps.append(view.now)
            self._swap_from = view.precision
        # Pods started now run the current precision until a swap begins: size for the slower of the two.
        sizing = self._slowest(precision) if precision == wanted else min((wanted, view.precision), key=self._rate)
        replicas = self.scenario.replicas_for(need, PROVISION_UTILIZATION, sizing)
        self._track_starts(view, replicas)
        return Command(replicas, precision, self._max_unavailable(view, precision, replicas, ahead))

    def _rate(self, precision: Precision) -> float:
        return self.scenario.rate_per_replica(precision)

    def _swap_affordable(self, view: SimView, wanted: Precision, need: float, during: float) -> bool:
        """Start a swap when the pods serving through its first batch carry the load, or when overloaded anyway."""
        if wanted == view.precision:
            return True
        slower = min((wanted, view.precision), key=self._rate)
        replicas = self.scenario.replicas_for(need, PROVISION_UTILIZATION, slower)
        if self._in_place(wanted):
            out = max(1, math.floor(self.scenario.spec.precision.in_place_max_unavailable * replicas))
        else:
            out = 0 if view.alive < self.scenario.spec.max_replicas else 1  # below max a rolling swap surges
        slowest = min(self._rate(wanted), self._rate(view.precision))
        overloaded = view.ready * self._rate(view.precision) < during
        return overloaded or (view.ready - out) * slowest * READY_UTILIZATION >= during

    def _in_place(self, precision: Precision) -> bool:
        variant = self.scenario.spec.precision.variant(precision)
        return variant is not None and SwapMode.IN_PLACE in variant.swap_modes

    # --- precision ------------------------------------------------------------------------
    def _capacity(self, precision: Precision, share_lost: float = 0.0) -> float:
        spec = self.scenario.spec
        usable = spec.max_replicas * (1.0 - share_lost)
        return self.scenario.rate_per_replica(precision) * usable * PROVISION_UTILIZATION

    def _precision(self, view: SimView, need: float) -> Precision:
        ladder = allowed_precisions(view.spec)
        current = view.precision if view.precision in ladder else ladder[0]
        best = next((p for p in ladder if need <= self._capacity(p)), ladder[-1])
        if best == current or view.swapping or not self._budget_allows(view):
            return current
        if ladder.index(best) > ladder.index(current):  # lower quality: the window needs it
            # No swap back for minDwellSeconds: step down to what carries the need with headroom.
            return next((p for p in ladder if need * STEP_DOWN_HEADROOM <= self._capacity(p)), ladder[-1])
        # Higher quality: only when it carries the worst of the window while the swap itself costs capacity.
        fits = [p for p in ladder[: ladder.index(current)] if need <= self._capacity(p, self._swap_loss(p))]
        return fits[0] if fits else current

    def _swap_loss(self, precision: Precision) -> float:
        """Share of maxReplicas out of service while swapping to ``precision``."""
        if self._in_place(precision):
            return max(1.0 / self.scenario.spec.max_replicas, self.scenario.spec.precision.in_place_max_unavailable)
        return 1.0 / self.scenario.spec.max_replicas

    def _budget_allows(self, view: SimView) -> bool:
        recent = [at for at in self._swaps if at > view.now - 3600.0]
        if len(recent) >= SWAPS_PER_HOUR:
            return False
        return not self._swaps or view.now - self._swaps[-1] >= view.spec.precision.min_dwell_seconds

    def _slowest(self, precision: Precision) -> Precision:
        """While a swap runs, old and new pods mix: size with the slower of the two."""
        if self._swap_from is None:
            return precision
        rate = self.scenario.rate_per_replica
        return min((precision, self._swap_from), key=rate)

    # --- rolling swaps at maxReplicas -----------------------------------------------------
    def _track_starts(self, view: SimView, replicas: int) -> None:
        """Remember when the pods this controller starts will be ready (they start at the target)."""
        self._starting = [(at, n) for at, n in self._starting if at > view.now]
        self._restarting = [(at, n) for at, n in self._restarting if at > view.now]
        if replicas > view.replicas:
            self._starting.append((view.now + self.scenario.spec.startup_seconds, replicas - view.replicas))
        drop = view.replicas - replicas  # a scale-down removes starting pods first, newest first
        while drop > 0 and self._starting:
            at, n = self._starting.pop()
            if n > drop:
                self._starting.append((at, n - drop))
            drop -= n

    def _max_unavailable(self, view: SimView, precision: Precision, replicas: int, ahead: np.ndarray) -> int | None:
        """Restart the number of old pods that leaves the fewest late requests (the most, among equals).

        A restarted pod serves nothing for the start-up time, then serves at the new precision;
        pods already starting join when ready; pods the present load needs are never restarted.
        The limit is one at least, like the Deployment's.
        """
        if self._swap_from is None or replicas < self.scenario.spec.max_replicas or self._in_place(precision):
            return None
        if self._rate(self._swap_from) == self._rate(precision):
            return None
        old_rate, new_rate = self._rate(self._swap_from), self._rate(precision)
        startup = int(self.scenario.spec.startup_seconds)
        # Past the lookahead, assume its worst 10 s persists for a start-up time: a restart pays off late.
        ahead = np.concatenate([ahead, np.full(startup, worst_mean(ahead, PEAK_WINDOW_S))])
        joining = np.zeros(ahead.size)
        for at, n in self._starting:
            offset = max(0, int(at - view.now))
            if offset < ahead.size:
                joining[offset] += n * new_rate
        base = view.truth.capacity + np.cumsum(joining)
        # Ready pods split into old and new precision, from their count and their true capacity.
        old_ready = round((view.ready * new_rate - view.truth.capacity) / (new_rate - old_rate))
        out = (np.arange(ahead.size) < startup).astype(float)
        slack = self.scenario.slo_latency_s - self.scenario.service_time_s / min(old_rate, new_rate) * self._rate(
            self.scenario.spec.precision.preferred
        )
        # Never restart pods the present load needs.
        now_load = worst_mean(ahead[:PEAK_WINDOW_S], PEAK_WINDOW_S) / READY_UTILIZATION
        spare = math.floor((view.truth.capacity - now_load) / old_rate)
        best, least = 0, math.inf
        for restarts in range(max(0, min(old_ready, spare)) + 1):
            capacity = (base + restarts * (new_rate * (1.0 - out) - old_rate * out)) * READY_UTILIZATION
            late = _late_requests(view.truth.queue, ahead, capacity, max(1.0, slack))
            if late <= least + 1e-6:
                best, least = restarts, min(least, late)
        # The Deployment applies this limit until the next decision: pods ready by then free no room.
        soon = view.now + self.period_s
        back = sum(n for at, n in [*self._starting, *self._restarting] if at <= soon)
        unready = max(0, view.alive - view.ready - back)
        self._restarting.append((view.now + self.scenario.spec.startup_seconds, best))
        return max(1, unready + best)


def _late_requests(queue: float, arrivals: np.ndarray, capacity: np.ndarray, slack_s: float) -> float:
    """About how many requests a fluid FIFO leaves waiting longer than ``slack_s`` over the window."""
    late = 0.0
    for arrived, served in zip(arrivals, capacity, strict=True):
        queue = max(0.0, queue + float(arrived) - float(served))
        late += max(0.0, queue - float(served) * slack_s)
    return late
