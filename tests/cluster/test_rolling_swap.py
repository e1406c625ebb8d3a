"""Rolling precision swaps on the real control plane: the real Deployment controller rolls the real
ReplicaSets, kube-scheduler leaves a surge pod Pending when the GPUs are taken, and a SIGKILLed
operator is replaced mid-swap.

Each swap is triggered the same deterministic way: in ``Fixed`` mode the policy always returns to
``spec.precision.preferred`` (``policy.precision._fixed``), so a merge patch of ``preferred`` from
bf16 to int4 makes Governor begin a rolling swap on its next tick. A ``Sampler`` thread lists the
service's pods and reads its Deployment every 0.2 s while the swap runs, so the tests can assert
what was true *throughout* (ready capacity, replicas, the template never flipping back), not only
at the end.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from governor.testing.client import wait_for
from tests.cluster.conftest import Cluster, Operators
from tests.cluster.manifests import IMAGE, PRECISION_OF_IMAGE, inference_service, pod_template
from tests.support.control_plane import GPU_NODES, GPUS_PER_NODE
from tests.support.pod_servers import PodServers

SERVICE = "chat"
REPLICAS = 2  # held by spec.replicas, below maxReplicas: the swap surges one pod at a time (RollingSurge)
SAMPLE_SECONDS = 0.2
INT4_RESOURCES = {"limits": {"nvidia.com/gpu": 1, "memory": "2048Mi"}}  # the apiserver keeps "2Gi"


# ---- reading the cluster --------------------------------------------------------------------------


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or ()
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def service_pods(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    pods = cluster.client.list("pods", namespace)
    return [
        p
        for p in pods
        if p["metadata"].get("labels", {}).get("governor.dev/service") == SERVICE
        and not p["metadata"].get("deletionTimestamp")
    ]


def ready_images(cluster: Cluster, namespace: str) -> list[str]:
    """The model image of every Ready pod of the service (one entry per pod)."""
    return [p["spec"]["containers"][0]["image"] for p in service_pods(cluster, namespace) if _ready(p)]


def unready_int4(cluster: Cluster, namespace: str) -> bool:
    """A pod of the int4 template exists and is still starting."""
    return any(
        p["spec"]["containers"][0]["image"] == f"{IMAGE}:int4" and not _ready(p)
        for p in service_pods(cluster, namespace)
    )


def deployment(cluster: Cluster, namespace: str) -> dict[str, Any]:
    return cluster.client.get("deployments", namespace, SERVICE)


def model_container(dep: dict[str, Any]) -> dict[str, Any]:
    return dict(dep["spec"]["template"]["spec"]["containers"][0])


def status(cluster: Cluster, namespace: str) -> dict[str, Any]:
    return dict(cluster.client.get("inferenceservices", namespace, SERVICE).get("status") or {})


def swap_phase(cluster: Cluster, namespace: str) -> str | None:
    return (status(cluster, namespace).get("swap") or {}).get("phase")


def reasons(cluster: Cluster, namespace: str) -> list[str]:
    """Reasons of the Events Governor posted about the InferenceService (in no reliable order: Event
    timestamps have whole seconds; the operator's log has the order)."""
    return [
        e["reason"]
        for e in cluster.client.list("events", namespace)
        if e["involvedObject"].get("kind") == "InferenceService" and e.get("source", {}).get("component") == "governor"
    ]


def logged_reasons(log: str, prefix: str = "Precision") -> list[str]:
    """Event reasons in the order an operator posted them (it logs ``<service>: <Reason> <message>`` for each)."""
    found = re.findall(rf"/{SERVICE}: ({prefix}\w+) ", log)
    return [r for r in found if r != "PrecisionSwapStrategyChanged"]


def wait_swap(cluster: Cluster, namespace: str, phase: str, timeout: float) -> None:
    """Wait for ``status.swap.phase``; on timeout, say where the swap and the rollout stand."""
    try:
        wait_for(lambda: swap_phase(cluster, namespace) == phase, timeout, what=f"swap phase {phase}")
    except TimeoutError as exc:
        swap = dict(status(cluster, namespace).get("swap") or {})
        swap.pop("previousContainer", None)
        dep = deployment(cluster, namespace)
        raise AssertionError(
            f"{exc}\nstatus.swap: {swap}\ntemplate container: {model_container(dep)}\n"
            f"Deployment generation {dep['metadata']['generation']}, status: {dep.get('status')}"
        ) from None


def condition(st: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in st.get("conditions") or () if c["type"] == kind), {})


