"""The demo: a whole Governor story on one machine, from ``scripts/demo.sh`` or ``governor demo``.

Why it exists: an SRE should see Governor act before installing it. The demo runs the real
operator against a Kubernetes API (the KMock emulator, or the real control plane the tests
build) with simulated model servers exporting real ``/metrics``, replays a load story (``story``,
``scenario``), and prints a live view and a report (``live``, ``table``, ``report``). The API
stand-ins and simulated servers here are shared with the tests and benchmarks.
"""
