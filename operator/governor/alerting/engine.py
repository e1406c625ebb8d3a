"""``AlertEngine``: what the controller asks of alerting, once per service per tick, inside its reconcile.

``evaluate`` (``evaluate_part``: from the alerting part of the current status) folds the
observation into the service's burn-rate history, runs the rules,
advances the lifecycle from the alert records in the CR status, applies inhibition and
routing, hands what receivers are owed to the ``Notifier`` and returns what the controller
writes back: ``status.alerts`` (``AlertEvaluation.status``) and, on its slow heartbeat,
the burn-rate history (``AlertEvaluation.budget``). It runs inside the service's reconcile, so
a firing alert lands in the same status write as the decision that breached, and actuation's
outcome (a failed rollout) reaches the rules on the same tick. The engine does no I/O itself
(``refresh`` asks the receiver registry to re-read, once per tick when due); in memory it keeps
only caches that the CR status can rebuild.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from governor.alerting.budget import BudgetHistory
from governor.alerting.config import AlertingConfig
from governor.alerting.lifecycle import advance
from governor.alerting.links import with_links
from governor.alerting.loader import ResolvedReceiver
from governor.alerting.routing import apply_inhibition, owed, prune, routed_receivers
from governor.alerting.rules import RULES, AlertContext, RuleInput, evaluate_rules
from governor.alerting.status import from_status, to_status
from governor.alerting.types import AlertRecord, Delivery, Notification, Phase
from governor.model import Decision, FieldError, Observation, ServiceKey, ServiceSpec
from governor.model.status import AlertStatus

logger = logging.getLogger(__name__)


class ReceiverCatalog(Protocol):
    """What the engine needs of ``ReceiverRegistry``: the parsed config and usable receivers, re-read on ``reload``."""

    @property
    def config(self) -> AlertingConfig: ...

    def receiver(self, name: str) -> ResolvedReceiver | None: ...

    async def reload(self) -> bool: ...


class NotificationSink(Protocol):
    """What the engine needs of ``Notifier``: hand over, read acknowledgements, forget."""

    def submit(self, notes: Iterable[Notification]) -> int: ...

    def acknowledged(self, fingerprint: str) -> Mapping[str, Delivery]: ...

    def forget(self, fingerprints: Iterable[str]) -> None: ...


@dataclass(frozen=True)
class AlertEvaluation:
    records: tuple[AlertRecord, ...]
    notifications: tuple[Notification, ...]  # owed this tick (already submitted when a notifier is set)
    transitions: tuple[AlertRecord, ...]  # records that fired or resolved this tick
    problems: tuple[FieldError, ...]  # to surface on the CR (unknown receiver names, ...)
    status: list[dict[str, Any]] = field(default_factory=list)  # → status.alerts
    history: BudgetHistory | None = None
    token_histories: Mapping[str, BudgetHistory] = field(default_factory=dict)  # "ttft" / "itl"

    @property
    def budget(self) -> dict[str, Any]:
        """The burn-rate history for ``status.alertBudget``: persist it on the slow heartbeat only.

        The request-latency history is the top level (as before token objectives existed); each
        declared token objective's history sits under its name.
        """
        budget = self.history.to_status() if self.history is not None else {}
        budget.update({name: h.to_status() for name, h in self.token_histories.items()})
        return budget

    @property
    def firing(self) -> tuple[AlertRecord, ...]:
        return tuple(r for r in self.records if r.phase == Phase.FIRING)

    @property
    def part(self) -> AlertStatus:
        """The alerting part of the service's status."""
        return AlertStatus(tuple(self.status), self.budget, evaluated=True)

    @property
    def problem_lines(self) -> tuple[str, ...]:
        """Why some of the service's alerts cannot be delivered, as ``path: message``."""
        return tuple(f"{p.path}: {p.message}" for p in self.problems)


