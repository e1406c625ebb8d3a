"""The one writer of InferenceService status: a retried journal write, and an end-of-tick write made only
on a material change, the heartbeat, or when forced; and no other code writes the status subresource."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import governor
from governor.kube.client import ApiError
from governor.kube.status import StatusWriter, status_path
from governor.model import ServiceKey
from governor.model.status import ServiceStatus

KEY = ServiceKey("ml", "chat")
S = ServiceStatus.from_status
PATH = "/apis/governor.dev/v1alpha1/namespaces/ml/inferenceservices/chat/status"


class PatchRecorder:
    """A ``KubeApi`` that records patches, answering 409 to the first ``conflicts`` of them."""

    def __init__(self, conflicts: int = 0) -> None:
        self.conflicts = conflicts
        self.patches: list[tuple[str, Any]] = []

    async def get(self, path: str) -> dict[str, Any]:
        raise NotImplementedError

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def patch(self, path: str, body: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        if self.conflicts:
            self.conflicts -= 1
            raise ApiError(409, "the object has been modified")
        self.patches.append((path, body))
        return {}

    async def delete(self, path: str) -> None:
        raise NotImplementedError


def test_status_path_is_the_subresource() -> None:
    assert status_path(KEY) == PATH


async def test_journal_merges_its_changes_and_retries_a_conflict() -> None:
    api = PatchRecorder(conflicts=2)
    await StatusWriter(api).journal(KEY, {"swap": {"phase": "Rolling"}, "quarantine": None})
    assert api.patches == [(PATH, {"status": {"swap": {"phase": "Rolling"}, "quarantine": None}})]


async def test_journal_gives_up_on_other_errors() -> None:
    class Forbidden(PatchRecorder):
        async def patch(self, path: str, body: Any) -> dict[str, Any]:
            raise ApiError(403, "forbidden")

    with pytest.raises(ApiError):
        await StatusWriter(Forbidden()).journal(KEY, {"swap": None})


async def test_end_of_tick_writes_material_changes_the_heartbeat_and_forced_writes_only() -> None:
    api = PatchRecorder()
    writer = StatusWriter(api, heartbeat_seconds=60.0)
    first = {"replicas": 2, "metrics": {"rps": 5.0, "observedAt": "t0"}}
    writer.seed(KEY, first, now=0.0)
    later = S({**first, "metrics": {"rps": 5.0, "observedAt": "t1"}})
    assert not await writer.end_of_tick(KEY, later, now=10.0)
    assert await writer.end_of_tick(KEY, S({**first, "replicas": 3}), now=20.0)
    assert not await writer.end_of_tick(KEY, S({**first, "replicas": 3}), now=30.0)
    assert await writer.end_of_tick(KEY, S({**first, "replicas": 3}), now=30.0, force=True)
    assert await writer.end_of_tick(KEY, S({**first, "replicas": 3}), now=120.0)  # the heartbeat, spread by service
    assert [body["status"]["replicas"] for _, body in api.patches] == [3, 3, 3]


async def test_a_service_never_written_is_written_at_once_and_forget_starts_over() -> None:
    api = PatchRecorder()
    writer = StatusWriter(api, heartbeat_seconds=60.0)
    assert await writer.end_of_tick(KEY, S({"replicas": 1}), now=5.0)
    writer.forget(KEY)
    assert await writer.end_of_tick(KEY, S({"replicas": 1}), now=6.0)
    assert len(api.patches) == 2


def _status_patchers(tree: ast.AST) -> set[str]:
    """Functions that name the status subresource: ``status_path`` or an ``api_path(..., "status")``."""
    found: set[str] = set()
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            named = isinstance(node, ast.Name) and node.id == "status_path"
            literal = isinstance(node, ast.Call) and any(
                isinstance(a, ast.Constant) and a.value == "status" for a in node.args[4:]
            )
            if named or literal:
                found.add(func.name)
    return found


def test_status_is_patched_in_exactly_two_functions_both_in_kube_status() -> None:
    root = Path(governor.__file__).parent
    patchers = {
        (str(path.relative_to(root)), name)
        for path in root.rglob("*.py")
        for name in _status_patchers(ast.parse(path.read_text()))
    }
    writers = {"status_path", "journal", "end_of_tick"}
    assert patchers == {("kube/status.py", name) for name in writers}


async def test_current_follows_the_journal_so_a_failed_reconcile_resumes_from_the_last_swap_step() -> None:
    api = PatchRecorder()
    writer = StatusWriter(api)
    writer.seed(KEY, {"precision": "bf16", "replicas": 2}, now=0.0)
    await writer.journal(KEY, {"swap": {"phase": "Rolling", "to": "fp8"}})
    current = writer.current(KEY)
    assert current.actuation.swap == {"phase": "Rolling", "to": "fp8"} and current.workload.replicas == 2
    await writer.journal(KEY, {"swap": None, "precision": "fp8"})
    assert writer.current(KEY).actuation.swap is None and writer.current(KEY).actuation.precision == "fp8"
    assert not await writer.end_of_tick(KEY, writer.current(KEY), now=1.0), "the journal already wrote it"


async def test_a_failed_write_is_made_by_the_next_tick() -> None:
    class FailsOnce(PatchRecorder):
        failed = False

        async def patch(self, path: str, body: Any) -> dict[str, Any]:
            if not self.failed:
                self.failed = True
                raise ApiError(500, "etcd is unhappy")
            return await super().patch(path, body)

    api = FailsOnce()
    writer = StatusWriter(api)
    writer.seed(KEY, {"replicas": 2}, now=0.0)
    with pytest.raises(ApiError):
        await writer.end_of_tick(KEY, S({"replicas": 3}), now=1.0)
    assert writer.current(KEY).workload.replicas == 3, "what the reconcile composed stays current"
    assert await writer.end_of_tick(KEY, S({"replicas": 3}), now=2.0)
    assert [body["status"]["replicas"] for _, body in api.patches] == [3]
