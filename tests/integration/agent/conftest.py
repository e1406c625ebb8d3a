"""The fake libnvidia-ml.so.1, compiled once per session and mapped into this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_nvml import FakeGpu, FakeNvmlState, build, load


@pytest.fixture(scope="session")
def fake_nvml_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    library = build(tmp_path_factory.mktemp("fake-nvml"))
    load(library)  # pynvml's dlopen("libnvidia-ml.so.1") now finds it by soname
    return library


@pytest.fixture
def nvml_state(fake_nvml_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNvmlState]:
    state = FakeNvmlState(tmp_path / "nvml-state", gpus=[FakeGpu(), FakeGpu()])
    state.write()
    monkeypatch.setenv("FAKE_NVML_STATE", str(state.path))
    yield state
