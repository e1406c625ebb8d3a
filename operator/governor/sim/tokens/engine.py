"""Token mode: the fleet serves requests token by token, in coarse ticks with vectorised decode steps.

Each tick (``TokenScenario.tick_s``, 0.25 s by default):

1. the shared ``Fleet`` plays the Deployment controller (start-up, scale, swaps) and, when the
   controller's period has come round, applies its ``Command``; replicas follow their pods
   (a new serving pod starts empty; a pod a scale-down removed drains what it holds; a pod
   that stops serving for a swap or a restart loses its requests, which the gateway retries);
2. requests that arrived join one gateway FIFO; a client gives up after ``timeout_s`` queued;
3. the head of the FIFO goes to a replica with a free sequence slot and KV room for its prompt
   and output (of those, the one that would give its first token soonest: its prompt queue, its
   batch and how much of the prompt's prefix it holds, as llm-d's gateway scores prefix and load)
   until none has room: a full KV cache queues requests;
4. every replica runs ``tick / step`` steps: each decodes one token per sequence and spends the
   rest of its token budget on prompts (chunked prefill, prompts first-come first-served, the
   cached prefix skipped); a prompt's last chunk yields the first token, then it decodes.

A request's TTFT is queue wait + prefill (its first token), its TPOT the mean decode step over
the rest of its output. The warm-up (``warmup_s`` of the scenario's load on the initial fleet,
nobody deciding) comes first; results cover the requests that arrive in the measured run.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np

from governor.sim.control import Command, SimController, SimView, Truth
from governor.sim.fleet import Fleet, Pod
from governor.sim.tokens.replica import PrefixCache, Replica
from governor.sim.tokens.result import Outcomes, TokenRunResult
from governor.sim.tokens.scenario import TokenScenario
from governor.sim.tokens.telemetry import TokenTelemetry

Progress = Callable[[int, int], None]


class _TokenModeRun:
    """Mutable state of one token-mode run; only the ``TokenRunResult`` escapes."""

    def __init__(self, scenario: TokenScenario, controller: SimController) -> None:
        self.scenario = scenario
        self.controller = controller
        self.physics = scenario.physics
        self.dt = scenario.tick_s
        self.per_second = max(1, round(1.0 / self.dt))
        self.start = -float(scenario.warmup_s)
        self.ticks = round((scenario.duration_s - self.start) / self.dt)
        requests = scenario.warmup.then(scenario.requests)
        self.arrival = requests.arrival_s
        self.isl = requests.isl
        self.osl = requests.osl
        self.need = (requests.isl + requests.osl).astype(float)
        self.blocks = requests.blocks
        self.measured_from = scenario.warmup.size
        self.out = Outcomes.empty(requests.size)
        self.next_arrival = 0
        self.queue: deque[int] = deque()
        replicas = getattr(controller, "initial_replicas", None) or scenario.initial_replicas
        precision = getattr(controller, "initial_precision", None) or scenario.spec.precision.preferred
        self.fleet = Fleet.started(scenario.fleet_config(), scenario.fleet_physics(), precision, replicas)
        self.replicas: dict[int, Replica] = {}  # by id of the pod they run on
        self.draining: list[Replica] = []
        slots = 4 * scenario.spec.max_replicas + 8
        self.free_slots = list(range(slots - 1, -1, -1))
        self.slot_replica: list[Replica | None] = [None] * slots
        self.speed = np.ones(slots)
        self.reserved = np.zeros(slots)  # KV tokens reserved (prompt + output of every request held)
        self.seqs = np.zeros(slots)
        self.pending = np.zeros(slots)  # prompt tokens still to compute
        self.prefill_kv = np.zeros(slots)  # KV held by prompts being prefilled
        self.kv_capacity = np.ones(slots)
        self.dec_req = np.zeros(0, dtype=np.int64)
        self.dec_slot = np.zeros(0, dtype=np.int64)
        self.dec_left = np.zeros(0)
        self.dec_kv = np.zeros(0)
        self.telemetry = TokenTelemetry(
            self.ticks, self.dt, self.start, scenario.spec, scenario.scrape_s, scenario.rate_window_s
        )
        n = scenario.duration_s
        self.alive = np.zeros(n)
        self.quality = np.full(n, np.nan)
        self.kv_usage = np.zeros(n)
        self.precision_series: list[str] = [""] * n
        self.swaps = 0
        self.swap_log: list[tuple[float, str]] = []
        self.scale_actions = 0
        self.dirty = True
        self._quality_now = math.nan
        slo = scenario.spec.slo
        self.ttft_limit = scenario.ttft_s if scenario.ttft_s is not None else math.inf
        self.itl_limit = scenario.itl_s if scenario.itl_s is not None else math.inf
        self.latency_limit = slo.latency_ms / 1000.0 if slo.latency_declared else math.inf

    # --- the fleet and its replicas --------------------------------------------------------
    def sync(self, t: float) -> None:
        """Replicas follow the fleet's pods (see the module docstring)."""
        present = {id(p) for p in self.fleet.pods}
        for key, replica in list(self.replicas.items()):
            pod = replica.pod
            if key not in present:
                del self.replicas[key]
                replica.draining = True
                self.draining.append(replica)
            elif not pod.serving(t) or pod.precision != replica.precision:
                del self.replicas[key]
                self.abort(replica)
        for pod in self.fleet.serving_pods(t):
            if id(pod) not in self.replicas:
                self.replicas[id(pod)] = self.new_replica(pod)
        self.draining = [r for r in self.draining if self.seqs[r.slot] > 0 or self.release(r)]
        qualities = [r.quality for r in self.replicas.values()]
        self._quality_now = float(np.mean(qualities)) if qualities else math.nan
        self.dirty = False

    def new_replica(self, pod: Pod) -> Replica:
        scenario = self.scenario
        slot = self.free_slots.pop()
        kv = self.physics.kv_capacity(pod.precision)
        replica = Replica(
            slot, pod, pod.precision, scenario.speed(pod.precision), kv, scenario.quality(pod.precision),
            PrefixCache(kv // self.physics.block_tokens),
        )  # fmt: skip
        self.slot_replica[slot] = replica
        self.speed[slot] = replica.speed
        self.kv_capacity[slot] = kv
        self.reserved[slot] = self.seqs[slot] = self.pending[slot] = self.prefill_kv[slot] = 0.0
        return replica

    def release(self, replica: Replica) -> bool:
        """Free the replica's slot (returns False, so a list comprehension can drop it)."""
        slot = replica.slot
        self.slot_replica[slot] = None
        self.free_slots.append(slot)
        self.reserved[slot] = self.seqs[slot] = self.pending[slot] = self.prefill_kv[slot] = 0.0
        return False

    def abort(self, replica: Replica) -> None:
        """The pod stopped serving: its requests are retried from the front of the queue."""
        slot = replica.slot
        mine = self.dec_slot == slot
        lost = [*self.dec_req[mine].tolist(), *(int(entry[0]) for entry in replica.prefill)]
        keep = ~mine
        self.dec_req, self.dec_slot = self.dec_req[keep], self.dec_slot[keep]
        self.dec_left, self.dec_kv = self.dec_left[keep], self.dec_kv[keep]
        for req in sorted(lost, key=lambda r: -self.arrival[r]):
            self.out.first_token[req] = math.nan
            self.out.retries[req] += 1
            self.queue.appendleft(req)
        self.release(replica)

    # --- requests --------------------------------------------------------------------------
    def arrive(self, k: int, until: float) -> None:
        start = self.next_arrival
        end = int(np.searchsorted(self.arrival, until, side="left"))
        if end > start:
            self.queue.extend(range(start, end))
            self.telemetry.arrivals[k] += end - start
            self.next_arrival = end

    def expire(self, k: int, t: float) -> None:
        oldest = t - self.scenario.timeout_s
        dropped = 0
        while self.queue and self.arrival[self.queue[0]] < oldest:
            req = self.queue.popleft()
            self.out.dropped[req] = True
            self.out.finish[req] = t
            dropped += 1
        self.telemetry.dropped[k] += dropped

    def dispatch(self, k: int, t: float) -> None:
        open_replicas = [r for r in self.replicas.values() if not r.draining]
        max_seqs = self.physics.max_seqs
        while self.queue and open_replicas:
            req = self.queue[0]
            need = self.need[req]
            fits = [
                r for r in open_replicas
                if self.seqs[r.slot] < max_seqs
                and self.reserved[r.slot] + min(need, self.kv_capacity[r.slot]) <= self.kv_capacity[r.slot]
            ]  # fmt: skip
            if not fits:
                return
            self.queue.popleft()
            self.place(k, t, req, self.choose(req, fits))

    def choose(self, req: int, fits: list[Replica]) -> Replica:
        """The replica that would give the first token soonest: its prompt queue, its batch, its cached prefix."""
        if len(fits) == 1:
            return fits[0]
        p = self.physics
        blocks = None if self.blocks is None else self.blocks[req]
        isl = float(self.isl[req])

        def time_to_first_token(r: Replica) -> float:
            slot = r.slot
            cached = 0.0 if blocks is None else min(r.cache.leading_hits(blocks) * p.block_tokens, isl - 1.0)
            base = p.step_base_s + p.step_per_seq_s * self.seqs[slot] + p.step_per_kv_token_s * self.reserved[slot]
            per_token = p.prefill_token_s + base / p.chunk_tokens
            return float((self.pending[slot] + isl - cached) * per_token / r.speed)

        return min(fits, key=time_to_first_token)

    def place(self, k: int, t: float, req: int, replica: Replica) -> None:
        slot = replica.slot
        isl = int(self.isl[req])
        cached = 0
        if self.blocks is not None:
            blocks = self.blocks[req]
            cached = min(replica.cache.leading_hits(blocks) * self.physics.block_tokens, isl - 1)
            replica.cache.touch(blocks)
        start = max(t, float(self.arrival[req]))
        self.out.cached[req] = cached
        self.out.started[req] = start
        self.telemetry.wait_sum[k] += start - self.arrival[req]
        self.telemetry.wait_count[k] += 1
        replica.prefill.append([float(req), float(max(1, isl - cached))])
        self.reserved[slot] += min(self.need[req], self.kv_capacity[slot])
        self.seqs[slot] += 1
        self.pending[slot] += max(1, isl - cached)
        self.prefill_kv[slot] += isl

    # --- one tick of GPU work ------------------------------------------------------------
    def serve(self, k: int, t: float) -> None:
        p = self.physics
        dt = self.dt
        slots = self.speed.size
        batch = np.bincount(self.dec_slot, minlength=slots).astype(float)
        kv = np.bincount(self.dec_slot, weights=self.dec_kv, minlength=slots) + self.prefill_kv
        base = p.decode_step_s(self.speed, batch, kv)
        chunk = np.maximum(p.chunk_tokens - batch, 1.0)
        token_s = p.prefill_token_s / self.speed
        full_steps = dt / (base + token_s * chunk)
        saturated = self.pending >= full_steps * chunk
        prefilled = np.where(saturated, full_steps * chunk, self.pending)
        steps = np.where(saturated, full_steps, np.maximum(dt - self.pending * token_s, 0.0) / base)
        idle_busy = np.minimum(1.0, prefilled * (token_s + base / chunk) / dt)
        busy = np.where(batch > 0, 1.0, idle_busy)
        new_first = self.prefill_all(k, t, prefilled)
        self.decode(k, t, steps)
        tokens = (batch * steps)[batch > 0]
        self.telemetry.generated[k] += float(tokens.sum()) + new_first
        self._gauges(k, busy, kv)

    def prefill_all(self, k: int, t: float, prefilled: np.ndarray) -> int:
        """Advance every replica's prompt FIFO by its share of the tick; returns the first tokens made."""
        firsts = 0
        joining: list[tuple[int, int, float, float]] = []
        for slot in np.flatnonzero(prefilled > 0).tolist():
            replica = self.slot_replica[slot]
            if replica is None:
                continue
            budget = float(prefilled[slot])
            rate = budget / self.dt
            used = 0.0
            fifo = replica.prefill
            while fifo and budget > 1e-9:
                entry = fifo[0]
                if entry[1] > budget + 1e-9:
                    entry[1] -= budget
                    used += budget
                    break
                used += entry[1]
                budget -= entry[1]
                fifo.popleft()
                req = int(entry[0])
                done_at = max(t + used / rate, self.out.started[req])
                firsts += 1
                joining.append(self.first_token(k, req, slot, done_at))
            self.pending[slot] = max(0.0, self.pending[slot] - float(prefilled[slot]))
        joining = [j for j in joining if j[2] > 0]
        if joining:
            new_req, new_slot, new_left, new_kv = (np.array(c) for c in zip(*joining, strict=True))
            self.dec_req = np.concatenate([self.dec_req, new_req.astype(np.int64)])
            self.dec_slot = np.concatenate([self.dec_slot, new_slot.astype(np.int64)])
            self.dec_left = np.concatenate([self.dec_left, new_left])
            self.dec_kv = np.concatenate([self.dec_kv, new_kv])
        return firsts

    def first_token(self, k: int, req: int, slot: int, at: float) -> tuple[int, int, float, float]:
        isl = float(self.isl[req])
        self.prefill_kv[slot] -= isl
        self.out.first_token[req] = at
        self.telemetry.prompt[k] += isl
        self.telemetry.cached[k] += self.out.cached[req]
        self.telemetry.first_token(k, at - float(self.arrival[req]))
        left = float(self.osl[req]) - 1.0
        if left <= 0:
            self.complete(k, req, slot, at)
        return (req, slot, left, isl + 1.0)

    def decode(self, k: int, t: float, steps: np.ndarray) -> None:
        if not self.dec_left.size:
            return
        made = steps[self.dec_slot]
        before = self.dec_left
        self.dec_left = before - made
        self.dec_kv = self.dec_kv + made
        done = self.dec_left <= 1e-9
        if not done.any():
            return
        at = t + self.dt * np.minimum(1.0, before[done] / np.maximum(made[done], 1e-12))
        for req, slot, when in zip(self.dec_req[done].tolist(), self.dec_slot[done].tolist(), at.tolist(), strict=True):
            self.complete(k, req, slot, when)
        keep = ~done
        self.dec_req, self.dec_slot = self.dec_req[keep], self.dec_slot[keep]
        self.dec_left, self.dec_kv = self.dec_left[keep], self.dec_kv[keep]

    def complete(self, k: int, req: int, slot: int, at: float) -> None:
        out = self.out
        out.finish[req] = at
        replica = self.slot_replica[slot]
        out.quality[req] = replica.quality if replica is not None else math.nan
        self.reserved[slot] -= min(self.need[req], self.kv_capacity[slot])
        self.seqs[slot] -= 1
        ttft = out.first_token[req] - float(self.arrival[req])
        outputs = float(self.osl[req]) - 1.0
        tpot = (at - out.first_token[req]) / outputs if outputs > 0 else 0.0
        ttft_ok, itl_ok = ttft <= self.ttft_limit, tpot <= self.itl_limit
        latency = at - float(self.arrival[req])
        good = ttft_ok and itl_ok and latency <= self.latency_limit
        self.telemetry.finish(k, latency, tpot, ttft_ok, itl_ok, good)

    def _gauges(self, k: int, busy: np.ndarray, kv: np.ndarray) -> None:
        ready = [r.slot for r in self.replicas.values()]
        telemetry = self.telemetry
        telemetry.queue[k] = len(self.queue)
        telemetry.running[k] = float(self.seqs.sum())
        telemetry.ready[k] = self.fleet.ready(self.start + (k + 1) * self.dt)
        if ready:
            usage = kv[ready] / self.kv_capacity[ready]
            telemetry.kv_mean[k] = float(usage.mean())
            telemetry.kv_max[k] = float(usage.max())
            telemetry.busy[k] = float(busy[ready].mean())

    # --- the loop ----------------------------------------------------------------------------
    def view(self, t: float) -> SimView:
        recent = self.telemetry.arrivals[max(0, self._tick(t) - 5 * self.per_second) : self._tick(t)]
        capacity = sum(r.speed for r in self.replicas.values())
        truth = Truth(float(recent.sum()) / 5.0, float(len(self.queue)), float(self.seqs.sum()), np.zeros(0), capacity)
        obs = self.telemetry.latest
        return SimView(
            now=t,
            spec=self.scenario.spec,
            observation=obs,
            replicas=self.fleet.desired,
            alive=self.fleet.alive,
            ready=self.fleet.ready(t),
            pods_with_metrics=self.telemetry.pods_with_metrics,
            precision=self.fleet.target,
            swapping=self.fleet.swapping(t),
            truth=truth,
        )

    def _tick(self, t: float) -> int:
        return round((t - self.start) / self.dt)

    def apply(self, t: float, command: Command) -> None:
        scaled, swapped = self.fleet.command(command.replicas, command.precision, t, command.max_unavailable)
        self.scale_actions += int(scaled)
        if swapped:
            self.swaps += 1
            self.swap_log.append((t, command.precision.value))
        self.dirty = True

    def step(self, k: int) -> None:
        t = self.start + k * self.dt
        if t >= self.fleet.next_event() or self.fleet.swapping(t):
            self.fleet.reconcile(t)
            self.dirty = True
        second = k % self.per_second == 0
        if second and t >= 0 and round(t) % self.controller.period_s == 0:
            self.apply(t, self.controller.decide(self.view(t)))
        if self.dirty:
            self.sync(t)
        self.arrive(k, t + self.dt)
        self.expire(k, t)
        self.dispatch(k, t)
        self.serve(k, t)
        if self.draining and second:
            self.draining = [r for r in self.draining if self.seqs[r.slot] > 0 or self.release(r)]
        if second and t >= 0:
            s = round(t)
            if s < self.alive.size:
                self.alive[s] = self.fleet.alive + len(self.draining)
                self.quality[s] = self._quality_now
                self.kv_usage[s] = self.telemetry.kv_mean[k]
                self.precision_series[s] = self.fleet.target.value
        self.telemetry.end_of_tick(k)

    def result(self) -> TokenRunResult:
        measured = slice(self.measured_from, None)
        return TokenRunResult(
            policy=self.controller.name,
            configuration=self.controller.describe(),
            duration_s=self.scenario.duration_s,
            arrival_s=self.arrival[measured],
            isl=self.isl[measured],
            osl=self.osl[measured],
            outcomes=self.out.part(measured),
            ttft_limit_s=self.ttft_limit,
            itl_limit_s=self.itl_limit,
            latency_limit_s=self.latency_limit,
            alive=self.alive,
            quality=self.quality,
            kv_usage=self.kv_usage,
            precision=tuple(self.precision_series),
            swaps=self.swaps,
            swap_log=tuple(self.swap_log),
            scale_actions=self.scale_actions,
        )


def simulate_tokens(
    scenario: TokenScenario, controller: SimController, progress: Progress | None = None
) -> TokenRunResult:
    """Warm the fleet up, run one controller over the measured scenario in token mode."""
    run = _TokenModeRun(scenario, controller)
    report_every = max(1, run.ticks // 20)
    for k in range(run.ticks):
        run.step(k)
        if progress is not None and (k + 1) % report_every == 0:
            progress(k + 1, run.ticks)
    return run.result()
