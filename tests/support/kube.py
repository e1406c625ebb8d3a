"""The Kubernetes API for tests: the embedded emulator in its own thread, a client, and Kopf wiring.

Usage::

    def test_something(kube: KubeHarness) -> None:
        kube.client.apply(manifest)                       # like kubectl apply (HTTP, reaches watches)
        with kube.operator(tick_seconds=0.5) as runner:   # the real operator via KopfRunner
            dep = kube.wait_for(lambda: kube.client.find("deployments", "ml", "chat"))
        kube.emulator.conflict_rules.append(lambda req: req.name == "chat")  # inject HTTP 409s

The reusable parts (bookkeeping subclass, discovery, thread) live in ``governor.testing.emulator`` so the
demo and the tests run the same emulator.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from governor.testing.client import KubeClient, wait_for
from governor.testing.emulator import EmulatorThread, GovernorEmulator

T = TypeVar("T")


@dataclass
class KubeHarness:
    """What a test gets: the running emulator, a blocking client and a way to run the operator."""

    thread: EmulatorThread
    client: KubeClient

    @property
    def url(self) -> str:
        return self.thread.url

    @property
    def emulator(self) -> GovernorEmulator:
        return self.thread.emulator

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
        return wait_for(predicate, timeout=timeout, what=what)

    def events(self, namespace: str, involved: str | None = None, reason: str | None = None) -> list[dict[str, Any]]:
        items = self.client.list("events", namespace)
        return [
            e
            for e in items
            if (involved is None or e.get("involvedObject", {}).get("name") == involved)
            and (reason is None or e.get("reason") == reason)
        ]

    @contextlib.contextmanager
    def operator(self, **overrides: Any) -> Iterator[Any]:
        """Run Governor's operator (KopfRunner) against this emulator until the block exits."""
        from tests.support.kube_operator import run_operator

        with run_operator(self.url, **overrides) as runner:
            yield runner


@pytest.fixture
def kube() -> Iterator[KubeHarness]:
    thread = EmulatorThread()
    thread.start()
    try:
        yield KubeHarness(thread=thread, client=KubeClient(thread.url))
    finally:
        thread.stop()
