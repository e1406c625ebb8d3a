"""Benchmark: the NVML node agent's CPU time per sample, through real pynvml over the fake library.

Builds the fake ``libnvidia-ml.so.1`` (tests/support/fake_nvml), configures 8 GPUs with 4
processes each mapped to pods through a fake /proc tree, and times ``NvmlProbe.sample()`` plus
rendering ``/metrics`` (process CPU time, not wall time). The fake library re-reads its state
file on every call, so these figures are an upper bound of the agent's own work.

Run: .venv/bin/python benchmarks/bench_agent.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry, generate_latest
from tests.support.fake_nvml import FakeGpu, FakeNvmlState, build, load

from governor.agent.nvml import NvmlProbe
from governor.agent.pods import PodRef, StaticPodResolver
from governor.agent.server import AgentState, GpuCollector

GPUS, PROCS, SAMPLES = 8, 4, 300


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        load(build(root / "lib"))
        pods = {}
        state = FakeNvmlState(root / "state")
        for g in range(GPUS):
            procs = {}
            for p in range(PROCS):
                pid = 1000 + g * PROCS + p
                uid = f"00000000-0000-4000-8000-{pid:012d}"
                (root / "proc" / str(pid)).mkdir(parents=True)
                (root / "proc" / str(pid) / "cgroup").write_text(
                    f"0::/kubepods.slice/kubepods-pod{uid.replace('-', '_')}.slice/x.scope\n"
                )
                pods[uid] = PodRef(uid, "ml", f"chat-{pid}", "chat")
                procs[pid] = 2**30
            state.gpus.append(FakeGpu(util=10 * g, processes=procs))
        state.write()
        os.environ["FAKE_NVML_STATE"] = str(state.path)
        probe = NvmlProbe(resolver=StaticPodResolver(pods), proc_root=root / "proc")
        agent = AgentState("bench")
        registry = CollectorRegistry(auto_describe=False)
        registry.register(GpuCollector(agent))
        probe.sample()  # initialise NVML outside the measurement
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(SAMPLES):
            agent.latest = probe.sample()
        cpu1, wall1 = time.process_time(), time.perf_counter()
        for _ in range(SAMPLES):
            generate_latest(registry)
        cpu2 = time.process_time()
    print(f"{GPUS} GPUs x {PROCS} processes, {SAMPLES} samples")
    print(f"sample:  {1000 * (cpu1 - cpu0) / SAMPLES:.3f} ms CPU ({1000 * (wall1 - wall0) / SAMPLES:.3f} ms wall)")
    print(f"/metrics render: {1000 * (cpu2 - cpu1) / SAMPLES:.3f} ms CPU")
    print(f"at the default 5 s interval: {100 * (cpu1 - cpu0) / SAMPLES / 5:.3f} % of one core")


if __name__ == "__main__":
    main()
