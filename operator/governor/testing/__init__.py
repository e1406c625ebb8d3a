"""Test doubles and real-control-plane helpers for Governor's tests, benchmarks and demo.

Why it exists: the operator must run unchanged against something that speaks the Kubernetes API
and scrapes something that speaks a model server's ``/metrics``; the tests, the benchmarks and
``governor demo`` all need the same stand-ins for that, so they live here, public, in the spirit
of ``kopf.testing``, instead of inside the demo. Nothing here runs in ``governor run``: the
operator's own code never imports this package, and this package never imports ``governor.demo``.

* ``emulator``: an embedded Kubernetes API (KMock's emulator plus the apiserver's bookkeeping and
  discovery), in a thread of its own (``EmulatorThread``).
* ``client``: a small blocking Kubernetes client that plays ``kubectl`` and the built-in
  controllers, over HTTP(S) against the emulator or a real API server; ``wait_for`` polls.
* ``standins``: stand-ins for the Deployment controller the emulator lacks (``DeploymentStandIn``
  copies the spec into status; ``RollingStandIn`` rolls pods by template).
* ``servers``: simulated vLLM, Triton, TGI and generic model servers exporting real metric names
  with latency distributions whose quantiles are known exactly.
* ``control_plane``: a real control plane on loopback (etcd, kube-apiserver, controller-manager,
  scheduler, KWOK with fake GPU nodes) from binaries ``scripts/control-plane.sh`` builds; its KWOK
  stages ship beside it as package data (``kwok-stages.yaml``).
* ``memory``: ``MemoryApi``, a ``KubeApi`` over a dict of objects, for a reconcile or a tick with no
  API server at all (property tests, the in-process tick benchmark).
* ``operator_thread``: Governor's operator (Kopf and the controller) in a background thread with
  its own event loop, stoppable from outside.
"""
