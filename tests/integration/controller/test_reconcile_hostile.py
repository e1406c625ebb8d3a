"""The control loop's reconcile of a tenant's hostile InferenceService never raises.

A body built from arbitrary annotations and hostile values at string and number fields (the
strategies of ``tests/unit/model/test_parse_hostile``) is registered the way the handlers do it
(``entry_from_body``) and reconciled for a few ticks by the real ``ControlLoop`` and ``Actuator``,
with a decision engine that asks for a precision swap and a scale-up on every tick, so the
annotations reach every place that reads them: the swap's protocol, port and model container,
the manual hold. The API is an in-memory stand-in (hypothesis needs hundreds of examples) holding
the target Deployment, selected by ``matchExpressions``, its pods and a pod of another workload.

Whatever the body: ``reconcile`` returns; an invalid one gets the ``Invalid`` condition with every
problem; a valid one only ever asks the pods of its own workload to load, at names and versions
that are safe in a URL.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from governor.actuate.actuator import Actuator
from governor.actuate.swap.inplace import InPlaceTarget
from governor.actuate.workloads import read_deployments
from governor.controller import events
from governor.controller.app import entry_from_body
from governor.controller.metrics import OperatorMetrics
from governor.controller.reconcile import Reconciler
from governor.controller.registry import ServiceRegistry
from governor.kube.status import StatusWriter
from governor.model import Decision, Observation, ScaleDirection, ServiceSpec
from governor.model import conditions as cond
from governor.model.names import MODEL_NAME, MODEL_VERSION
from governor.policy import PolicyState
from governor.testing.memory import MemoryApi
from tests.unit.model.test_parse_hostile import ANNOTATIONS, BASE, FIELDS, VALUES, _set

T0 = 1_800_000_000.0


@dataclass
class AcceptingServers:
    """``InPlaceClient`` whose every pod loads at once; it records what it was asked."""

    targets: list[InPlaceTarget] = field(default_factory=list)

    async def load(self, target: InPlaceTarget) -> None:
        self.targets.append(target)

    async def ready(self, target: InPlaceTarget) -> bool:
        return True


class PodNameEndpoints:
    def base_url(self, pod: Mapping[str, Any], port: int) -> str | None:
        return f"http://{pod['metadata']['name']}:{port}"


def swap_and_scale(
    spec: ServiceSpec, observation: Observation, state: PolicyState, now: float
) -> tuple[Decision, PolicyState]:
    """Every tick: one more replica and the other variant — so a swap and a scale always happen."""
    replicas, precision = state.replicas, state.precision
    others = [v.precision for v in spec.precision.variants if v.precision != precision] or [precision]
    wanted = max(spec.min_replicas, min(spec.max_replicas, replicas + 1))
    decision = Decision(now, replicas, wanted, precision, others[0], ScaleDirection.UP, ("asked",), {}, 2)
    return decision, state


_namespaces = itertools.count()


def _world(api: MemoryApi, namespace: str) -> None:
    """Deployment ``model`` (2 ready pods, selected by matchExpressions) and one pod of another workload."""
    deployments, pods = f"/apis/apps/v1/namespaces/{namespace}/deployments", f"/api/v1/namespaces/{namespace}/pods"
    api.objects[f"{deployments}/model"] = {
        "metadata": {"name": "model", "namespace": namespace, "generation": 1},
        "spec": {
            "replicas": 2,
            "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["model"]}]},
            "template": {"spec": {"containers": [{"name": "server", "image": "s:1"}]}},
        },
        "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
    }
    ready = {"phase": "Running", "podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}
    for name, app in (("model-a", "model"), ("model-b", "model"), ("other-a", "other")):
        api.objects[f"{pods}/{name}"] = {"metadata": {"name": name, "labels": {"app": app}}, "status": ready}


async def _reconcile_ticks(body: dict[str, Any], ticks: int = 4) -> tuple[MemoryApi, AcceptingServers, Any]:
    api, servers = MemoryApi(), AcceptingServers()
    entry = entry_from_body(body)
    _world(api, entry.key.namespace)
    registry = ServiceRegistry()
    registry.put(entry)
    writer = StatusWriter(api)
    reconciler = Reconciler(
        api=api,
        registry=registry,
        decide=swap_and_scale,
        recorder=events.EventRecorder(api),
        metrics=OperatorMetrics(),
        writer=writer,
        actuator=Actuator(api, servers, endpoints=PodNameEndpoints(), writer=writer),
    )
    for tick in range(ticks):
        workloads = await read_deployments(api, {entry.key.namespace})
        await reconciler.reconcile(entry, workloads, None, T0 + 15 * tick)  # raises: the property is that it never does
    return api, servers, entry


def check_reconcile(body: dict[str, Any]) -> None:
    api, servers, entry = asyncio.run(_reconcile_ticks(body))
    statuses = [o.get("status") or {} for p, o in api.objects.items() if "/inferenceservices" in p]
    assert len(statuses) == 1, "the loop wrote the service's status"
    conditions = statuses[0].get("conditions")
    if entry.spec is None:
        invalid = cond.find_condition(conditions, cond.INVALID)
        assert invalid is not None and invalid["status"] == "True"
        assert all(str(e) in invalid["message"] for e in entry.errors)
        assert servers.targets == [] and not api.deleted
        return
    for target in servers.targets:
        assert target.base_url.startswith(("http://model-a:", "http://model-b:")), target  # never another workload's
        assert MODEL_NAME.fullmatch(target.model) and MODEL_VERSION.fullmatch(target.version or "1"), target


def _body(annotations: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    body["metadata"]["namespace"] = f"ns{next(_namespaces)}"
    body["metadata"]["annotations"] = annotations
    for dotted, value in values.items():
        _set(body, dotted, value)
    return body


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    annotations=st.one_of(st.none(), ANNOTATIONS),
    values=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=3),
)
@example(annotations={"governor.dev/in-place-protocol": "gopher"}, values={})
@example(annotations={"governor.dev/manual-hold-seconds": "1e12"}, values={"spec.replicas": 3})
@example(annotations={"governor.dev/model-container": "gpu"}, values={})  # the target has no container "gpu"
@example(annotations={"governor.dev/in-place-port": "99999"}, values={})
@example(annotations={"governor.dev/in-place-protocol": "http-hook"}, values={})  # a valid one: it swaps
@example(annotations=None, values={"metadata.generation": "abc"})
def test_reconcile_of_a_hostile_service_never_raises(annotations: Any, values: dict[str, Any]) -> None:
    check_reconcile(_body(annotations, values))


def test_a_valid_service_is_really_swapped_and_scaled_by_this_harness() -> None:
    """The property above means something only if a valid body reaches the swap and the scale."""
    api, servers, entry = asyncio.run(_reconcile_ticks(_body({"governor.dev/in-place-port": "9000"}, {})))
    assert entry.spec is not None
    assert {t.base_url for t in servers.targets} == {"http://model-a:9000", "http://model-b:9000"}
    deployment = api.objects[f"/apis/apps/v1/namespaces/{entry.key.namespace}/deployments/model"]
    assert deployment["spec"]["replicas"] > 2
