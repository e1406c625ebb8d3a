"""The shipped RBAC on the real apiserver, for what no other cluster test runs: reading the alert
receivers. ``governor run`` reads the receivers ConfigMap and every Secret it references through
the Role's ``get`` by name (the ``operators`` fixture fails the test on any 403 in its log), and
that is all it can do with Secrets: no list, no watch, no Secret it does not name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from governor.alerting.parse import parse_config
from governor.testing.client import wait_for
from tests.cluster.conftest import OPERATOR_NAMESPACE, Cluster, Operators
from tests.support.control_plane import REPO

RECEIVERS = REPO / "manifests" / "receivers.yaml"


@pytest.fixture
def receivers(cluster: Cluster) -> Iterator[list[str]]:
    """The shipped receivers ConfigMap and a Secret for each reference in it; removed afterwards."""
    configmap = yaml.safe_load(RECEIVERS.read_text())
    config = parse_config(configmap["data"]["receivers.yaml"])
    keys: dict[str, dict[str, str]] = {}
    for receiver in config.receivers.values():
        for ref in receiver.secret_refs():
            keys.setdefault(ref.secret, {})[ref.key] = f"test-value-of-{ref.secret}-{ref.key}"
    secrets = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
        for name, data in keys.items()
    ]
    cluster.plane.apply(configmap, *secrets, namespace=OPERATOR_NAMESPACE)
    try:
        yield sorted(config.receivers)
    finally:
        names = [f"secret/{name}" for name in keys]
        cluster.kubectl("delete", "-n", OPERATOR_NAMESPACE, "configmap/governor-receivers", *names, check=False)


def test_receivers_and_their_secrets_are_read_by_name_and_nothing_else(
    cluster: Cluster, operators: Operators, receivers: list[str]
) -> None:
    operator = operators.start()
    loaded = f"alert receivers loaded: {', '.join(receivers)}"
    wait_for(lambda: loaded in operator.output(), 30, what="every receiver, with its Secrets, loaded")
    assert "alert receivers: " not in operator.output(), "a receiver's Secret could not be read"
    assert cluster.operator_may("get", "secrets/governor-slack", OPERATOR_NAMESPACE)
    for verb, resource in [("list", "secrets"), ("watch", "secrets"), ("get", "secrets/governor-not-a-receiver")]:
        assert not cluster.operator_may(verb, resource, OPERATOR_NAMESPACE), f"{verb} {resource} is granted"
    assert not cluster.operator_may("get", "secrets/governor-slack", "default"), "Secrets outside governor-system"
