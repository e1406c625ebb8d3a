"""The demo: a whole Governor story on one machine, from ``scripts/demo.sh`` or ``governor demo``.

Why it exists: an SRE should see Governor act before installing it. The demo runs the real
operator against a Kubernetes API (``backends``: the real control plane the tests build, else the
embedded emulator) with simulated model servers exporting real ``/metrics``, replays a load story
(``story``, ``scenario``, ``world``), runs it as one session (``session``, ``entry``) and prints a
live view and a report (``live``, ``console``, ``table``, ``report``, with the HPA ``baseline``
beside it). The API, the controller stand-ins and the simulated servers it runs against are
``governor.testing``'s, shared with the tests and the benchmarks; only the story is here.
"""
