"""Sampling every GPU through pynvml, surviving a missing library, an unloaded driver or a lost GPU.

``NvmlProbe.sample()`` is blocking (call it from a thread) and never raises for NVML trouble:
it returns a ``NodeSample`` that says what is unavailable and why. Initialisation failures are
retried with exponential backoff; a GPU that reports "lost" makes the next sample re-initialise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pynvml

from governor.agent.pods import PodRef, PodResolver, pod_uid_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    used_memory_bytes: int | None
    pod: PodRef | None


@dataclass(frozen=True)
class GpuSample:
    index: int
    available: bool
    uuid: str = ""
    name: str = ""
    utilization: float | None = None  # 0..1
    memory_utilization: float | None = None  # 0..1 (memory controller busy)
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    processes: tuple[ProcessSample, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class NodeSample:
    at: float  # unix seconds
    available: bool  # NVML initialised and answering
    driver_version: str | None = None
    gpus: tuple[GpuSample, ...] = ()
    error: str | None = None
    duration_seconds: float = 0.0


@dataclass
class Backoff:
    base: float = 1.0
    cap: float = 60.0
    failures: int = 0
    next_try: float = 0.0

    def failed(self, now: float) -> None:
        self.failures += 1
        self.next_try = now + min(self.cap, self.base * 2 ** (self.failures - 1))

    def reset(self) -> None:
        self.failures, self.next_try = 0, 0.0


@dataclass
class NvmlProbe:
    resolver: PodResolver | None = None
    proc_root: Path = Path("/proc")
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    _ready: bool = False

    def sample(self) -> NodeSample:
        started = self.clock()
        if not self._ready:
            error = self._init(started)
            if error is not None:
                return NodeSample(at=self.wall(), available=False, error=error)
        try:
            driver = _text(pynvml.nvmlSystemGetDriverVersion())
            count = pynvml.nvmlDeviceGetCount()
        except pynvml.NVMLError as exc:
            self._lost(str(exc))
            return NodeSample(at=self.wall(), available=False, error=str(exc))
        gpus = tuple(self._gpu(index) for index in range(count))
        if gpus and all(g.error and "lost" in g.error.lower() for g in gpus):
            self._lost("every GPU is lost")
        return NodeSample(self.wall(), True, driver, gpus, duration_seconds=self.clock() - started)

    def _init(self, now: float) -> str | None:
        if now < self.backoff.next_try:
            return f"NVML unavailable, next retry in {self.backoff.next_try - now:.0f}s"
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            self.backoff.failed(now)
            wait = self.backoff.next_try - now
            logger.warning("NVML init failed (%s); retry %d in %.0fs", exc, self.backoff.failures, wait)
            return f"NVML init failed: {exc}"
        logger.info("NVML initialised")
        self._ready = True
        self.backoff.reset()
        return None

    def _lost(self, why: str) -> None:
        logger.warning("NVML lost (%s); re-initialising on the next sample", why)
        self._ready = False
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError as exc:
            logger.info("NVML shutdown after loss failed: %s", exc)

    def _gpu(self, index: int) -> GpuSample:
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            util = pynvml.nvmlDeviceGetUtilizationRates(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            processes = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
            return GpuSample(
                index=index,
                available=True,
                uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
                name=_text(pynvml.nvmlDeviceGetName(handle)),
                utilization=util.gpu / 100.0,
                memory_utilization=util.memory / 100.0,
                memory_used_bytes=int(memory.used),
                memory_total_bytes=int(memory.total),
                processes=tuple(self._process(p) for p in processes),
            )
        except pynvml.NVMLError as exc:
            return GpuSample(index=index, available=False, error=str(exc))

    def _process(self, info: Any) -> ProcessSample:
        uid = pod_uid_of(int(info.pid), self.proc_root)
        pod = self.resolver.resolve(uid) if uid and self.resolver is not None else None
        used = info.usedGpuMemory
        return ProcessSample(int(info.pid), int(used) if used is not None else None, pod)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
