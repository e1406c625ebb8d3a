"""Two ``governor run`` replicas sharing Kopf peering on the real control plane: exactly one acts.

The first replica starts alone and acts; a second one with a higher priority joins, Kopf pauses
the first, and from then on only the second scales (the first one's view is stale: it misses the
spec change below, so if its control loop still acted it would push replicas past the new
``maxReplicas``). Then the active replica is SIGKILLed: it leaves no goodbye in the peering
object, so the standby takes over once the dead one's record expires
(``GOVERNOR_PEERING_LIFETIME_SECONDS``) and scales on the next change. The failover time — from
the kill to the standby's first scaling — is printed (``-s``) and kept in the test's properties.
"""

from __future__ import annotations

import time
from typing import Any

from governor.testing.client import wait_for
from tests.cluster.conftest import Cluster, Operators
from tests.cluster.manifests import PRECISION_OF_IMAGE, inference_service
from tests.support.pod_servers import PodServers

PEERING = "governor"
LIFETIME_SECONDS = 4
PAUSED = "Pausing operations in favour of"  # Kopf's own log lines on peering pauses and resumes
RESUMED = "Resuming operations after the pause"
STANDING_BY = "standing by: "  # Governor's control loop, on each change of its standing


def peering(priority: int) -> dict[str, str]:
    return {
        "GOVERNOR_PEERING": PEERING,
        "GOVERNOR_PEERING_PRIORITY": str(priority),
        "GOVERNOR_PEERING_LIFETIME_SECONDS": str(LIFETIME_SECONDS),
    }


def replicas(cluster: Cluster, namespace: str, name: str) -> int | None:
    deployment = cluster.client.find("deployments", namespace, name)
    return None if deployment is None else int(deployment["spec"].get("replicas", 0))


def live_priorities(cluster: Cluster) -> list[int]:
    """Priorities of the live peers in the shared ClusterKopfPeering (Kopf's keep-alive records)."""
    body = cluster.client.request("GET", f"/apis/kopf.dev/v1/clusterkopfpeerings/{PEERING}")
    records: dict[str, Any] = body.get("status") or {}
    return sorted(int(r.get("priority", 0)) for r in records.values() if r and int(r.get("lifetime", 0)) > 0)


def decisions(log: str) -> list[str]:
    return [line for line in log.splitlines() if ": decision " in line]


def set_max_replicas(cluster: Cluster, namespace: str, value: int) -> None:
    cluster.client.patch("inferenceservices", namespace, "chat", {"spec": {"maxReplicas": value}})


def hold_at_most(cluster: Cluster, namespace: str, limit: int, seconds: float) -> None:
    """Replicas stay within ``limit`` for ``seconds`` (a second, stale actor would push them past it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = replicas(cluster, namespace, "chat") or 0
        assert current <= limit, f"replicas {current} > maxReplicas {limit}: a paused replica acted on a stale spec"
        time.sleep(0.1)


def test_one_replica_acts_and_the_standby_takes_over_after_a_kill(
    cluster: Cluster,
    namespace: str,
    operators: Operators,
    pods: PodServers,
    record_property: Any,
) -> None:
    pods.fleet("chat", offered_rps=2.0, precision_of_image=PRECISION_OF_IMAGE)
    cluster.client.apply(inference_service("chat", namespace, min_replicas=1, max_replicas=6))
    first = operators.start(**peering(100))
    wait_for(lambda: cluster.client.find("deployments", namespace, "chat"), 60, what="the first replica to act")

    # A higher-priority replica joins: Kopf pauses the first one, the second one takes over.
    second = operators.start(**peering(200))
    wait_for(lambda: PAUSED in first.output(), 30, what="Kopf to pause the first replica")
    wait_for(lambda: RESUMED in second.output(), 30, what="Kopf to let the second replica work")
    paused_at = first.output().index(PAUSED)
    wait_for(lambda: STANDING_BY in first.output()[paused_at:], 10, what="the first replica's loop to stand by")
    assert live_priorities(cluster) == [100, 200]

    # Only the active replica sees and obeys the new maxReplicas; the paused one must not act at all.
    set_max_replicas(cluster, namespace, 3)
    pods.fleet("chat", offered_rps=18.0)
    wait_for(lambda: replicas(cluster, namespace, "chat") == 3, 30, what="scale-up to the new maxReplicas 3")
    hold_at_most(cluster, namespace, 3, seconds=4.0)
    assert decisions(second.output()), "the active replica logged no decision"
    assert not decisions(first.output()[paused_at:]), "the paused replica decided: " + first.output()[paused_at:]

    # SIGKILL the active replica: the standby takes over when its peering record expires.
    killed_at = time.monotonic()
    second.kill()
    set_max_replicas(cluster, namespace, 6)
    wait_for(lambda: (replicas(cluster, namespace, "chat") or 0) >= 4, 30, what="the standby to scale up")
    failover = time.monotonic() - killed_at
    print(f"\nfailover: {failover:.1f} s from SIGKILL to the standby's first scaling (lifetime {LIFETIME_SECONDS} s)")
    record_property("failover_seconds", round(failover, 2))
    wait_for(lambda: decisions(first.output()[paused_at:]), 5, what="the standby's decision in its log")
    assert failover < LIFETIME_SECONDS + 8, f"failover took {failover:.1f} s"
    wait_for(lambda: live_priorities(cluster) == [100], 15, what="the dead replica's record cleaned up")