class AlertEngine:
    def __init__(
        self,
        receivers: ReceiverCatalog,
        notifier: NotificationSink | None = None,
        stale_seconds: float = 60.0,
        reload_seconds: float = 30.0,
    ) -> None:
        self.receivers = receivers
        self.notifier = notifier
        self.stale_seconds = stale_seconds  # GOVERNOR_METRICS_STALE_SECONDS, unless the rules override it
        self.reload_seconds = reload_seconds
        self._next_reload = 0.0
        self._histories: dict[ServiceKey, BudgetHistory] = {}
        self._token_histories: dict[tuple[ServiceKey, str], BudgetHistory] = {}
        self._fingerprints: dict[ServiceKey, set[str]] = {}

    async def refresh(self) -> None:
        """Re-read the receivers when due (every ``reload_seconds``), so an edited ConfigMap or Secret takes effect."""
        if time.monotonic() < self._next_reload:
            return
        self._next_reload = time.monotonic() + self.reload_seconds
        await self.receivers.reload()

    def evaluate_part(
        self,
        spec: ServiceSpec,
        observation: Observation,
        decision: Decision | None,
        context: AlertContext,
        prior: AlertStatus,
        now: float,
    ) -> AlertEvaluation:
        """``evaluate`` from the alerting part of the service's current status."""
        return self.evaluate(spec, observation, decision, context, prior.records, now, prior.budget)

    def history(self, spec: ServiceSpec, prior_budget: Mapping[str, Any] | None = None) -> BudgetHistory:
        """The service's burn-rate history: in memory, else restored from status, else empty."""
        current = self._histories.get(spec.key)
        if current is None or current.period_days != spec.slo.period_days:
            current = BudgetHistory.from_status(prior_budget, spec.slo.period_days)
            self._histories[spec.key] = current
        return current

    def token_histories(
        self, spec: ServiceSpec, prior_budget: Mapping[str, Any] | None = None
    ) -> dict[str, BudgetHistory]:
        """One burn-rate history per declared token objective (``ttft``, ``itl``), restored like ``history``."""
        out: dict[str, BudgetHistory] = {}
        for name, declared in (("ttft", spec.slo.ttft), ("itl", spec.slo.itl)):
            if declared is None:
                self._token_histories.pop((spec.key, name), None)
                continue
            current = self._token_histories.get((spec.key, name))
            if current is None or current.period_days != spec.slo.period_days:
                prior = prior_budget.get(name) if isinstance(prior_budget, Mapping) else None
                current = BudgetHistory.from_status(prior, spec.slo.period_days, f"{name}_attainment")
                self._token_histories[(spec.key, name)] = current
            out[name] = current
        return out

    def evaluate(
        self,
        spec: ServiceSpec,
        observation: Observation,
        decision: Decision | None,
        context: AlertContext | None = None,
        prior_status: Sequence[Any] | None = None,
        now: float | None = None,
        prior_budget: Mapping[str, Any] | None = None,
    ) -> AlertEvaluation:
        now = time.time() if now is None else now
        config = self.receivers.config
        history = self.history(spec, prior_budget)
        history.record(observation)
        tokens = self.token_histories(spec, prior_budget)
        for token_history in tokens.values():
            token_history.record(observation)
        context = context or AlertContext()
        inputs = RuleInput(spec, observation, decision, context, history, config.rules, now, tokens, self.stale_seconds)
        prior = from_status(prior_status)
        # An inactive condition matters only to a record of its rule (to resolve it): the others would
        # change nothing, so they are not given links (most rules of most services, every tick).
        ruled = {r.rule for r in prior}
        relevant = [c for c in evaluate_rules(inputs) if c.active or c.rule in ruled]
        conditions = with_links(relevant, config.links)
        acks = {r.fingerprint: self.notifier.acknowledged(r.fingerprint) for r in prior} if self.notifier else {}
        records = apply_inhibition(advance(prior, conditions, now, acks), config.inhibit_rules)
        routed, problems = routed_receivers(spec, config)
        notes = tuple(n for r in records for n in owed(r, routed, config, now))
        records = prune(records, {n.fingerprint for n in notes}, now)
        transitions = _transitions(prior, records)
        for r in transitions:
            logger.info("alert %s %s for %s: %s", r.name, r.event, spec.key, r.annotations.get("summary", ""))
        self._track(spec.key, records)
        if self.notifier is not None:
            self.notifier.submit(notes)
        return AlertEvaluation(
            records=records,
            notifications=notes,
            transitions=transitions,
            problems=tuple(problems) + self._spec_problems(spec, routed),
            status=to_status(records),
            history=history,
            token_histories=tokens,
        )

    def forget(self, key: ServiceKey) -> None:
        """The service is gone (CR deleted): drop its caches."""
        self._histories.pop(key, None)
        for name in ("ttft", "itl"):
            self._token_histories.pop((key, name), None)
        gone = self._fingerprints.pop(key, set())
        if self.notifier is not None:
            self.notifier.forget(gone)

    def _track(self, key: ServiceKey, records: Sequence[AlertRecord]) -> None:
        now_fps = {r.fingerprint for r in records}
        gone = self._fingerprints.get(key, set()) - now_fps
        self._fingerprints[key] = now_fps
        if gone and self.notifier is not None:
            self.notifier.forget(gone)

    def _spec_problems(self, spec: ServiceSpec, routed: Sequence[Any]) -> tuple[FieldError, ...]:
        problems = []
        for i, rule in enumerate(spec.alerts.disabled):
            if rule not in RULES:
                problems.append(FieldError(f"spec.alerts.disabled[{i}]", f"unknown alert rule {rule!r}"))
        for rule in spec.alerts.severity_overrides:
            if rule not in RULES:
                problems.append(FieldError(f"spec.alerts.severityOverrides.{rule}", "unknown alert rule"))
        for rc in routed:
            if self.receivers.receiver(rc.name) is None:
                why = f"receiver {rc.name!r} is not usable: a Secret it references is missing"
                problems.append(FieldError("spec.alerts.receivers", why))
        return tuple(problems)


def _transitions(prior: Sequence[AlertRecord], records: Sequence[AlertRecord]) -> tuple[AlertRecord, ...]:
    before = {r.fingerprint: r.seq for r in prior}
    return tuple(r for r in records if r.event is not None and r.seq != before.get(r.fingerprint, 0))
