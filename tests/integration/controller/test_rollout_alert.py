"""A precision swap that fails fires ``RolloutFailed`` through the running operator, and reaches on-call.

The real operator (Kopf, the control loop, the Actuator, and the alerting hook and notifier as governor
run wires them, receivers from a ConfigMap) runs against the emulator; the decision engine's stand-in
keeps asking for int4, whose image never rolls out. The swap times out, is rolled back and its variant
quarantined (``SwapFailed``): the alert rules must hear of it from actuation, so the alert fires in
status and is delivered to the receiver.
"""

from __future__ import annotations

from typing import Any

import yaml

from governor.alerting import DictConfigReader
from governor.alerting.config import CONFIG_KEY
from governor.model import Decision, Observation, Precision, ServiceSpec
from governor.policy import PolicyState
from governor.testing.client import KubeClient
from governor.testing.standins import DeploymentStandIn
from tests.integration.actuation.rig import NS, service_body
from tests.integration.controller.test_owned import condition
from tests.support.decisions import bounds_only
from tests.support.kube import KubeHarness
from tests.support.receivers import running_receiver

BAD_IMAGE = "server:bad"  # the int4 variant's image in the rig's service


def asks_for_int4(
    spec: ServiceSpec, observation: Observation, state: PolicyState, now: float
) -> tuple[Decision, PolicyState]:
    """Keeps replicas inside their bounds and always wants int4."""
    decision, state = bounds_only(spec, observation, state, now)
    return Decision(
        now,
        decision.current_replicas,
        decision.replicas,
        decision.current_precision,
        Precision.INT4,
        decision.direction,
        ("the test wants int4",),
    ), state


class BadImageNeverRollsOut:
    """The Deployment controller's view for the stand-in: a template running the bad image never rolls out."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client

    def list(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return [d for d in self.client.list(*args, **kwargs) if _image(d) != BAD_IMAGE]

    def patch(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.patch(*args, **kwargs)


def _image(deployment: dict[str, Any]) -> str:
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


def _alert(kube: KubeHarness, rule: str) -> dict[str, Any] | None:
    """The service's alert of ``rule`` as its status shows it, once firing."""
    status = (kube.client.find("inferenceservices", NS, "chat") or {}).get("status") or {}
    return next((a for a in status.get("alerts") or () if a.get("rule") == rule and a.get("state") == "firing"), None)


def test_a_failed_swap_fires_rollout_failed_and_notifies(kube: KubeHarness) -> None:
    with running_receiver() as receiver:
        receivers_yaml = yaml.safe_dump(
            {
                "receivers": [
                    {"name": "oncall", "kind": "webhook", "url": receiver.url, "group_wait": "0s", "namespaces": ["*"]}
                ],
                "default_receivers": ["oncall"],
            }
        )
        reader = DictConfigReader(configmaps={("governor-system", "governor-receivers"): {CONFIG_KEY: receivers_yaml}})
        stand_in = DeploymentStandIn(BadImageNeverRollsOut(kube.client), delay=0.2)  # type: ignore[arg-type]
        with (
            kube.operator(tick_seconds=0.3, decide=asks_for_int4, receivers=reader),  # governor run's alerting
            stand_in,
        ):
            kube.client.create("inferenceservices", service_body("chat", precision={"swapTimeoutSeconds": 1}))
            failed = kube.wait_for(
                lambda: (
                    (c := condition(kube.client.find("inferenceservices", NS, "chat"), "SwapFailed"))
                    and c["status"] == "True"
                    and c
                ),
                timeout=30,
                what="the swap to int4 rolled back and quarantined",
            )
            kube.wait_for(lambda: receiver.accepted(), timeout=15, what="the notification")
            firing = kube.wait_for(lambda: _alert(kube, "RolloutFailed"), timeout=5, what="RolloutFailed in status")
    assert "int4" in failed["message"]
    (sent,) = [r.json for r in receiver.accepted()]
    (alert,) = sent["alerts"]
    assert alert["labels"]["alertname"] == "RolloutFailed" and alert["labels"]["service"] == "chat"
    assert sent["status"] == "firing" and "int4" in alert["annotations"]["summary"]
    assert firing["labels"] == alert["labels"]