def rolled_out(dep: dict[str, Any], image: str) -> bool:
    """The Deployment controller has seen the latest spec and every replica runs ``image``, none left over."""
    st, replicas = dep.get("status") or {}, dep["spec"]["replicas"]
    return bool(
        model_container(dep)["image"] == image
        and st.get("observedGeneration", 0) >= dep["metadata"]["generation"]
        and st.get("updatedReplicas", 0) == replicas
        and st.get("availableReplicas", 0) == replicas
        and st.get("replicas", 0) == replicas
    )


def rolled_out_to(cluster: Cluster, namespace: str, precision: str) -> dict[str, Any] | None:
    """The Deployment once REPLICAS pods of ``precision`` are rolled out, else ``None``."""
    dep = deployment(cluster, namespace)
    return dep if dep["spec"]["replicas"] == REPLICAS and rolled_out(dep, f"{IMAGE}:{precision}") else None


def replica_sets(cluster: Cluster, namespace: str) -> dict[str, tuple[int, int]]:
    """``model image → (spec.replicas, status.readyReplicas)`` of the service's ReplicaSets."""
    out: dict[str, tuple[int, int]] = {}
    for rs in cluster.client.list("replicasets", namespace):
        if rs["metadata"].get("labels", {}).get("governor.dev/service") != SERVICE:
            continue
        image = rs["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image not in out, f"two ReplicaSets run {image}: an extra rollout"
        out[image] = (rs["spec"]["replicas"], rs.get("status", {}).get("readyReplicas", 0))
    return out


# ---- sampling while a swap runs -------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    ready: int  # Ready pods of the service, whatever their template
    replicas: int  # the Deployment's spec.replicas
    image: str  # the model image of the Deployment's template
    generation: int


@dataclass
class Sampler:
    cluster: Cluster
    namespace: str
    samples: list[Sample] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                ready = len(ready_images(self.cluster, self.namespace))
                dep = deployment(self.cluster, self.namespace)
                image = model_container(dep)["image"]
                self.samples.append(Sample(ready, dep["spec"]["replicas"], image, dep["metadata"]["generation"]))
            except Exception as exc:  # reported by the test, not lost in the thread
                self.errors.append(exc)
            self._stop.wait(SAMPLE_SECONDS)

    @property
    def min_ready(self) -> int:
        return min(s.ready for s in self.samples)

    def images(self) -> list[str]:
        """The template's model image over time, consecutive repeats collapsed: ``[bf16, int4]`` is one switch."""
        out: list[str] = []
        for s in self.samples:
            if not out or out[-1] != s.image:
                out.append(s.image)
        return out


@contextmanager
def sampling(cluster: Cluster, namespace: str) -> Iterator[Sampler]:
    sampler = Sampler(cluster, namespace)
    thread = threading.Thread(target=sampler.run, name=f"sampler-{namespace}", daemon=True)
    thread.start()
    try:
        yield sampler
    finally:
        sampler._stop.set()
        thread.join(5)
    assert not sampler.errors, sampler.errors
    assert len(sampler.samples) >= 5, f"too few samples ({len(sampler.samples)}) to say anything"


# ---- set-up shared by the tests ------------------------------------------------------------------


def serving_bf16(
    cluster: Cluster, namespace: str, operators: Operators, pods: PodServers, ready_delay: str = "1s", **precision: Any
) -> dict[str, Any]:
    """An owned service at REPLICAS bf16 replicas, rolled out and settled; returns its Deployment."""
    pods.fleet(SERVICE, offered_rps=1.0, precision_of_image=PRECISION_OF_IMAGE)
    # spec.replicas is a manual hold (docs/actuation.md): the replica count stays REPLICAS whatever load the
    # scraped pods report, so what a swap promises in ready pods is a fixed number.
    body = inference_service(
        SERVICE, namespace, min_replicas=REPLICAS, max_replicas=4, ready_delay=ready_delay, replicas=REPLICAS
    )
    # KWOK reads the jitter delay as the *latest* start-up time and uses it whenever it is not above the
    # delay (kwok v0.8.0, lifecycle.Stage.Delay): "0s" makes every pod Ready at once. Equal: exactly the delay.
    body["spec"]["template"]["metadata"]["annotations"]["pod-ready.stage.kwok.x-k8s.io/jitter-delay"] = ready_delay
    int4 = next(v for v in body["spec"]["precision"]["variants"] if v["precision"] == "int4")
    int4["resources"] = INT4_RESOURCES  # more memory than bf16, written in a form the apiserver rewrites
    body["spec"]["precision"].update(precision)
    cluster.client.apply(body)
    operators.start()
    wait_for(lambda: status(cluster, namespace).get("precision") == "bf16", 60, what="status.precision bf16")
    return wait_for(lambda: rolled_out_to(cluster, namespace, "bf16"), 60, what=f"{REPLICAS} bf16 replicas rolled out")


def prefer(cluster: Cluster, namespace: str, precision: str) -> None:
    """The deterministic trigger: Fixed mode serves ``preferred``, so Governor swaps to it."""
    cluster.client.patch("inferenceservices", namespace, SERVICE, {"spec": {"precision": {"preferred": precision}}})


def assert_serves(cluster: Cluster, namespace: str, precision: str) -> None:
    # status.swap is written (write-ahead) by the Actuator; the conditions follow with the tick's status write.
    wait_for(
        lambda: condition(status(cluster, namespace), "Swapping").get("status") == "False", 10, what="Swapping=False"
    )
    st = status(cluster, namespace)
    assert st["precision"] == precision
    assert sorted(ready_images(cluster, namespace)) == [f"{IMAGE}:{precision}"] * REPLICAS


# ---- the tests ------------------------------------------------------------------------------------


def test_rolling_swap_completes_with_the_real_deployment_controller(
    cluster: Cluster, namespace: str, operators: Operators, pods: PodServers
) -> None:
    before = serving_bf16(cluster, namespace, operators, pods)
    generation = before["metadata"]["generation"]

    with sampling(cluster, namespace) as sampler:
        prefer(cluster, namespace, "int4")
        swap = wait_for(lambda: status(cluster, namespace).get("swap"), 30, what="status.swap")
        assert (swap["from"], swap["to"], swap["strategy"]) == ("bf16", "int4", "RollingSurge")
        wait_swap(cluster, namespace, "Succeeded", 30)

    # The template carries the int4 variant: its image, and its resources merged into the model container.
    dep = deployment(cluster, namespace)
    container = model_container(dep)
    assert container["image"] == f"{IMAGE}:int4"
    assert container["resources"] == {"limits": {"nvidia.com/gpu": "1", "cpu": "500m", "memory": "2Gi"}}
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}  # restored
    assert dep["metadata"]["generation"] == generation + 1, "exactly one template change"
    assert rolled_out(dep, f"{IMAGE}:int4")
    # The real ReplicaSets rolled: the bf16 one is scaled to zero, the int4 one carries every replica.
    assert replica_sets(cluster, namespace) == {f"{IMAGE}:bf16": (0, 0), f"{IMAGE}:int4": (REPLICAS, REPLICAS)}

    st = status(cluster, namespace)
    assert_serves(cluster, namespace, "int4")
    assert st["swap"]["finishedAt"] and st["lastSwapTime"]
    events = reasons(cluster, namespace)
    assert events.count("PrecisionSwapStarted") == 1 and events.count("PrecisionSwapped") == 1, events

    # RollingSurge promises the replica count in ready pods throughout (maxSurge 1, maxUnavailable 0).
    assert {s.replicas for s in sampler.samples} == {REPLICAS}, "no scaling meddled with the swap"
    assert sampler.min_ready >= REPLICAS, [s.ready for s in sampler.samples]
    assert max(s.ready for s in sampler.samples) <= REPLICAS + 1, "one surge pod at a time"
    assert sampler.images() == [f"{IMAGE}:bf16", f"{IMAGE}:int4"]
    assert {s.generation for s in sampler.samples} == {generation, generation + 1}, "no other spec write"


