"""Build the fake ``libnvidia-ml.so.1`` (``fake_nvml.c``) against the real ``nvml.h`` and drive it.

The library is compiled once per test session with gcc; ``load()`` maps it into the test
process (``ctypes.CDLL`` by absolute path, before pynvml's first ``nvmlInit``), after which
pynvml's own ``CDLL("libnvidia-ml.so.1")`` finds it by soname. Values come from a state file
named by ``$FAKE_NVML_STATE``; ``FakeNvmlState`` writes it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

SOURCE = Path(__file__).with_name("fake_nvml.c")
GPU_IS_LOST = 15
DRIVER_NOT_LOADED = 9


def nvml_header_dir() -> Path:
    site = Path(sysconfig.get_paths()["purelib"])
    found = sorted(site.glob("nvidia/*/include/nvml.h")) + sorted(site.glob("nvidia/**/nvml.h"))
    if not found:
        raise RuntimeError("nvml.h not found: install the test extra (PyPI nvidia-nvml-dev)")
    return found[0].parent


def build(out_dir: Path) -> Path:
    """Compile the fake library into ``out_dir/libnvidia-ml.so.1``; returns its absolute path."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise RuntimeError("gcc is needed to build the fake NVML library")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "libnvidia-ml.so.1"
    argv = [gcc, "-shared", "-fPIC", "-O1", "-DNVML_NO_UNVERSIONED_FUNC_DEFS", f"-I{nvml_header_dir()}"]
    argv += ["-Wl,-soname,libnvidia-ml.so.1", "-o", str(target), str(SOURCE)]
    subprocess.run(argv, check=True, capture_output=True)
    return target.resolve()


def load(library: Path) -> ctypes.CDLL:
    """Map the fake library into this process so pynvml's dlopen by soname finds it."""
    return ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)


@dataclass
class FakeGpu:
    util: int = 50
    mem_util: int = 30
    used: int = 20 * 2**30
    total: int = 80 * 2**30
    error: int = 0
    processes: dict[int, int] = field(default_factory=dict)  # pid → bytes

    def line(self) -> str:
        procs = ",".join(f"{pid}:{mem}" for pid, mem in self.processes.items()) or "-"
        return f"gpu {self.util} {self.mem_util} {self.used} {self.total} {self.error} {procs}"


@dataclass
class FakeNvmlState:
    path: Path
    init: int = 0
    driver: str = "550.54.15"
    gpus: list[FakeGpu] = field(default_factory=list)

    def write(self) -> None:
        lines = [f"init {self.init}", f"driver {self.driver}", *(g.line() for g in self.gpus)]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.path)  # atomic: the library never reads a half-written file
