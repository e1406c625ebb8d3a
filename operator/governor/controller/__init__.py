"""The operator itself: Kopf handlers, the control loop and everything ``governor run`` wires up.

Why a layer of its own: it is the only place where the pieces meet — it reads the CRs (``handlers``,
with the only ``@kopf`` decorators), ticks every service once per period (``loop``: metrics →
policy → actuation → alerts → status), writes status and Events, serves ``/metrics``,
``/healthz`` and ``/readyz`` (``health``, ``metrics``), keeps one active replica (``peering``)
and builds it all from the settings in one function (``build``). The decisions themselves live
in ``governor.policy``, the I/O in the layers below.
"""