# ---- no GPU for the surge pod ---------------------------------------------------------------------

FILLER = "gpu-filler"


def fill_gpus(cluster: Cluster, namespace: str) -> int:
    """Take every GPU the service's pods do not hold with pods of another Deployment; returns how many."""
    # Pods of earlier tests' namespaces may still be going away; they must not hold a GPU the surge pod gets later.
    wait_for(lambda: gpus_in_use(cluster) == REPLICAS, 60, what=f"only the service's {REPLICAS} GPUs in use")
    count = GPU_NODES * GPUS_PER_NODE - REPLICAS
    template = pod_template("0s", name=FILLER)
    template["metadata"]["labels"] = {"app": FILLER}  # not a Governor service: no pod server, not counted
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": FILLER, "namespace": namespace},
        "spec": {"replicas": count, "selector": {"matchLabels": {"app": FILLER}}, "template": template},
    }
    cluster.client.apply(body)
    wait_for(
        lambda: cluster.client.get("deployments", namespace, FILLER).get("status", {}).get("readyReplicas") == count,
        60,
        what=f"{count} GPU filler pods running",
    )
    return count


def gpus_in_use(cluster: Cluster) -> int:
    """GPUs requested by the scheduled, unfinished pods of the whole cluster (other tests' namespaces too)."""
    used = 0
    for pod in cluster.client.list("pods"):
        if pod["spec"].get("nodeName") and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
            for container in pod["spec"]["containers"]:
                used += int((container.get("resources", {}).get("limits") or {}).get("nvidia.com/gpu", 0))
    return used


