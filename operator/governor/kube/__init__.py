"""The one door to the Kubernetes API: every request Governor's operator sends goes through here.

Why a layer of its own: the API is where Governor's writes meet everyone else's, so how a request
is sent (``client``: raw JSON through the official client's credentials, off the event loop) and
how a write survives a concurrent writer (``retries``: recompute from a fresh read on 409 Conflict)
are each decided once, here, instead of once per caller.

``kube`` sits above ``model`` and ``settings`` and imports nothing else of Governor; the I/O layers
(actuate, alerting, controller, metrics, demo) reach the API only through it, and ``policy``,
``sim`` and ``model`` never import it. import-linter checks both (``pyproject.toml``).
"""
