"""The one door to the Kubernetes API: every request the operator and the NVML agent send goes here.

Why a layer of its own: the API is where Governor's writes meet everyone else's, so how a request
is sent (``client``: credentials from the service account or kubeconfig, raw JSON through the
official client, off the event loop), how a write survives a concurrent writer (``retries``:
recompute from a fresh read on 409 Conflict) and when an InferenceService's status is written
(``status``: the swap journal's write-ahead, and one write at the end of a tick) are each decided
once, here, not once per caller.
Kopf's own watches and handler bookkeeping go through Kopf; the demo's ``kubectl`` stand-in
(``governor.testing.client``) plays a user and speaks plain HTTP on purpose.

``kube`` sits above ``model`` and ``settings`` and imports nothing else of Governor; the I/O layers
(actuate, alerting, controller, metrics, agent, demo) reach the API only through it, and ``policy``,
``sim`` and ``model`` never import it. No other module imports the ``kubernetes`` client.
import-linter checks all three (``pyproject.toml``).
"""