def unschedulable(cluster: Cluster, namespace: str) -> list[str]:
    """Images of the service's pods that kube-scheduler could not place."""
    out = []
    for pod in service_pods(cluster, namespace):
        for c in pod.get("status", {}).get("conditions") or ():
            if c["type"] == "PodScheduled" and c["status"] == "False" and c.get("reason") == "Unschedulable":
                out.append(pod["spec"]["containers"][0]["image"])
    return out


def test_surge_pod_without_a_gpu_waits_and_the_swap_finishes_once_one_frees_up(
    cluster: Cluster, namespace: str, operators: Operators, pods: PodServers
) -> None:
    before = serving_bf16(cluster, namespace, operators, pods)
    fillers = fill_gpus(cluster, namespace)
    assert gpus_in_use(cluster) == GPU_NODES * GPUS_PER_NODE, "every GPU is taken"

    with sampling(cluster, namespace) as sampler:
        prefer(cluster, namespace, "int4")
        # The surge pod of the new template cannot be placed; the bf16 pods keep serving.
        wait_for(lambda: unschedulable(cluster, namespace) == [f"{IMAGE}:int4"], 30, what="an unschedulable surge pod")
        time.sleep(3)  # a few ticks: Governor waits (the swap timeout is 900 s) and writes nothing else
        assert swap_phase(cluster, namespace) == "Rolling"
        assert sorted(ready_images(cluster, namespace)) == [f"{IMAGE}:bf16"] * REPLICAS
        assert deployment(cluster, namespace)["metadata"]["generation"] == before["metadata"]["generation"] + 1

        # One GPU frees up: the surge pod starts, an old pod goes, its GPU takes the next surge pod.
        cluster.client.patch("deployments", namespace, FILLER, {"spec": {"replicas": fillers - 1}})
        wait_swap(cluster, namespace, "Succeeded", 30)

    assert_serves(cluster, namespace, "int4")
    assert replica_sets(cluster, namespace) == {f"{IMAGE}:bf16": (0, 0), f"{IMAGE}:int4": (REPLICAS, REPLICAS)}
    events = reasons(cluster, namespace)
    assert events.count("PrecisionSwapped") == 1 and "PrecisionSwapFailed" not in events, events
    assert sampler.min_ready >= REPLICAS, [s.ready for s in sampler.samples]
    assert sampler.images() == [f"{IMAGE}:bf16", f"{IMAGE}:int4"]


