"""The agent through the real pynvml over a fake libnvidia-ml.so.1 (values from a state file)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp

from governor.agent.nvml import Backoff, NvmlProbe
from governor.agent.pods import PodRef, StaticPodResolver
from governor.agent.server import AgentState, serving
from governor.metrics.scrape import parse_text
from tests.support.fake_nvml import DRIVER_NOT_LOADED, GPU_IS_LOST, FakeNvmlState
from tests.support.processes import free_port, running

UID = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
CHAT = PodRef(UID, "ml", "chat-7d9f-abcde", "chat")


def fake_proc(root: Path, pid: int, uid: str) -> Path:
    (root / str(pid)).mkdir(parents=True)
    slice_uid = uid.replace("-", "_")
    cgroup = (
        f"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{slice_uid}.slice/cri-containerd-1.scope\n"
    )
    (root / str(pid) / "cgroup").write_text(cgroup)
    return root


def test_samples_follow_the_library_and_map_processes_to_pods(nvml_state: FakeNvmlState, tmp_path: Path) -> None:
    nvml_state.gpus[0].processes = {4242: 3 * 2**30}
    nvml_state.write()
    probe = NvmlProbe(resolver=StaticPodResolver({UID: CHAT}), proc_root=fake_proc(tmp_path / "proc", 4242, UID))
    first = probe.sample()
    assert first.available and len(first.gpus) == 2 and first.driver_version == "550.54.15"
    assert first.gpus[0].utilization == 0.5 and first.gpus[0].memory_total_bytes == 80 * 2**30
    assert [p.pod for p in first.gpus[0].processes] == [CHAT] and first.gpus[1].processes == ()
    nvml_state.gpus[0].util = 93
    nvml_state.gpus[0].used = 70 * 2**30
    nvml_state.write()
    second = probe.sample()
    assert second.gpus[0].utilization == 0.93 and second.gpus[0].memory_used_bytes == 70 * 2**30


def test_lost_gpu_is_reported_and_recovered(nvml_state: FakeNvmlState) -> None:
    probe = NvmlProbe()
    nvml_state.gpus[1].error = GPU_IS_LOST
    nvml_state.write()
    one_lost = probe.sample()
    assert one_lost.available and one_lost.gpus[0].available
    assert not one_lost.gpus[1].available and one_lost.gpus[1].utilization is None
    assert "lost" in (one_lost.gpus[1].error or "").lower()
    nvml_state.gpus[0].error = GPU_IS_LOST
    nvml_state.write()
    all_lost = probe.sample()
    assert not any(g.available for g in all_lost.gpus)
    for gpu in nvml_state.gpus:
        gpu.error = 0
    nvml_state.write()
    back = probe.sample()  # re-initialised after every GPU was lost
    assert back.available and all(g.available for g in back.gpus)


def test_driver_not_loaded_retries_with_backoff(nvml_state: FakeNvmlState) -> None:
    now = [1000.0]
    probe = NvmlProbe(backoff=Backoff(base=2.0, cap=8.0), clock=lambda: now[0])
    nvml_state.init = DRIVER_NOT_LOADED
    nvml_state.write()
    failed = probe.sample()
    assert not failed.available and "Driver Not Loaded" in (failed.error or "")
    nvml_state.init = 0
    nvml_state.write()
    waiting = probe.sample()  # still inside the 2 s backoff: no new attempt
    assert not waiting.available and "retry" in (waiting.error or "")
    now[0] += 2.5
    recovered = probe.sample()
    assert recovered.available and len(recovered.gpus) == 2


async def test_agent_serves_metrics_json_and_health(nvml_state: FakeNvmlState, tmp_path: Path) -> None:
    nvml_state.gpus[0].processes = {4242: 2**30}
    nvml_state.gpus[1].error = GPU_IS_LOST
    nvml_state.write()
    probe = NvmlProbe(resolver=StaticPodResolver({UID: CHAT}), proc_root=fake_proc(tmp_path / "proc", 4242, UID))
    state = AgentState("node-a")
    async with serving(state, probe.sample, 0.05, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 10
        while state.samples == 0 and time.monotonic() < deadline:  # noqa: ASYNC110 — polling a plain counter
            await asyncio.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        async with http.get(base + "/metrics") as resp:
            samples = parse_text(await resp.text())
        async with http.get(base + "/v1/gpus") as resp:
            report = await resp.json()
        async with http.get(base + "/healthz") as resp:
            health = (resp.status, await resp.json())
    util = [s for s in samples if s.name == "governor_gpu_utilization_ratio"]
    assert [(s.labels["gpu"], s.labels["service"], s.labels["pod"], s.value) for s in util] == [
        ("0", "chat", CHAT.name, 0.5)
    ]  # the lost GPU exports no utilisation at all, not a zero
    up = {s.labels["gpu"]: s.value for s in samples if s.name == "governor_gpu_available"}
    assert up == {"0": 1.0, "1": 0.0}
    assert report["available"] and report["gpus"][0]["pods"] == [
        {"namespace": "ml", "pod": CHAT.name, "service": "chat"}
    ]
    assert report["gpus"][1]["available"] is False
    assert health == (200, {"ok": True, "nvml": True, "error": None})


def test_agent_without_library_keeps_serving(tmp_path: Path) -> None:
    """A fresh process that cannot load libnvidia-ml.so.1 at all (no fake library mapped)."""
    port = free_port()
    env = ["env", "-u", "LD_LIBRARY_PATH", "-u", "LD_PRELOAD", "-u", "FAKE_NVML_STATE"]
    env += ["GOVERNOR_NODE_NAME=gpu-less", "GOVERNOR_AGENT_INTERVAL_SECONDS=0.2"]
    argv = [
        *env,
        sys.executable,
        "-m",
        "governor",
        "agent",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-kubernetes",
    ]
    base = f"http://127.0.0.1:{port}"
    with running(argv, ready_url=base + "/healthz", log_path=tmp_path / "agent.log", timeout=30):
        deadline = time.monotonic() + 10
        report: dict[str, object] = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(base + "/v1/gpus", timeout=5) as resp:
                report = json.load(resp)
            if report["at"]:
                break
            time.sleep(0.1)
        with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
    assert report["available"] is False and report["gpus"] == []
    assert "NVML" in str(report["error"]) or "nvidia-ml" in str(report["error"]).lower()
    assert 'governor_nvml_available{node="gpu-less"} 0.0' in metrics
