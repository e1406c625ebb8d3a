"""Run Governor's operator in a background thread with its own event loop, stoppable from outside.

The caller's main thread (the demo's live view, a test, a benchmark) goes on while the operator
(Kopf + controller) runs here; Kopf cancels every task of its loop on exit, so it gets a loop of its
own, separate from the emulator's.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

import kopf

from governor.controller.app import Controller
from governor.controller.handlers import build_registry

logger = logging.getLogger(__name__)


@dataclass
class OperatorThread:
    controller: Controller
    namespaces: tuple[str, ...] = ()
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _ready: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    error: BaseException | None = field(default=None, init=False)

    def start(self, timeout: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._run, name="governor-operator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the operator did not become ready in {timeout}s: {self.error!r}")

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("the operator did not stop")

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            asyncio.run(
                kopf.operator(
                    registry=build_registry(self.controller),
                    clusterwide=not self.namespaces,
                    namespaces=self.namespaces,
                    standalone=True,
                    stop_flag=self._stop,
                    ready_flag=self._ready,
                )
            )
        except BaseException as exc:  # kept for the main thread, which reports it and exits non-zero
            self.error = exc
            self._ready.set()