def test_surge_pod_that_never_gets_a_gpu_is_rolled_back_at_the_swap_timeout(
    cluster: Cluster, namespace: str, operators: Operators, pods: PodServers
) -> None:
    before = serving_bf16(cluster, namespace, operators, pods, swapTimeoutSeconds=5)
    bf16_container = model_container(before)
    fill_gpus(cluster, namespace)

    with sampling(cluster, namespace) as sampler:
        prefer(cluster, namespace, "int4")
        wait_for(lambda: unschedulable(cluster, namespace) == [f"{IMAGE}:int4"], 30, what="an unschedulable surge pod")
        wait_swap(cluster, namespace, "Failed", 30)
        wait_for(lambda: not unschedulable(cluster, namespace), 10, what="the surge pod removed by the rollback")
        time.sleep(2)  # a few more ticks: int4 is quarantined, so Fixed mode's wish for it starts nothing

    # Rolled back to exactly the container the pods had; the int4 ReplicaSet is scaled away.
    dep = deployment(cluster, namespace)
    assert model_container(dep) == bf16_container
    assert dep["metadata"]["generation"] == before["metadata"]["generation"] + 2, "the swap, then its rollback"
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert replica_sets(cluster, namespace) == {f"{IMAGE}:bf16": (REPLICAS, REPLICAS), f"{IMAGE}:int4": (0, 0)}

    st = status(cluster, namespace)
    assert st["precision"] == "bf16"
    assert "not rolled out within 5s" in st["swap"]["message"], st["swap"]
    assert [q["precision"] for q in st["quarantine"]] == ["int4"]
    wait_for(
        lambda: condition(status(cluster, namespace), "SwapFailed").get("reason") == "VariantQuarantined",
        10,
        what="SwapFailed=True (VariantQuarantined)",
    )
    assert_serves(cluster, namespace, "bf16")
    events = reasons(cluster, namespace)
    swap_events = ["PrecisionSwapStarted", "PrecisionSwapFailed", "PrecisionRolledBack"]
    assert sorted(r for r in events if r.startswith("Precision")) == sorted(swap_events), events
    assert logged_reasons(operators.started[0].output()) == swap_events
    # The surge strategy held its promise while the swap stalled and while it was rolled back.
    assert sampler.min_ready >= REPLICAS, [s.ready for s in sampler.samples]
    assert sampler.images() == [f"{IMAGE}:bf16", f"{IMAGE}:int4", f"{IMAGE}:bf16"]


# ---- restart mid-swap -----------------------------------------------------------------------------


def test_operator_killed_mid_swap_is_replaced_and_the_swap_finishes_once(
    cluster: Cluster, namespace: str, operators: Operators, pods: PodServers
) -> None:
    before = serving_bf16(cluster, namespace, operators, pods, ready_delay="4s")
    first = operators.started[0]

    with sampling(cluster, namespace) as sampler:
        prefer(cluster, namespace, "int4")
        wait_for(lambda: "PrecisionSwapStarted" in reasons(cluster, namespace), 30, what="PrecisionSwapStarted")
        wait_for(lambda: unready_int4(cluster, namespace), 10, what="the first int4 surge pod starting")
        started_at = status(cluster, namespace)["swap"]["startedAt"]
        first.kill()  # SIGKILL: nothing cleaned up, nothing flushed
        assert rolled_out_to(cluster, namespace, "int4") is None, "the kill landed mid-rollout"
        assert swap_phase(cluster, namespace) == "Rolling"
        second = operators.start()
        wait_swap(cluster, namespace, "Succeeded", 40)

    st = status(cluster, namespace)
    assert st["swap"]["startedAt"] == started_at, "the same swap was finished, not a new one begun"
    assert_serves(cluster, namespace, "int4")
    # No double action: one template change, no flip back, one ReplicaSet per precision, one Event each.
    generation = before["metadata"]["generation"]
    assert deployment(cluster, namespace)["metadata"]["generation"] == generation + 1
    assert {s.generation for s in sampler.samples} == {generation, generation + 1}, "no other spec write"
    assert sampler.images() == [f"{IMAGE}:bf16", f"{IMAGE}:int4"]
    assert replica_sets(cluster, namespace) == {f"{IMAGE}:bf16": (0, 0), f"{IMAGE}:int4": (REPLICAS, REPLICAS)}
    events = reasons(cluster, namespace)
    assert sorted(r for r in events if r.startswith("Precision")) == ["PrecisionSwapStarted", "PrecisionSwapped"], (
        events
    )
    assert logged_reasons(first.output()) == ["PrecisionSwapStarted"]
    assert logged_reasons(second.output()) == ["PrecisionSwapped"]
    assert sampler.min_ready >= REPLICAS, [s.ready for s in sampler.samples]
