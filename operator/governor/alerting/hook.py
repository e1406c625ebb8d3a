"""``AlertingHook``: the alerting side of the controller's end-of-tick hook.

The controller calls ``await hook.after_tick(report)`` once per tick with what it saw and
decided (``TickReport``: now, specs, observations, decisions; matched structurally, so
this layer does not import the controller). The hook evaluates every service and keeps
the resulting status. The controller reads that status back with ``status_patch(key)``
and restores it with ``restore(key, status)`` when it resumes a CR, which keeps the
lasting alert state on the object.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from governor.alerting.engine import AlertEngine, AlertEvaluation
from governor.alerting.rules import AlertContext
from governor.model import Decision, Observation, ServiceKey, ServiceSpec


class TickView(Protocol):
    @property
    def now(self) -> float: ...

    @property
    def specs(self) -> Sequence[ServiceSpec]: ...

    @property
    def observations(self) -> Mapping[ServiceKey, Observation]: ...

    @property
    def decisions(self) -> Mapping[ServiceKey, Decision]: ...


class Reloadable(Protocol):
    async def reload(self) -> bool: ...


class AlertingHook:
    def __init__(self, engine: AlertEngine, registry: Reloadable | None = None, reload_seconds: float = 30.0) -> None:
        self.engine = engine
        self.registry = registry
        self.reload_seconds = reload_seconds
        self._alerts: dict[ServiceKey, list[dict[str, Any]]] = {}
        self._budgets: dict[ServiceKey, Mapping[str, Any]] = {}
        self._contexts: dict[ServiceKey, AlertContext] = {}
        self.results: dict[ServiceKey, AlertEvaluation] = {}
        self._next_reload = 0.0

    def restore(self, key: ServiceKey, status: Mapping[str, Any] | None) -> None:
        """Seed a service from its CR status (``alerts``, ``alertBudget``) on create/resume."""
        if key in self._alerts or not status:
            return
        self._alerts[key] = list(status.get("alerts") or [])
        if isinstance(status.get("alertBudget"), Mapping):
            self._budgets[key] = status["alertBudget"]

    def set_context(self, key: ServiceKey, context: AlertContext) -> None:
        """What the actuation layer reports (a failed rollout); kept until replaced."""
        self._contexts[key] = context

    def status_patch(self, key: ServiceKey, with_budget: bool = False) -> dict[str, Any]:
        """``{"alerts": [...]}`` (plus ``alertBudget`` when asked, on the heartbeat) for the CR status."""
        result = self.results.get(key)
        patch: dict[str, Any] = {"alerts": self._alerts.get(key, [])}
        if with_budget and result is not None:
            patch["alertBudget"] = result.budget
        return patch

    def problems(self, key: ServiceKey) -> tuple[str, ...] | None:
        """The last evaluation's problems (unknown or closed receivers, unknown rules) as ``path: message``."""
        result = self.results.get(key)
        return None if result is None else tuple(f"{p.path}: {p.message}" for p in result.problems)

    async def after_tick(self, report: TickView) -> None:
        now = report.now
        if self.registry is not None and time.monotonic() >= self._next_reload:
            self._next_reload = time.monotonic() + self.reload_seconds
            await self.registry.reload()
        live = set()
        for spec in report.specs:
            key = spec.key
            live.add(key)
            observation = report.observations.get(key) or Observation(at=now)
            result = self.engine.evaluate(
                spec,
                observation,
                report.decisions.get(key),
                self._contexts.get(key),
                prior_status=self._alerts.get(key),
                now=now,
                prior_budget=self._budgets.pop(key, None),
            )
            self._alerts[key] = result.status
            self.results[key] = result
        for key in [k for k in self.results if k not in live]:
            self.forget(key)

    def forget(self, key: ServiceKey) -> None:
        self.engine.forget(key)
        for store in (self._alerts, self._budgets, self._contexts, self.results):
            store.pop(key, None)
